"""The poll model: hourly polls with losses, gaps and per-store up/down runs."""
from __future__ import annotations


import numpy as np
import pandas as pd

from datagen.settings import DEAD_SHARE, DOWN_MAX_HOURS, DOWN_RATE, EXTRA_POLL_RATE, FLAKY_DOWN_RATE, FLAKY_MAX_HOURS, FLAKY_SHARE, GAP_MAX_HOURS, GAP_RATE, LEAD_SLOTS, MILLI_PRECISION, POLL_BLOCK, Polls, RANDOM_LOSS, SECOND_PRECISION, US_PER_DAY, US_PER_H, US_PER_S
from datagen.text import _rng


def _first_occurrences(store: np.ndarray, us: np.ndarray, is_candidate: np.ndarray) -> np.ndarray:
    """Mask keeping the first of rows with equal (store, us).

    Only rows flagged as candidates can be duplicates of another row, which
    keeps this O(n log m) for m candidates instead of a full sort.
    """
    keep = np.ones(store.shape[0], dtype=bool)
    cand = np.flatnonzero(is_candidate)
    if cand.shape[0] == 0:
        return keep
    # rows whose instant equals some candidate's instant (any store), then exact check
    cand_us = np.sort(us[cand])
    pos = np.minimum(np.searchsorted(cand_us, us), cand_us.shape[0] - 1)
    rows = np.flatnonzero(cand_us[pos] == us)
    frame = pd.DataFrame({"store": store[rows], "us": us[rows]})
    keep[rows[frame.duplicated().to_numpy()]] = False
    return keep


def _runs(
    rng: np.random.Generator, n: int, slots: int, rate: np.ndarray, max_len: np.ndarray
) -> np.ndarray:
    """(n, slots) bool: covered by runs that start with `rate` per slot, length 1..max_len."""
    hits = rng.random((n, slots)) < rate[:, None]
    s_idx, t_idx = np.nonzero(hits)
    length = 1 + np.floor(rng.random(s_idx.shape[0]) * max_len[s_idx]).astype(np.int64)
    diff = np.zeros((n, slots + 1), dtype=np.int32)
    np.add.at(diff, (s_idx, t_idx), 1)
    np.add.at(diff, (s_idx, np.minimum(t_idx + length, slots)), -1)
    return np.cumsum(diff[:, :slots], axis=1) > 0


