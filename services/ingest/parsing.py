"""Vectorised parsers for the values of the input files (SPEC section 1).

Each parser takes a Series of raw strings and returns the parsed values plus a boolean mask of
the rows that parsed; the caller turns the misses into rejections. Exact matches of the common
form go through a fast path, and only the misses pay for normalisation.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from models.base import micros_to_datetime

DAY_SECONDS = 86_400
Parser = Callable[[pd.Series], "tuple[np.ndarray, np.ndarray]"]
_STATUS = {"active": True, "inactive": False}
_TIME_RE = r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$"  # ASCII digits only: \d matches "٠٩"
_DAY_RE = r"^[0-6]$"
_HAS_TIME_RE = r"^\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"


def parse_timestamps(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch microseconds (int64) and validity of timestamps in any of SPEC 1's forms.

    A time without a zone is UTC; other offsets are converted to UTC.
    """
    values = raw.to_numpy(dtype=object)
    result = np.zeros(len(values), dtype=np.int64)
    ok = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return result, ok
    first = _iso_to_micros(_without_utc_suffix(values))
    ok[:] = first[1]
    result[ok] = first[0][ok]
    misses = np.flatnonzero(~ok)
    if len(misses):
        normalised = (
            pd.Series(values[misses]).astype(str).str.strip().str.replace(r"\s*(?i:utc)$", "", regex=True)
        )
        second = _iso_to_micros(normalised.to_numpy(dtype=object))
        result[misses[second[1]]] = second[0][second[1]]
        ok[misses[second[1]]] = True
    return result, ok


def _without_utc_suffix(values: np.ndarray) -> np.ndarray:
    """The values with the real export's trailing " UTC" cut off (pandas' ISO parser wants an
    offset or nothing)."""
    return pd.Series(values, dtype=object).str.removesuffix(" UTC").to_numpy(dtype=object)


def _iso_to_micros(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    clock_us = time.time_ns() // 1000
    parsed = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
    valid = (~parsed.isna()).copy() if isinstance(parsed, np.ndarray) else np.asarray(~parsed.isna()).copy()
    micros = np.zeros(len(strings), dtype=np.int64)
    micros[valid] = parsed[valid].as_unit("us").asi8
    # ISO-8601 also admits a bare date ("2023-01-22"), which is not a poll instant; only values
    # that landed exactly on midnight can be one, so only those pay for the regex check.
    # pandas also takes "now" and "today" (the clock at parse time, maybe as local time): only
    # values within two days of the clock can be those, so they are checked too.
    near_clock = np.abs(micros - clock_us) <= 2 * DAY_SECONDS * 1_000_000
    midnight = np.flatnonzero(valid & ((micros % (DAY_SECONDS * 1_000_000) == 0) | near_clock))
    if len(midnight):
        candidates = pd.Series(np.asarray(strings[midnight], dtype=object), dtype=object)
        has_time = candidates.str.match(_HAS_TIME_RE, na=False).to_numpy()
        valid[midnight[~has_time]] = False
    return micros, valid


def by_distinct(parser: Parser) -> Parser:
    """Apply `parser` to the distinct values only: a column with millions of rows usually has a
    handful of statuses, days or times, and parsing those is what costs."""

    def parse_distinct(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(raw.to_numpy(dtype=object), use_na_sentinel=True)
        values, ok = parser(pd.Series(uniques, dtype=object))
        if len(uniques) == 0:
            return np.zeros(len(codes), dtype=values.dtype), np.zeros(len(codes), dtype=bool)
        return values[codes], ok[codes] & (codes >= 0)

    parse_distinct.__doc__ = parser.__doc__
    return parse_distinct


@by_distinct
def parse_statuses(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`active` → True, `inactive` → False, case-insensitive, blanks ignored."""
    mapped = raw.astype(str).str.strip().str.lower().map(_STATUS)
    ok = (~mapped.isna()).to_numpy()
    return (mapped.to_numpy(dtype=object) == True), ok  # noqa: E712  (unknown → False, flagged by ok)


@by_distinct
def parse_days(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Weekday numbers 0 (Monday) … 6 (Sunday)."""
    stripped = raw.astype(str).str.strip()
    ok = stripped.str.match(_DAY_RE, na=False).to_numpy()
    days = np.zeros(len(raw), dtype=np.int16)
    days[ok] = stripped[ok].astype(int).to_numpy()
    return days, ok


@by_distinct
def parse_local_times(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since local midnight for `HH:MM[:SS]`; `24:00[:00]` is 86400 (end of day)."""
    parts = raw.astype(str).str.strip().str.extract(_TIME_RE)
    matched = parts[0].notna().to_numpy()
    hours = pd.to_numeric(parts[0], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    minutes = pd.to_numeric(parts[1], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    seconds = pd.to_numeric(parts[2], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    total = hours * 3600 + minutes * 60 + seconds
    regular = (hours <= 23) & (minutes <= 59) & (seconds <= 59)
    end_of_day = (hours == 24) & (minutes == 0) & (seconds == 0)
    ok = matched & (regular | end_of_day)
    return np.where(ok, total, 0).astype(np.int32), ok


def parse_instant(text: str) -> int:
    """One instant (an API or CLI `as_of`) as epoch microseconds; raises ValueError if invalid."""
    micros, ok = parse_timestamps(pd.Series([text], dtype=object))
    if not ok[0]:
        raise ValueError(
            f"invalid instant {text!r}: expected ISO-8601 such as 2023-01-25T18:00:00Z"
        )
    return int(micros[0])


def format_instant(micros: int) -> str:
    return micros_to_datetime(micros).isoformat().replace("+00:00", "Z")
