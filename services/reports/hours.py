"""Business hours as UTC intervals (SPEC 2.2, 2.3) for every store at once.

Hours rows are merged with every local date of the span, converted with the store's zone
(fold=0, services/reports/timezones.py), clipped to the span and unioned per store. Planned
closures (SPEC 9) are then taken out: business time is the hours minus the union of closures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.packing import StoreTimeKey
from services.reports.timezones import resolve_zone, wall_to_utc

DAY_S = 86_400
DAY_US = DAY_S * 1_000_000


def business_intervals(
    universe: pd.Index, hours: pd.DataFrame, zones: pd.DataFrame, anchor_us: int, span_lo: int, span_hi: int,
    closures: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged business intervals [open, close) in µs relative to the anchor, clipped to
    [span_lo, span_hi] and sorted by (store, open). Returns (open, close, store code).

    `closures` (columns store, start_us, end_us: absolute epoch µs, [start, end); `store` of the
    same kind as `universe`) are taken out of the intervals (SPEC 9)."""
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
    far = np.full(len(always_open), span_lo, dtype=np.int64)

    # Every local date that can hold business time within the span.
    first_day = (anchor_us + span_lo) // DAY_US - 2
    last_day = (anchor_us + span_hi) // DAY_US + 2
    dates = pd.DataFrame({"date": np.arange(first_day, last_day + 1, dtype=np.int64)})
    dates["day"] = (dates["date"] + 3) % 7  # 1970-01-01 was a Thursday (3)
    expanded = rows.merge(dates, on="day", how="inner")

    zone_names, zone_index = zone_of(universe, zones, expanded["code"].to_numpy())
    date_s = expanded["date"].to_numpy() * DAY_S
    start = expanded["start_s"].to_numpy()
    end = expanded["end_s"].to_numpy()
    wall_open = date_s + start
    wall_close = date_s + np.where(end <= start, DAY_S, 0) + end
    utc = wall_to_utc(zone_names, np.concatenate([zone_index, zone_index]), np.concatenate([wall_open, wall_close]))
    half = len(wall_open)
    open_us = np.clip(utc[:half] * 1_000_000 - anchor_us, span_lo, span_hi)
    close_us = np.clip(utc[half:] * 1_000_000 - anchor_us, span_lo, span_hi)
    keep = close_us > open_us  # empty after clipping, or reversed by a DST gap
    codes = np.concatenate([expanded["code"].to_numpy()[keep], always_open])
    opens = np.concatenate([open_us[keep], far])
    closes = np.concatenate([close_us[keep], np.full(len(always_open), span_hi, dtype=np.int64)])
    opens, closes, codes = _union(codes, opens, closes)
    if closures is not None and len(closures):
        opens, closes, codes = subtract_closures(opens, closes, codes, universe, closures, anchor_us, span_lo, span_hi)
    return opens, closes, codes