def _poll_block(
    lo: int,
    n: int,
    slots: int,
    first_slot: int,
    start_us: int,
    end_us: int,
    sched: np.ndarray,
    outages: list[tuple[int, int]],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Polls of stores lo..lo+n-1: (store, us, inactive, precision, is_extra)."""
    total = slots + LEAD_SLOTS

    # status: down runs per store
    flaky = rng.random(n) < FLAKY_SHARE
    down_rate = np.where(flaky, rng.uniform(*FLAKY_DOWN_RATE, n), rng.uniform(*DOWN_RATE, n))
    down_len = np.where(flaky, FLAKY_MAX_HOURS, DOWN_MAX_HOURS)
    inactive = _runs(rng, n, total, down_rate, down_len)[:, LEAD_SLOTS:]
    dead = np.flatnonzero(rng.random(n) < DEAD_SHARE)
    dead_start = rng.integers(0, slots, dead.shape[0])
    dead_len = rng.integers(24, 121, dead.shape[0])
    cols = np.arange(slots)[None, :]
    inactive[dead] |= (cols >= dead_start[:, None]) & (cols < (dead_start + dead_len)[:, None])

    # poll loss: iid + per-store poller gaps (+ a few global poller outages)
    gap_rate = GAP_RATE * np.clip(rng.lognormal(-0.28, 0.75, n), 0.1, 5.0)  # mean factor ~1
    lost = _runs(rng, n, total, gap_rate, np.full(n, GAP_MAX_HOURS))[:, LEAD_SLOTS:]
    lost |= rng.random((n, slots)) < RANDOM_LOSS
    for k, length in outages:
        lost[:, k : k + length] |= rng.random((n, 1)) < 0.9
    # every store keeps at least one poll (a store without polls is not in the report)
    unpolled = np.flatnonzero(lost.all(axis=1))
    inner = (1, slots - 1) if slots >= 3 else (0, slots)  # slots fully inside the window
    lost[unpolled, rng.integers(*inner, unpolled.shape[0])] = False

    # timing: slot + scheduler delay (per slot) + per-poll jitter
    s_idx, t_idx = np.nonzero(~lost)
    m = s_idx.shape[0]
    jitter = sched[t_idx] + rng.exponential(120 * US_PER_S, m).astype(np.int64)
    anywhere = rng.random(m) < 0.03
    jitter = np.where(anywhere, rng.integers(0, US_PER_H, m), jitter)
    jitter = np.minimum(jitter, US_PER_H - 1)
    us = first_slot + t_idx.astype(np.int64) * US_PER_H + jitter

    # an occasional second poll in the same hour
    extra = np.flatnonzero(rng.random(m) < EXTRA_POLL_RATE)
    extra_us = us[extra] + rng.integers(5 * 60 * US_PER_S, 40 * 60 * US_PER_S, extra.shape[0])
    extra_slot = np.minimum((extra_us - first_slot) // US_PER_H, slots - 1)
    s_all = np.concatenate([s_idx, s_idx[extra]])
    t_all = np.concatenate([t_idx, extra_slot])
    us = np.concatenate([us, extra_us])
    is_extra = np.concatenate([np.zeros(m, dtype=bool), np.ones(extra.shape[0], dtype=bool)])

    # precision: some instants are whole seconds / milliseconds (so that the
    # shorter accepted formats can spell them exactly with --variants)
    u = rng.random(us.shape[0])
    precision = np.where(u < SECOND_PRECISION, 2, np.where(u < SECOND_PRECISION + MILLI_PRECISION, 1, 0))
    us = np.where(precision == 2, us - us % US_PER_S, us)
    us = np.where(precision == 1, us - us % 1000, us)

    ok = (us >= start_us) & (us <= end_us)
    s_all, t_all, us, precision, is_extra = s_all[ok], t_all[ok], us[ok], precision[ok], is_extra[ok]
    # a window shorter than the poll spacing may leave a store without a poll: add one
    missing = np.flatnonzero(np.bincount(s_all, minlength=n) == 0)
    if missing.shape[0]:
        add_us = rng.integers(start_us, end_us + 1, missing.shape[0])
        add_us -= add_us % US_PER_S  # whole seconds
        s_all = np.concatenate([s_all, missing])
        t_all = np.concatenate([t_all, np.clip((add_us - first_slot) // US_PER_H, 0, slots - 1)])
        us = np.concatenate([us, add_us])
        precision = np.concatenate([precision, np.full(missing.shape[0], 2)])
        is_extra = np.concatenate([is_extra, np.ones(missing.shape[0], dtype=bool)])  # may coincide
    status = inactive[s_all, t_all]
    return (s_all + lo).astype(np.int64), us, status, precision.astype(np.int8), is_extra


def _generate_polls(n_stores: int, days: float, end_us: int, seed: int) -> Polls:
    """Polls of all stores, generated in blocks of POLL_BLOCK stores.

    Each block has its own random stream, so a store's polls depend on the
    seed and its position only, not on the total number of stores.
    """
    start_us = end_us - int(round(days * US_PER_DAY))
    first_slot = (start_us // US_PER_H) * US_PER_H
    last_slot = (end_us // US_PER_H) * US_PER_H
    slots = int((last_slot - first_slot) // US_PER_H) + 1
    rng = _rng(seed, 2)
    sched = rng.uniform(0, 240 * US_PER_S, slots).astype(np.int64)  # poller's run delay per hour
    n_global = int(round(days / 4))  # poller outages that hit (almost) every store
    outages = [(int(k), int(length)) for k, length in zip(rng.integers(0, slots, n_global), rng.integers(1, 3, n_global))]
    parts = [
        _poll_block(
            lo, min(POLL_BLOCK, n_stores - lo), slots, first_slot, start_us, end_us, sched, outages,
            np.random.default_rng([seed, 2, lo // POLL_BLOCK]),
        )
        for lo in range(0, n_stores, POLL_BLOCK)
    ]
    s_all, us, status, precision, is_candidate = (np.concatenate(x) for x in zip(*parts))

    # pin the latest poll to `end` exactly, so "now" of a report is known
    if us.shape[0]:
        last = int(np.argmax(us))
        us[last] = end_us
        precision[last] = 0 if end_us % 1000 else (1 if end_us % US_PER_S else 2)

    # drop exact (store, instant) coincidences (duplicates are only added on
    # purpose); only the extra polls and the pinned last poll can coincide with
    # another poll, since base polls of one store lie in distinct hours
    if us.shape[0]:
        is_candidate[last] = True
    uniq = _first_occurrences(s_all, us, is_candidate)
    return Polls(
        store=s_all[uniq].astype(np.int64),
        us=us[uniq],
        inactive=status[uniq],
        precision=precision[uniq].astype(np.int8),
    )
