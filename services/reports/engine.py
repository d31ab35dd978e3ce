"""The uptime/downtime computation of SPEC sections 2 and 5, as pure functions of DataFrames.

Every store is handled at once with sorted NumPy arrays:
1. business hours become UTC intervals (services/reports/hours.py) for the local dates that can touch the span
   (a merge of hours rows with dates, a time-zone conversion, a sort-based union), minus the
   store's planned closures (SPEC 9): everything below sees only that business time;
2. polls inside those intervals and within the observation range are the observations;
3. the status between two observations switches at their midpoint, so business time and
   status are both step functions: one sorted list of +1/−1 events per store, summed with
   `cumsum`, cuts time into pieces that are (business, observed, active) or not — the
   `Timeline`;
4. windows are data: each piece is clipped to each window and summed per store with
   `bincount`. The report of section 2 is three windows ending at now; a range report
   (section 5) is one window with its own look-back (services/reports/availability.py).
Times are integer microseconds relative to an anchor (the end of the windows); midpoints are
half-microseconds, exact in float64 for any span below 2^52 µs (about 140 years).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import pandas as pd

from models.packing import StoreTimeKey
from services.reports.hours import business_intervals

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
LOOKBACK_US = 8 * DAY_US  # observations older than this say nothing about the week
DAY_S = 86_400
_FAR_US = 2**50  # "before the first / after the last observation": beyond any span

REPORT_COLUMNS = [
    "uptime_last_hour",
    "uptime_last_day",
    "uptime_last_week",
    "downtime_last_hour",
    "downtime_last_day",
    "downtime_last_week",
]
# (window length, output unit): hour in minutes, day and week in hours (SPEC 2.5)
_WINDOWS = ((HOUR_US, MINUTE_US), (DAY_US, HOUR_US), (WEEK_US, HOUR_US))


@dataclass(frozen=True)
class Timeline:
    """Every store's business time cut into pieces of constant status.

    Times are float µs relative to `anchor_us`. `business` is 1.0 on business time; `up` /
    `down` are 1.0 on business time with an observed status active / inactive, else 0.0.
    `mark` (empty without boundaries) counts, per piece, the extra boundary events passed to
    `timeline` up to the piece's start (−1 before the first), so pieces never straddle a
    boundary (local midnights, for day totals).
    """

    universe: pd.Index
    anchor_us: int
    code: np.ndarray
    start: np.ndarray
    end: np.ndarray
    business: np.ndarray
    up: np.ndarray
    down: np.ndarray
    mark: np.ndarray

    def totals(self, lo_us: int, hi_us: int) -> tuple[np.ndarray, np.ndarray]:
        """(uptime, downtime) in µs per store within the absolute window [lo_us, hi_us)."""
        overlap = self.overlap(lo_us, hi_us)
        n = len(self.universe)
        return (np.bincount(self.code, weights=overlap * self.up, minlength=n),
                np.bincount(self.code, weights=overlap * self.down, minlength=n))

    def overlap(self, lo_us: int, hi_us: int) -> np.ndarray:
        """Length in µs of each piece inside the absolute window [lo_us, hi_us)."""
        lo, hi = float(lo_us - self.anchor_us), float(hi_us - self.anchor_us)
        return np.clip(np.minimum(self.end, hi) - np.maximum(self.start, lo), 0.0, None)


def select_universe(polls: pd.DataFrame, stores: Sequence[Hashable] | None, hi_us: int) -> pd.Index:
    """The stores that get a row: those given, or every store with a poll not after hi_us."""
    if stores is None:
        poll_ts = polls["ts_us"].to_numpy(dtype=np.int64)
        universe = pd.Index(pd.unique(polls["store"].to_numpy()[poll_ts <= hi_us]))
    else:
        universe = pd.Index(list(dict.fromkeys(stores)))
    universe.name = "store"
    return universe


def compute_uptime(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    now_us: int,
    stores: Sequence[Hashable] | None = None,
    closures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Uptime and downtime of every store for the windows of SPEC 2.1 ending at `now_us`.

    polls: store, ts_us (epoch µs), active; hours: store, day (0 = Monday), start_s, end_s
    (seconds since local midnight, 86400 = 24:00); zones: store, tz; closures: store, start_us,
    end_us (absolute epoch µs, taken out of business time). `stores` selects the
    rows of the result (default: every store with a poll not after now). Returns float
    columns REPORT_COLUMNS (hour in minutes, day and week in hours), indexed by store.
    """
    now_us = int(now_us)
    universe = select_universe(polls, stores, now_us)
    result = np.zeros((len(universe), len(REPORT_COLUMNS)), dtype=np.float64)
    if len(universe):
        line = timeline(polls, hours, zones, universe, now_us - LOOKBACK_US, now_us, now_us, closures=closures)
        for column, (length, unit) in enumerate(_WINDOWS):
            up, down = line.totals(now_us - length, now_us)
            result[:, column], result[:, column + 3] = up / unit, down / unit
    return pd.DataFrame(result, index=universe, columns=REPORT_COLUMNS)


