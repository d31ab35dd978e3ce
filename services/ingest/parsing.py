"""Vectorised parsers for the values of the input files (SPEC section 1).

Each parser takes a Series of raw strings and returns the parsed values plus a boolean mask of
the rows that parsed; the caller turns the misses into rejections. Exact matches of the common
form go through a fast path, and only the misses pay for normalisation.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from models.base import micros_to_datetime
from services.ingest.byte_spans import ByteSpans

DAY_SECONDS = 86_400
Parser = Callable[[pd.Series], "tuple[np.ndarray, np.ndarray]"]
_STATUS = {"active": True, "inactive": False}
_TIME_RE = r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$"  # ASCII digits only: \d matches "٠٩"
_DAY_RE = r"^[0-6]$"
_WIDTH = 36  # the longest exact shape is 35 bytes: longer values take the regex
_SEPARATORS = ((4, b"-"), (7, b"-"), (13, b":"), (16, b":"))
# Every accepted spelling (SPEC 1): a full date, a time to the second, an optional fraction and
# an optional zone. What a writer cut mid-line leaves (`2023-01-22 12:0`) matches nothing here.
_TIMESTAMP_RE = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"\s*(?:(UTC|Z)|([+-])(\d{2}):?(\d{2}))?\s*",
    re.ASCII | re.IGNORECASE,
)
_CHUNK = 65_536
_YEARS = (1678, 2261)  # where pandas' nanosecond timestamps (used by the reports) reach


def parse_timestamps(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch microseconds (int64) and validity of timestamps in any of SPEC 1's spellings.

    A time without a zone is UTC; other offsets are converted to UTC. Nothing is guessed: a
    value that is not a full date and a time to the second is invalid. The export's own
    spellings are read straight from their bytes; only the other values pay for a regex.
    """
    values = raw.to_numpy(dtype=object)
    micros, ok = _parse_exact(values)
    misses = np.flatnonzero(~ok)
    if len(misses):
        rebuilt = np.array([_canonical(v) for v in values[misses]], dtype=object)
        again, again_ok = _parse_exact(rebuilt)
        micros[misses] = again
        ok[misses] = again_ok
    return micros, ok


def _canonical(value: object) -> str:
    """Another accepted spelling rewritten as `YYYY-MM-DD HH:MM:SS.fffffffff+HH:MM`, or ""."""
    match = _TIMESTAMP_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return ""
    y, mo, d, h, mi, s, frac, _utc, sign, oh, om = match.groups()
    return (f"{y}-{mo}-{d} {h}:{mi}:{s}" + (f".{frac}" if frac else "")
            + (f"{sign}{oh}:{om}" if sign else ""))


