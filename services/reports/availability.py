"""Availability over any range (SPEC section 5): totals, incidents and local days.

A range [from, to) is one window of the engine's timeline, with observations from
[from − 24 h, to]. Incidents are the inactive business pieces clipped to the range, merged
where they touch; days are the pieces cut at every local midnight of the store's zone and
summed per (store, date). All of it is array arithmetic over every store at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import pandas as pd

from services.contract.reports import check_range
from services.reports.engine import DAY_S, DAY_US, HOUR_US, MINUTE_US, Timeline, select_universe, timeline
from services.reports.hours import business_intervals, zone_of
from services.reports.timezones import wall_to_utc

RANGE_LOOKBACK_US = DAY_US  # observations within [from − 24 h, to] (SPEC 5.1)
RANGE_COLUMNS = ["business_hours", "uptime_hours", "downtime_hours", "uptime_percent", "incidents"]


@dataclass(frozen=True)
class RangeResult:
    """totals: RANGE_COLUMNS indexed by store (hours; uptime_percent NaN when empty), and
    closed_hours when asked with days;
    incidents: store, start_us, end_us (absolute float µs), minutes, sorted by store, start;
    days: store, date (datetime.date), business_hours, uptime_hours, downtime_hours, or None."""

    totals: pd.DataFrame
    incidents: pd.DataFrame
    days: pd.DataFrame | None


def compute_range(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    from_us: int,
    to_us: int,
    stores: Sequence[Hashable] | None = None,
    with_days: bool = False,
    closures: pd.DataFrame | None = None,
) -> RangeResult:
    """Totals, incidents and (optionally) local days of every store over [from_us, to_us).

    Inputs as `engine.compute_uptime`; `stores` default: every store with a poll not after to.
    With `with_days`, the totals also have `closed_hours`: business hours that `closures` took
    out of the range (SPEC 9).
    """
    from_us, to_us = int(from_us), int(to_us)
    check_range(from_us, to_us)
    universe = select_universe(polls, stores, to_us)
    n = len(universe)
    boundaries = _local_midnights(universe, zones, from_us, to_us) if with_days and n else None
    line = timeline(polls, hours, zones, universe, from_us - RANGE_LOOKBACK_US, to_us, to_us,
                    None if boundaries is None else boundaries[:2], closures=closures)
    overlap = line.overlap(from_us, to_us)
    business = np.bincount(line.code, weights=overlap * line.business, minlength=n)
    up = np.bincount(line.code, weights=overlap * line.up, minlength=n)
    down = np.bincount(line.code, weights=overlap * line.down, minlength=n)
    incidents = _incidents(line.code, line.start, line.end, line.down, overlap, line.anchor_us, from_us, to_us)
    observed = up + down
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = np.where(observed > 0, 100.0 * up / np.where(observed > 0, observed, 1.0), np.nan)
    totals = pd.DataFrame(
        {
            "business_hours": business / HOUR_US,
            "uptime_hours": up / HOUR_US,
            "downtime_hours": down / HOUR_US,
            "uptime_percent": percent,
            "incidents": np.bincount(incidents["code"], minlength=n).astype(np.int64),
        },
        index=universe,
    )
    if with_days:
        totals["closed_hours"] = _closed_hours(universe, hours, zones, closures, business, from_us, to_us)
    incident_frame = pd.DataFrame({"store": universe.to_numpy()[incidents["code"]], **{
        k: incidents[k] for k in ("start_us", "end_us", "minutes")}})
    days = None
    if boundaries is not None:
        days = _days(line, overlap, boundaries, universe, from_us, to_us)
    return RangeResult(totals, incident_frame, days)


def _closed_hours(universe: pd.Index, hours: pd.DataFrame, zones: pd.DataFrame, closures: pd.DataFrame | None,
                  business_us: np.ndarray, from_us: int, to_us: int) -> np.ndarray:
    """Business hours of [from, to) without closures, minus those with them: what closures removed."""
    n = len(universe)
    if closures is None or not len(closures) or not n:
        return np.zeros(n)
    open_us, close_us, code = business_intervals(universe, hours, zones, to_us, from_us - to_us, 0)
    plain = np.bincount(code, weights=(close_us - open_us).astype(np.float64), minlength=n)
    return np.clip(plain - business_us, 0.0, None) / HOUR_US


def _incidents(code: np.ndarray, start: np.ndarray, end: np.ndarray, down: np.ndarray, overlap: np.ndarray,
               anchor_us: int, from_us: int, to_us: int) -> dict[str, np.ndarray]:
    """Maximal inactive business intervals, clipped to the range: down pieces that touch
    (one ends where the next of the same store starts) are one incident."""
    keep = (down > 0) & (overlap > 0)
    code, start, end = code[keep], start[keep], end[keep]
    start = np.maximum(start, float(from_us - anchor_us))
    end = np.minimum(end, float(to_us - anchor_us))
    new = np.ones(len(code), dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (start[1:] != end[:-1])
    first = np.flatnonzero(new)
    if len(first):
        starts, ends = start[first], np.maximum.reduceat(end, first)
    else:
        starts = ends = np.zeros(0)
    codes = code[first]
    return {
        "code": codes,
        "start_us": starts + anchor_us, "end_us": ends + anchor_us,
        "minutes": (ends - starts) / MINUTE_US,
    }


def _local_midnights(universe: pd.Index, zones: pd.DataFrame, from_us: int, to_us: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(store code, UTC µs, local date number) of every candidate local midnight: the UTC
    dates of the range widened by two days each side, so every local date that overlaps it
    is listed with its own start and the next one's (SPEC 2.2 conversion, fold=0)."""
    first = from_us // DAY_US - 2
    last = (to_us - 1) // DAY_US + 3
    dates = np.arange(first, last + 1, dtype=np.int64)
    n, k = len(universe), len(dates)
    codes = np.repeat(np.arange(n, dtype=np.int64), k)
    date_of = np.tile(dates, n)
    names, zone_index = zone_of(universe, zones, codes)
    utc_s = wall_to_utc(names, zone_index, date_of * DAY_S)
    return codes, utc_s * 1_000_000, date_of


def _days(line: Timeline, overlap: np.ndarray, boundaries: tuple[np.ndarray, np.ndarray, np.ndarray],
          universe: pd.Index, from_us: int, to_us: int) -> pd.DataFrame:
    """Sum the pieces per local date: a piece's `mark` is its date's row among the boundaries
    (sorted by store and time as they were generated)."""
    codes, starts, date_of = boundaries
    rows = len(codes)
    mark = np.clip(line.mark, 0, max(rows - 1, 0))
    sums = [np.bincount(mark, weights=overlap * w, minlength=rows)[:rows] / HOUR_US
            for w in (line.business, line.up, line.down)]
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = starts[-1:]
    last_of_store = np.ones(rows, dtype=bool)
    last_of_store[:-1] = codes[1:] != codes[:-1]
    keep = ~last_of_store & (ends > starts) & (ends > from_us) & (starts < to_us)
    dates = pd.to_datetime(date_of[keep], unit="D").date
    return pd.DataFrame({
        "store": universe.to_numpy()[codes[keep]],
        "date": dates,
        "business_hours": sums[0][keep],
        "uptime_hours": sums[1][keep],
        "downtime_hours": sums[2][keep],
    })