def subtract_closures(
    opens: np.ndarray, closes: np.ndarray, codes: np.ndarray, universe: pd.Index, closures: pd.DataFrame,
    anchor_us: int, span_lo: int, span_hi: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged intervals (sorted by store, open) minus the union of each store's closures.

    The closures are unioned per store first; one binary search then finds the business
    intervals a closure overlaps (the last closure of the store starting before the interval
    closes is the only candidate: the closures are disjoint and sorted). Only those intervals go
    through a +1/−1 event sweep (business hours in one running sum, closures in another; time is
    business where the first is positive and the second zero); every other interval is kept as
    it is. The pieces never touch each other or the kept intervals, so no union is needed after.
    """
    c_code = universe.get_indexer(closures["store"].to_numpy())
    c_start = np.clip(closures["start_us"].to_numpy(dtype=np.int64) - anchor_us, span_lo, span_hi)
    c_end = np.clip(closures["end_us"].to_numpy(dtype=np.int64) - anchor_us, span_lo, span_hi)
    mine = (c_code >= 0) & (c_end > c_start)
    if not mine.any() or not len(codes):
        return opens, closes, codes
    c_start, c_end, c_code = _union(c_code[mine], c_start[mine], c_end[mine])
    key = StoreTimeKey.for_span(span_lo, span_hi)
    if not key.fits(len(universe)):  # too many stores over too long a span for one int64: the plain sweep
        return _sweep_out(opens, closes, codes, c_code, c_start, c_end, span_lo, span_hi)
    last = np.searchsorted(key.pack(c_code, c_start), key.pack(codes, closes), side="left") - 1
    candidate = np.maximum(last, 0)
    hit = (last >= 0) & (c_code[candidate] == codes) & (c_end[candidate] > opens)
    if not hit.any():
        return opens, closes, codes
    p_open, p_close, p_code = _sweep_out(opens[hit], closes[hit], codes[hit], c_code, c_start, c_end,
                                         span_lo, span_hi)
    # Both lists are sorted: the pieces go in where they belong (a merge, not a sort of all).
    kept = ~hit
    at = np.searchsorted(key.pack(codes[kept], opens[kept]), key.pack(p_code, p_open)) + np.arange(len(p_code))
    is_piece = np.zeros(int(kept.sum()) + len(p_code), dtype=bool)
    is_piece[at] = True
    merged = []
    for old, new in ((opens, p_open), (closes, p_close), (codes, p_code)):
        column = np.empty(len(is_piece), dtype=np.int64)
        column[is_piece], column[~is_piece] = new, old[kept]
        merged.append(column)
    return merged[0], merged[1], merged[2]


def _sweep_out(opens: np.ndarray, closes: np.ndarray, codes: np.ndarray, c_code: np.ndarray, c_start: np.ndarray,
               c_end: np.ndarray, span_lo: int, span_hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The intervals minus the closures, by one event sweep, merged and sorted by (store, open)."""
    n_h, n_c = len(codes), len(c_code)
    ev_code = np.concatenate([codes, codes, c_code, c_code])
    ev_time = np.concatenate([opens, closes, c_start, c_end])
    d_hours = np.concatenate([np.ones(n_h, np.int64), -np.ones(n_h, np.int64), np.zeros(2 * n_c, np.int64)])
    d_closed = np.concatenate([np.zeros(2 * n_h, np.int64), np.ones(n_c, np.int64), -np.ones(n_c, np.int64)])
    order = _order_by_store_time(ev_code, ev_time, span_lo, span_hi)
    ev_code, ev_time = ev_code[order], ev_time[order]
    # Each store's events sum to zero, so one running sum over all stores is each store's own.
    in_hours = np.cumsum(d_hours[order])[:-1]
    in_closure = np.cumsum(d_closed[order])[:-1]
    piece = (in_hours > 0) & (in_closure == 0) & (ev_code[1:] == ev_code[:-1]) & (ev_time[1:] > ev_time[:-1])
    kept = np.flatnonzero(piece)
    return _union(ev_code[kept], ev_time[kept], ev_time[kept + 1])


def _order_by_store_time(code: np.ndarray, time: np.ndarray, span_lo: int, span_hi: int) -> np.ndarray:
    """Sort order by (store, time): one int64 key when both fit, else a two-key lexsort."""
    key = StoreTimeKey.for_span(span_lo, span_hi)
    if len(code) and key.fits(int(code.max())):
        return np.argsort(key.pack(code, time), kind="stable")  # 4× faster than lexsort (models/packing.py)
    return np.lexsort((time, code))


def zone_of(universe: pd.Index, zones: pd.DataFrame, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Zone names in use and, for each code, the index of its store's zone (SPEC 2.3 default)."""
    zone_code = universe.get_indexer(zones["store"].to_numpy())
    per_store = np.full(len(universe), None, dtype=object)
    known = zone_code >= 0
    per_store[zone_code[known]] = zones["tz"].to_numpy(dtype=object)[known]  # last row wins
    resolved = pd.Series(per_store, dtype=object).map(resolve_zone, na_action=None)
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
