"""The uptime/downtime computation of SPEC section 2, as pure functions of DataFrames.

Every store is handled at once with sorted NumPy arrays:
1. business hours become UTC intervals for the local dates that can touch the last 8 days
   (a merge of hours rows with dates, a time-zone conversion, a sort-based union);
2. polls inside those intervals and within [now − 8 d, now] are the observations;
3. the status between two observations switches at their midpoint, so business time and
   status are both step functions: one sorted list of +1/−1 events per store, summed with
   `cumsum`, gives the pieces of time that are (business, observed, active);
4. each piece is clipped to the three windows and summed per store with `bincount`.
Times are integer microseconds relative to now (midpoints are exact in float64).
"""
from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np
import pandas as pd

from services.reports.timezones import resolve_zone, wall_to_utc

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
LOOKBACK_US = 8 * DAY_US  # observations older than this say nothing about the week
DAY_S = 86_400

# Everything the computation needs lies in [now − 9 d, now + 1 d]; business intervals are
# clipped to it so that (store code, time) packs into one int64 search key.
_SPAN_LO_US = -(LOOKBACK_US + DAY_US)
_SPAN_HI_US = DAY_US
_TIME_BITS = 40
_FAR_US = 30 * DAY_US  # "before the first / after the last observation" event times

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


def compute_uptime(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    now_us: int,
    stores: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Uptime and downtime of every store for the windows ending at `now_us`.

    polls: store, ts_us (epoch µs), active; hours: store, day (0 = Monday), start_s, end_s
    (seconds since local midnight, 86400 = 24:00); zones: store, tz. `stores` selects the
    rows of the result (default: every store with a poll not after now). Returns float
    columns REPORT_COLUMNS (hour in minutes, day and week in hours), indexed by store.
    """
    now_us = int(now_us)
    poll_store = polls["store"].to_numpy()
    poll_ts = polls["ts_us"].to_numpy(dtype=np.int64)
    if stores is None:
        universe = pd.Index(pd.unique(poll_store[poll_ts <= now_us]))
    else:
        universe = pd.Index(list(dict.fromkeys(stores)))
    universe.name = "store"
    n = len(universe)
    result = np.zeros((n, len(REPORT_COLUMNS)), dtype=np.float64)
    if n:
        open_us, close_us, interval_code = business_intervals(universe, hours, zones, now_us)
        obs_code, obs_rel, obs_active = observations(
            universe.get_indexer(poll_store), poll_ts - now_us, polls["active"].to_numpy(dtype=bool),
            interval_code, open_us, close_us,
        )
        result = _integrate(n, interval_code, open_us, close_us, obs_code, obs_rel, obs_active)
    return pd.DataFrame(result, index=universe, columns=REPORT_COLUMNS)


def business_intervals(
    universe: pd.Index, hours: pd.DataFrame, zones: pd.DataFrame, now_us: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged business intervals [open, close) in µs relative to now, sorted by (store, open).

    Returns (open, close, store code), the code being the position in `universe`.
    """
    code = universe.get_indexer(hours["store"].to_numpy())
    rows = pd.DataFrame(
        {
            "code": code,
            "day": hours["day"].to_numpy(dtype=np.int64),
            "start_s": hours["start_s"].to_numpy(dtype=np.int64),
            "end_s": hours["end_s"].to_numpy(dtype=np.int64),
        }
    )
    rows = rows[rows["code"] >= 0]

    # Stores without any hours row are open all the time.
    always_open = np.setdiff1d(np.arange(len(universe)), rows["code"].to_numpy())
    far = np.full(len(always_open), _SPAN_LO_US, dtype=np.int64)

    # Every local date that can hold business time within [now − 9 d, now + 1 d].
    first_day = (now_us + _SPAN_LO_US) // (DAY_S * 1_000_000) - 2
    last_day = now_us // (DAY_S * 1_000_000) + 2
    dates = pd.DataFrame({"date": np.arange(first_day, last_day + 1, dtype=np.int64)})
    dates["day"] = (dates["date"] + 3) % 7  # 1970-01-01 was a Thursday (3)
    expanded = rows.merge(dates, on="day", how="inner")

    zone_names, zone_index = _zone_of(universe, zones, expanded["code"].to_numpy())
    date_s = expanded["date"].to_numpy() * DAY_S
    start = expanded["start_s"].to_numpy()
    end = expanded["end_s"].to_numpy()
    wall_open = date_s + start
    wall_close = date_s + np.where(end <= start, DAY_S, 0) + end
    utc = wall_to_utc(zone_names, np.concatenate([zone_index, zone_index]), np.concatenate([wall_open, wall_close]))
    half = len(wall_open)
    open_us = np.clip(utc[:half] * 1_000_000 - now_us, _SPAN_LO_US, _SPAN_HI_US)
    close_us = np.clip(utc[half:] * 1_000_000 - now_us, _SPAN_LO_US, _SPAN_HI_US)
    keep = close_us > open_us  # empty after clipping, or reversed by a DST gap
    codes = np.concatenate([expanded["code"].to_numpy()[keep], always_open])
    opens = np.concatenate([open_us[keep], far])
    closes = np.concatenate([close_us[keep], np.full(len(always_open), _SPAN_HI_US, dtype=np.int64)])
    return _union(codes, opens, closes)


def _zone_of(universe: pd.Index, zones: pd.DataFrame, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Zone names in use and, for each code, the index of its store's zone (SPEC 2.3 default)."""
    zone_code = universe.get_indexer(zones["store"].to_numpy())
    per_store = np.full(len(universe), None, dtype=object)
    known = zone_code >= 0
    per_store[zone_code[known]] = zones["tz"].to_numpy(dtype=object)[known]  # last row wins
    resolved = pd.Series(per_store).map(resolve_zone, na_action=None)
    index, names = pd.factorize(resolved)
    return list(names), index[codes]


def _union(codes: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of overlapping or touching intervals per store."""
    if len(codes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.lexsort((opens, codes))
    codes, opens, closes = codes[order], opens[order], closes[order]
    reach = pd.Series(closes).groupby(codes).cummax().to_numpy()
    starts_block = np.ones(len(codes), dtype=bool)
    starts_block[1:] = (codes[1:] != codes[:-1]) | (opens[1:] > reach[:-1])
    first = np.flatnonzero(starts_block)
    return opens[first], np.maximum.reduceat(closes, first), codes[first]


def _pack(code: np.ndarray, rel_us: np.ndarray) -> np.ndarray:
    return (code.astype(np.int64) << _TIME_BITS) + (rel_us - _SPAN_LO_US)


def observations(
    code: np.ndarray,
    rel_us: np.ndarray,
    active: np.ndarray,
    interval_code: np.ndarray,
    open_us: np.ndarray,
    close_us: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """In-hours polls of [now − 8 d, now], one per instant (inactive wins), sorted by store, time."""
    keep = (code >= 0) & (rel_us >= -LOOKBACK_US) & (rel_us <= 0)
    # One sortable int64 per poll: (store, time, status), inactive sorting first in an instant.
    packed = np.sort((_pack(code[keep], rel_us[keep]) << 1) | active[keep].astype(np.int64))
    poll_keys = packed >> 1
    first = np.ones(len(packed), dtype=bool)
    first[1:] = poll_keys[1:] != poll_keys[:-1]
    packed, poll_keys = packed[first], poll_keys[first]
    open_keys = _pack(interval_code, open_us)
    close_keys = _pack(interval_code, close_us)
    slot = np.searchsorted(open_keys, poll_keys, side="right") - 1
    inside = slot >= 0
    inside[inside] = poll_keys[inside] < close_keys[slot[inside]]
    packed, poll_keys = packed[inside], poll_keys[inside]
    return (
        poll_keys >> _TIME_BITS,
        (poll_keys & ((1 << _TIME_BITS) - 1)) + _SPAN_LO_US,
        (packed & 1).astype(bool),
    )


def _integrate(
    n: int,
    interval_code: np.ndarray,
    open_us: np.ndarray,
    close_us: np.ndarray,
    obs_code: np.ndarray,
    obs_rel: np.ndarray,
    obs_active: np.ndarray,
) -> np.ndarray:
    """Sum business time by status over the three windows with one event sweep."""
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
    ev_code = np.concatenate([
        interval_code, interval_code,
        obs_code[first_obs], obs_code[sw], obs_code[last_obs],
    ])
    ev_time = np.concatenate([
        open_us.astype(np.float64), close_us.astype(np.float64),
        np.full(first_obs.sum(), -_FAR_US, dtype=np.float64), midpoints[sw] if len(sw) else np.zeros(0),
        np.full(last_obs.sum(), _FAR_US, dtype=np.float64),
    ])
    nb, nf, ns, nl = len(interval_code), int(first_obs.sum()), len(sw), int(last_obs.sum())
    d_business = np.concatenate([np.ones(nb), -np.ones(nb), np.zeros(nf + ns + nl)])
    d_observed = np.concatenate([np.zeros(2 * nb), np.ones(nf), np.zeros(ns), -np.ones(nl)])
    d_active = np.concatenate([
        np.zeros(2 * nb), status[first_obs], status[sw + 1] - status[sw], -status[last_obs],
    ]).astype(np.float64)

    order = np.lexsort((ev_time, ev_code))
    ev_code, ev_time = ev_code[order], ev_time[order]
    business = np.cumsum(d_business[order])[:-1]
    observed = np.cumsum(d_observed[order])[:-1]
    active = np.cumsum(d_active[order])[:-1]
    piece_start, piece_end, piece_code = ev_time[:-1], ev_time[1:], ev_code[:-1]
    up_weight = business * observed * active
    down_weight = business * observed * (1 - active)

    out = np.zeros((n, 6), dtype=np.float64)
    for column, (length, unit) in enumerate(_WINDOWS):
        overlap = np.clip(np.minimum(piece_end, 0.0) - np.maximum(piece_start, -float(length)), 0.0, None)
        out[:, column] = np.bincount(piece_code, weights=overlap * up_weight, minlength=n) / unit
        out[:, column + 3] = np.bincount(piece_code, weights=overlap * down_weight, minlength=n) / unit
    return out