def _parse_exact(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised reading of `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][ UTC|Z|±HH:MM]`, nothing else.

    In chunks that stay in the CPU cache: the strings become a byte matrix stored column by
    column, so every check is one pass over a contiguous row of bytes; uint8 arithmetic wraps,
    so `byte - 48 <= 9` is the digit test.
    """
    micros = np.zeros(len(values), dtype=np.int64)
    ok = np.zeros(len(values), dtype=bool)
    for lo in range(0, len(values), _CHUNK):
        micros[lo : lo + _CHUNK], ok[lo : lo + _CHUNK] = _parse_exact_chunk(values[lo : lo + _CHUNK])
    return micros, ok


def _parse_exact_chunk(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    try:
        raw = values.astype(f"S{_WIDTH}")
    except (UnicodeEncodeError, TypeError, ValueError):  # non-ASCII: none of these shapes
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    return _parse_byte_columns(np.ascontiguousarray(raw.view(np.uint8).reshape(n, _WIDTH).T))


def parse_timestamp_spans(spans: ByteSpans) -> tuple[np.ndarray, np.ndarray]:
    """`parse_timestamps` of values left in a file's bytes: no Python string is made but for
    the values in another spelling than the export's own."""
    n = len(spans.starts)
    micros = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    for lo in range(0, n, _CHUNK):
        rows = spans.rows_of_bytes(spans.starts[lo : lo + _CHUNK], spans.lengths[lo : lo + _CHUNK], _WIDTH)
        micros[lo : lo + _CHUNK], ok[lo : lo + _CHUNK] = _parse_byte_columns(np.ascontiguousarray(rows.T))
    misses = np.flatnonzero(~ok)
    if len(misses):
        micros[misses], ok[misses] = parse_timestamps(pd.Series(spans.strings(misses), dtype=object))
    return micros, ok


def _parse_byte_columns(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values' bytes as a matrix stored column by column (col[k] = every value's k-th byte,
    0 after its end)."""
    n = col.shape[1]
    micros = np.zeros(n, dtype=np.int64)
    ok = col[_WIDTH - 1] == 0
    for k, char in _SEPARATORS:
        ok &= col[k] == ord(char)
    ok &= (col[10] == ord(" ")) | (col[10] == ord("T"))

    def digit(k: int) -> np.ndarray:
        d = col[k] - np.uint8(48)
        ok.__iand__(d <= 9)
        return d.astype(np.int32)

    year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3)
    month, day = digit(5) * 10 + digit(6), digit(8) * 10 + digit(9)
    hour, minute, second = digit(11) * 10 + digit(12), digit(14) * 10 + digit(15), digit(17) * 10 + digit(18)
    # Fraction: a dot at 19 and one to nine digits (the first six are the microseconds).
    dot = col[19] == ord(".")
    run = dot.copy()
    frac_len = np.zeros(n, dtype=np.int32)
    fraction = np.zeros(n, dtype=np.int32)
    for k in range(10):
        d = col[20 + k] - np.uint8(48)
        run &= d <= 9
        frac_len += run
        if k < 6:
            fraction = fraction * 10 + np.where(run, d, 0)
    ok &= ~dot | ((frac_len >= 1) & (frac_len <= 9))
    # Zone: nothing, "Z", " UTC" or ±HH:MM right after the seconds or the fraction.
    flat = col.reshape(-1)
    # (A fraction of ten digits is invalid, and read no further: its zone would lie past the end.)
    start = np.where(dot, 20 + np.minimum(frac_len, 9), 19).astype(np.int64) * n + np.arange(n, dtype=np.int64)
    tail = [flat[start + j * n] for j in range(7)]
    plain = tail[0] == 0
    zulu = (tail[0] == ord("Z")) & (tail[1] == 0)
    utc = (tail[0] == ord(" ")) & (tail[1] == ord("U")) & (tail[2] == ord("T")) & (tail[3] == ord("C")) & (tail[4] == 0)
    off = [tail[j] - np.uint8(48) for j in (1, 2, 4, 5)]
    signed = ((tail[0] == ord("+")) | (tail[0] == ord("-"))) & (tail[3] == ord(":")) & (tail[6] == 0)
    for d in off:
        signed &= d <= 9
    offset_s = (off[0].astype(np.int32) * 10 + off[1]) * 3600 + (off[2].astype(np.int32) * 10 + off[3]) * 60
    signed &= (off[0].astype(np.int32) * 10 + off[1] <= 23) & (off[2].astype(np.int32) * 10 + off[3] <= 59)
    ok &= plain | zulu | utc | signed
    offset_s = np.where(signed, np.where(tail[0] == ord("-"), -offset_s, offset_s), 0)
    ok &= (year >= _YEARS[0]) & (year <= _YEARS[1]) & (month >= 1) & (month <= 12) & (day >= 1)
    month = np.clip(month, 1, 12)
    ok &= (day <= _days_in_month(year, month)) & (hour <= 23) & (minute <= 59) & (second <= 59)
    days = _days_from_civil(year, month, day).astype(np.int64)
    seconds = days * DAY_SECONDS + (hour * 3600 + minute * 60 + second - offset_s)
    micros[ok] = (seconds * 1_000_000 + fraction)[ok]
    return micros, ok


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's civil-date algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    lengths = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)[month - 1]
    return lengths + ((month == 2) & leap)


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


# A local wall-clock datetime (SPEC 9's closures): a full date and a time to the minute, nothing
# else. What a writer cut mid-line leaves (`2023-12-25 1`, `2023-12-2`) matches nothing here.
LOCAL_DATETIME_RE = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$"


@by_distinct
def parse_local_datetimes(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`YYYY-MM-DD HH:MM[:SS]` (or with a `T`) as wall seconds: days since 1970-01-01 × 86400 plus
    seconds since local midnight, the form `timezones.wall_to_utc` converts; blanks around ignored.
    `24:00[:00]` is the next local midnight, as in business hours (SPEC 1)."""
    parts = raw.astype(str).str.strip().str.extract(LOCAL_DATETIME_RE)
    matched = parts[0].notna().to_numpy()
    fields = [pd.to_numeric(parts[i], errors="coerce").fillna(0).to_numpy(dtype=np.int64) for i in range(6)]
    year, month, day, hour, minute, second = fields
    month_ok = (month >= 1) & (month <= 12)
    safe_month = np.where(month_ok, month, 1)
    ok = (matched & month_ok & (year >= _YEARS[0]) & (year <= _YEARS[1]) & (day >= 1)
          & (day <= _days_in_month(year, safe_month))
          & (((hour <= 23) & (minute <= 59) & (second <= 59)) | ((hour == 24) & (minute == 0) & (second == 0))))
    days = _days_from_civil(year, safe_month, day).astype(np.int64)
    wall = days * DAY_SECONDS + hour * 3600 + minute * 60 + second
    return np.where(ok, wall, 0).astype(np.int64), ok


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