def timeline(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    universe: pd.Index,
    obs_lo_us: int,
    obs_hi_us: int,
    anchor_us: int,
    boundaries: tuple[np.ndarray, np.ndarray] | None = None,
    closures: pd.DataFrame | None = None,
) -> Timeline:
    """Pieces of every store in `universe`, observations being in-hours polls of
    [obs_lo_us, obs_hi_us]; business hours (minus `closures`) are exact over
    [obs_lo_us − 1 d, obs_hi_us + 1 d].

    `boundaries` = (store code, absolute µs) of extra cut points (see `Timeline.mark`).
    """
    anchor_us = int(anchor_us)
    span_lo, span_hi = obs_lo_us - DAY_US - anchor_us, obs_hi_us + DAY_US - anchor_us
    open_us, close_us, interval_code = business_intervals(universe, hours, zones, anchor_us, span_lo, span_hi,
                                                          closures)
    poll_ts = polls["ts_us"].to_numpy(dtype=np.int64)
    obs_code, obs_rel, obs_active = observations(
        universe.get_indexer(polls["store"].to_numpy()), poll_ts - anchor_us,
        polls["active"].to_numpy(dtype=bool), interval_code, open_us, close_us,
        (obs_lo_us - anchor_us, obs_hi_us - anchor_us), (span_lo, span_hi),
    )
    if boundaries is not None:
        boundaries = (boundaries[0], np.asarray(boundaries[1], dtype=np.int64) - anchor_us)
    return _sweep(universe, anchor_us, interval_code, open_us, close_us, obs_code, obs_rel, obs_active,
                  boundaries)


def observations(
    code: np.ndarray,
    rel_us: np.ndarray,
    active: np.ndarray,
    interval_code: np.ndarray,
    open_us: np.ndarray,
    close_us: np.ndarray,
    obs_range: tuple[int, int],
    span: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In-hours polls of the closed `obs_range`, one per instant (inactive wins), sorted by
    store and time.

    Each poll becomes one sortable int64 (models/packing.py: store, time since the span start,
    status), inactive sorting first within an instant. The time needs bit_length(span) bits, which
    leaves 62 − that for the store: 22 bits (4M stores) for the 7-day report, 16 for a 366-day range.
    Stores beyond that are handled in blocks (a loop over blocks of stores, usually one).
    """
    keep = (code >= 0) & (rel_us >= obs_range[0]) & (rel_us <= obs_range[1])
    if not keep.all():  # (a fresh read has nothing to drop: no copies of millions of polls)
        code, rel_us, active = code[keep], rel_us[keep], active[keep]
    whole = StoreTimeKey.for_span(span[0], span[1], flag=True)
    if whole.code_bits < 1:
        raise ValueError("the span of a report is too long for microsecond arithmetic")
    top = max(int(code.max(initial=0)), int(interval_code.max(initial=0)))
    if whole.fits(top):
        return _observations_block(code, rel_us, active, interval_code, open_us, close_us, whole)
    parts = []
    for block in range((top >> whole.code_bits) + 1):
        polls_in = (code >> whole.code_bits) == block
        intervals_in = (interval_code >> whole.code_bits) == block
        key = StoreTimeKey(whole.lo, whole.time_bits, block << whole.code_bits, flag=True)
        parts.append(_observations_block(
            code[polls_in], rel_us[polls_in], active[polls_in], interval_code[intervals_in],
            open_us[intervals_in], close_us[intervals_in], key))
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]


def _observations_block(code: np.ndarray, rel_us: np.ndarray, active: np.ndarray, interval_code: np.ndarray,
                        open_us: np.ndarray, close_us: np.ndarray,
                        key: StoreTimeKey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # One array of millions of polls, sorted in place; everything else a million rows at a time,
    # so that a fleet's temporaries are a few megabytes the allocator reuses, not hundreds of
    # megabytes of fresh memory each.
    packed = np.empty(len(code), dtype=np.int64)
    for lo in range(0, len(code), _ROWS):
        key.pack_into(packed[lo : lo + _ROWS], code[lo : lo + _ROWS], rel_us[lo : lo + _ROWS],
                      active[lo : lo + _ROWS])
    packed.sort()
    plain = key.without_flag()
    open_keys = plain.pack(interval_code, open_us)
    close_keys = plain.pack(interval_code, close_us)
    out_code, out_rel, out_active = [], [], []
    for lo in range(0, len(packed), _ROWS):
        part = packed[lo : lo + _ROWS]
        poll_keys = key.unflagged(part)
        # The first of each (store, instant): inactive sorts first, so inactive wins.
        keep = np.ones(len(part), dtype=bool)
        keep[1:] = poll_keys[1:] != poll_keys[:-1]
        if lo:
            keep[0] = poll_keys[0] != key.unflagged(packed[lo - 1])
        slot = np.searchsorted(open_keys, poll_keys, side="right")
        slot -= 1
        keep &= slot >= 0
        if len(close_keys):
            np.maximum(slot, 0, out=slot)
            keep &= poll_keys < close_keys[slot]  # inside the business interval that opened last
        else:
            keep[:] = False
        kept = part[keep]
        out_code.append(key.code(kept))
        out_rel.append(key.time(kept))
        out_active.append(key.active(kept))
    if not out_code:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    return np.concatenate(out_code), np.concatenate(out_rel), np.concatenate(out_active)


_ROWS = 1 << 20


def _sweep(
    universe: pd.Index,
    anchor_us: int,
    interval_code: np.ndarray,
    open_us: np.ndarray,
    close_us: np.ndarray,
    obs_code: np.ndarray,
    obs_rel: np.ndarray,
    obs_active: np.ndarray,
    boundaries: tuple[np.ndarray, np.ndarray] | None,
) -> Timeline:
    """Business, observed and active step functions summed in one sorted event sweep."""
    status = obs_active.astype(np.int64)
    same_store_next = np.zeros(len(obs_code), dtype=bool)
    same_store_next[:-1] = obs_code[1:] == obs_code[:-1]
    first_obs = np.ones(len(obs_code), dtype=bool)
    first_obs[1:] = ~same_store_next[:-1]
    last_obs = ~same_store_next
    switch = np.zeros(len(obs_code), dtype=bool)
    switch[:-1] = same_store_next[:-1] & (status[1:] != status[:-1])

    # Status events: the first observation's status from far in the past, a switch at each
    # midpoint where consecutive statuses differ, and everything back to zero far in the future.
    midpoints = (obs_rel[:-1].astype(np.float64) + obs_rel[1:]) / 2 if len(obs_rel) > 1 else np.zeros(0)
    sw = np.flatnonzero(switch)
    b_code, b_time = boundaries if boundaries is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    ev_code = np.concatenate([
        interval_code, interval_code,
        obs_code[first_obs], obs_code[sw], obs_code[last_obs], b_code,
    ]).astype(np.int64, copy=False)
    ev_time = np.concatenate([
        open_us.astype(np.float64), close_us.astype(np.float64),
        np.full(first_obs.sum(), -_FAR_US, dtype=np.float64), midpoints[sw] if len(sw) else np.zeros(0),
        np.full(last_obs.sum(), _FAR_US, dtype=np.float64), b_time.astype(np.float64),
    ])
    nb, nf, ns, nl, nd = len(interval_code), int(first_obs.sum()), len(sw), int(last_obs.sum()), len(b_code)
    zeros = np.zeros
    d_business = np.concatenate([np.ones(nb), -np.ones(nb), zeros(nf + ns + nl + nd)])
    d_observed = np.concatenate([zeros(2 * nb), np.ones(nf), zeros(ns), -np.ones(nl), zeros(nd)])
    d_active = np.concatenate([
        zeros(2 * nb), status[first_obs], status[sw + 1] - status[sw], -status[last_obs], zeros(nd),
    ]).astype(np.float64)

    order = np.lexsort((ev_time, ev_code))
    ev_code, ev_time = ev_code[order], ev_time[order]
    business = np.cumsum(d_business[order])[:-1]
    observed = np.cumsum(d_observed[order])[:-1]
    active = np.cumsum(d_active[order])[:-1]
    if nd:
        mark = np.cumsum(np.concatenate([zeros(len(order) - nd, np.int64), np.ones(nd, np.int64)])[order])[:-1] - 1
    else:
        mark = np.zeros(0, dtype=np.int64)
    # A piece running from one store's last event to the next store's first has weight 0:
    # every interval of the first store has closed (intervals end inside the span).
    weight = business * observed
    return Timeline(universe, int(anchor_us), ev_code[:-1], ev_time[:-1], ev_time[1:],
                    business, weight * active, weight * (1 - active), mark)
