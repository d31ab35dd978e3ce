"""Generate realistic input CSVs for the store-monitor service.

Why this exists
---------------
The real Loop take-home data set is ~1.8M polls for ~14k stores, but only its
business-hours and time-zone files survive in full; the public copies of ``store_status.csv``
are tiny and biased (all ``active``).  Tests, the committed sample in
``csv_files/`` and the benchmarks need poll data that looks like the real
thing, at any scale, reproducibly.  This script writes the three input files of
SPEC section 1:

* ``store_status.csv``  ``store_id,status,timestamp_utc``
* ``menu_hours.csv``    ``store_id,dayOfWeek,start_time_local,end_time_local``
* ``timezones.csv``     ``store_id,timezone_str``

Stores, hours and zones are either taken from a real data directory
(``--real-dir``; the day column may be ``day``, ``dayOfWeek`` or
``day_of_week``; extra stores beyond the real ones are clones of real stores
under new ids of the same style; ~1% of the stores lose their hours rows and
~1% their zone row) or synthesised (integer-like ids of 15-19 digits mixed with
UUIDs, a mix of zones, 24x7 stores, day / overnight / split / overlapping
hours, ``24:00:00`` and ``00:00:00`` ends, ``start == end``, closed days,
stores without a zone row).

Polls: one per store per hour at the hour plus a few minutes of jitter over
``--days`` days ending at ``--end``; about 2% are lost at random and each store
also has poller gaps (runs of 1-30 missing hours, like the real data) so that
the full 2023 store set gives about 1.8M rows for 7.75 days, as the original
did.  Status follows a per-store two-state process (about 3% per hour to go
down, down runs of 1-6 h; ~7% of stores are flaky, ~0.5% have a multi-day
outage).  Timestamps are written like the real file
(``2023-01-22 12:09:39.388884 UTC``, trailing zeros of the fraction dropped as
BigQuery does) and the rows are shuffled.  The latest poll is exactly ``--end``
so a report's "now" is known.

Everything that defines the *data* (stores, hours, zones, poll instants and
statuses) depends only on the seed and the size options, never on
``--variants`` or ``--bad-rows``.  Therefore:

* ``--variants`` only changes how values are *spelled* (other accepted
  timestamp formats including a non-UTC offset for the same instant, status in
  odd case/with blanks, ``HH:MM``, ``24:00`` vs ``00:00`` ends, quoted fields,
  BOM, CRLF): a correct loader gives identical data with and without it.
* ``--bad-rows K`` adds K rejectable rows (unknown status, bad timestamp, day
  outside 0-6, bad time, empty store_id) at random lines of the three files
  (``generate`` returns their count and line numbers per file), plus
  duplicate polls (exact copies, and ``active`` copies of ``inactive`` polls,
  which the "inactive wins" rule resolves to the original) and unknown zone
  names only for stores whose zone is already the default (none, or
  ``America/Chicago``): a correct loader gives the same report as for the clean
  files.

The generator is vectorised with numpy (no Python loop per store or per
poll): the whole 2023 store set for 7.75 days (~1.8M rows) takes a few
seconds.

Usage::

    python scripts/generate_data.py --out DIR [--stores N] [--days D]
        [--end ISO] [--real-dir DIR] [--seed S] [--variants] [--bad-rows K]
        [--drop-hours F] [--drop-zones F]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger("generate_data")

DEFAULT_END = datetime(2023, 1, 25, 18, 13, 22, tzinfo=timezone.utc)
DEFAULT_DAYS = 7.75
DEFAULT_SYNTHETIC_STORES = 1000

STATUS_FILE = "store_status.csv"
HOURS_FILE = "menu_hours.csv"
TZ_FILE = "timezones.csv"

US_PER_S = 1_000_000
US_PER_H = 3600 * US_PER_S
US_PER_DAY = 24 * US_PER_H

# --- poll model parameters (tuned: full 2023 store set, 7.75 days -> ~1.8M rows)
RANDOM_LOSS = 0.02  # iid lost polls
GAP_RATE = 0.0227  # mean per-store chance per hour that a poller gap starts
GAP_MAX_HOURS = 30  # gap lengths uniform 1..GAP_MAX_HOURS
EXTRA_POLL_RATE = 0.015  # a second poll in the same hour
SECOND_PRECISION = 0.06  # polls whose instant is whole seconds
MILLI_PRECISION = 0.04  # polls whose instant is whole milliseconds
DOWN_RATE = (0.01, 0.05)  # normal stores: per-hour chance to go down
DOWN_MAX_HOURS = 6
FLAKY_SHARE = 0.07
FLAKY_DOWN_RATE = (0.06, 0.20)
FLAKY_MAX_HOURS = 10
DEAD_SHARE = 0.005  # stores with one multi-day outage
LEAD_SLOTS = 48  # simulate this many hours before the window (no edge effects)
POLL_BLOCK = 4096  # stores per generation block (fixed: part of the determinism)

SYNTH_ZONES: tuple[tuple[str, float], ...] = (
    ("America/New_York", 0.40),
    ("America/Los_Angeles", 0.18),
    ("America/Chicago", 0.12),
    ("America/Denver", 0.05),
    ("America/Phoenix", 0.04),
    ("America/Detroit", 0.02),
    ("America/Indiana/Indianapolis", 0.02),
    ("America/Boise", 0.01),
    ("America/Anchorage", 0.01),
    ("Pacific/Honolulu", 0.01),
    ("America/Sao_Paulo", 0.01),
    ("America/St_Johns", 0.01),  # UTC-3:30
    ("Europe/London", 0.02),
    ("Europe/Berlin", 0.02),
    ("Asia/Kolkata", 0.02),  # UTC+5:30
    ("Asia/Kathmandu", 0.01),  # UTC+5:45
    ("Asia/Beirut", 0.01),
    ("Asia/Tokyo", 0.01),
    ("Australia/Adelaide", 0.01),  # southern hemisphere DST, +9:30/+10:30
)
SYNTH_NO_ZONE = 0.03  # synthetic stores without a zone row
SYNTH_ID_UUID_SHARE = 0.2  # synthetic ids: 80% integer-like, 20% UUID

UNKNOWN_ZONES = ("Mars/Olympus", "America/Atlantis", "Moon/Tranquility", "Not/AZone")
DEFAULT_ZONE = "America/Chicago"

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIME_RE = r"^(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$|^24:00(?::00)?$"


# --------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------
@dataclass
class StoreSet:
    """Stores with their business hours and zones (all byte-string arrays)."""

    ids: np.ndarray  # (S,) |S  store ids, output order
    hours_store: np.ndarray  # (R,) int64 index into ids, grouped by store
    hours_day: np.ndarray  # (R,) int8 0..6
    hours_start: np.ndarray  # (R,) |S  "HH:MM:SS"
    hours_end: np.ndarray  # (R,) |S
    zones: np.ndarray  # (S,) |S  b"" = no zone row


@dataclass
class Polls:
    """Valid poll rows (before shuffling)."""

    store: np.ndarray  # int64 index into StoreSet.ids
    us: np.ndarray  # int64 microseconds since the epoch (UTC)
    inactive: np.ndarray  # bool
    precision: np.ndarray  # int8: 0 = microseconds, 1 = milliseconds, 2 = seconds


# --------------------------------------------------------------------------
# small vectorised helpers
# --------------------------------------------------------------------------
def _rng(seed: int, stream: int) -> np.random.Generator:
    """Independent random stream per purpose, so options don't shift the data."""
    return np.random.default_rng([seed, stream])


def _as_bytes(values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Encode strings to a numpy |S array (UTF-8), vectorised."""
    arr = np.asarray(values, dtype=str)
    if arr.size == 0:
        return np.zeros(0, dtype="S1")
    return np.strings.encode(arr, "utf-8")


def _buf(arr: np.ndarray) -> np.ndarray:
    """View a |S array as a zero-padded (n, width) uint8 matrix."""
    arr = np.ascontiguousarray(arr)
    width = arr.dtype.itemsize
    return arr.view(np.uint8).reshape(arr.shape[0], width)


def _from_buf(buf: np.ndarray) -> np.ndarray:
    """Inverse of _buf: (n, width) uint8 matrix -> (n,) |S array."""
    buf = np.ascontiguousarray(buf)
    return buf.view(f"S{buf.shape[1]}").reshape(buf.shape[0])


def _table_field(table: Sequence[bytes], codes: np.ndarray) -> np.ndarray:
    """Per-row bytes chosen from a small table, as a zero-padded matrix."""
    tab = np.array(list(table), dtype=f"S{max(1, max(len(t) for t in table))}")
    return _buf(tab)[codes]


def _const(n: int, text: bytes) -> np.ndarray:
    return np.tile(np.frombuffer(text, dtype=np.uint8), (n, 1))


# "00".."99" as uint16 (two ASCII bytes each): one 1-D gather per digit pair
_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8).view(np.uint16).ravel()


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-filled decimal digits of non-negative ints as an (n, width) matrix."""
    out = np.empty((values.shape[0], width), dtype=np.uint8)
    v = values.astype(np.int64, copy=True)
    col = width
    while col >= 2:
        out[:, col - 2 : col] = _PAIRS[v % 100].view(np.uint8).reshape(-1, 2)
        v //= 100
        col -= 2
    if col == 1:
        out[:, 0] = 48 + v % 10
    return out


def _assemble(fields: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Join zero-padded field matrices into lines; NUL padding is dropped.

    Returns the bytes as a uint8 array and each line's start offset.
    """
    mat = np.concatenate(fields, axis=1)
    keep = mat != 0
    lengths = keep.sum(axis=1)
    starts = np.zeros(mat.shape[0], dtype=np.int64)
    if mat.shape[0] > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    return mat[keep], starts


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian (year, month, day) from days since 1970-01-01."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _format_datetimes(us: np.ndarray, sep: np.ndarray, frac_len: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD?HH:MM:SS[.f…]`` as a zero-padded (n, 26) matrix.

    ``sep`` is the date/time separator byte per row, ``frac_len`` the number of
    fraction digits per row (0 = no fraction, no dot).
    """
    n = us.shape[0]
    days = np.floor_divide(us, US_PER_DAY)
    rem = us - days * US_PER_DAY
    year, month, day = _civil_from_days(days)
    secs = rem // US_PER_S
    micro = rem - secs * US_PER_S
    out = np.zeros((n, 26), dtype=np.uint8)
    out[:, 0:4] = _digits(year, 4)
    out[:, 4] = ord("-")
    out[:, 5:7] = _digits(month, 2)
    out[:, 7] = ord("-")
    out[:, 8:10] = _digits(day, 2)
    out[:, 10] = sep
    out[:, 11:13] = _digits(secs // 3600, 2)
    out[:, 13] = ord(":")
    out[:, 14:16] = _digits(secs // 60 % 60, 2)
    out[:, 16] = ord(":")
    out[:, 17:19] = _digits(secs % 60, 2)
    out[:, 19] = np.where(frac_len > 0, ord("."), 0)
    frac = _digits(micro, 6)
    frac[np.arange(6)[None, :] >= frac_len[:, None]] = 0
    out[:, 20:26] = frac
    return out


def _stripped_frac_len(us: np.ndarray) -> np.ndarray:
    """Fraction digits left after dropping trailing zeros (BigQuery style)."""
    micro = np.mod(us, US_PER_S)
    length = np.full(us.shape[0], 6, dtype=np.int64)
    for _ in range(6):
        trailing = (micro % 10 == 0) & (length > 0)
        length -= trailing
        micro = np.where(trailing, micro // 10, micro)
    return length


def _format_hms(seconds: np.ndarray) -> np.ndarray:
    """Seconds of day (0..86400) -> |S8 ``HH:MM:SS`` (86400 -> ``24:00:00``)."""
    out = np.empty((seconds.shape[0], 8), dtype=np.uint8)
    out[:, 0:2] = _digits(seconds // 3600, 2)
    out[:, 2] = ord(":")
    out[:, 3:5] = _digits(seconds // 60 % 60, 2)
    out[:, 5] = ord(":")
    out[:, 6:8] = _digits(seconds % 60, 2)
    return _from_buf(out)


def _unique_ids(rng: np.random.Generator, n: int, style: str, taken: np.ndarray) -> np.ndarray:
    """n new random ids of a style ("int" = 19 digits, "int-varied", "uuid"), not in taken."""
    result = np.zeros(0, dtype="S36")
    while result.shape[0] < n:
        need = n - result.shape[0]
        if style == "uuid":
            raw = rng.integers(0, 256, (need, 16), dtype=np.uint8)
            raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
            raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
            nib = np.empty((need, 32), dtype=np.uint8)
            nib[:, 0::2] = raw >> 4
            nib[:, 1::2] = raw & 0x0F
            chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nib]
            buf = np.full((need, 36), ord("-"), dtype=np.uint8)
            cols = [c for c in range(36) if c not in (8, 13, 18, 23)]
            buf[:, cols] = chars
        else:
            buf = np.zeros((need, 19), dtype=np.uint8)
            buf[:, :] = 48 + rng.integers(0, 10, (need, 19), dtype=np.uint8)
            buf[:, 0] = 48 + rng.integers(1, 10, need, dtype=np.uint8)
            if style == "int-varied":  # 15..19 digits, like the real 2023 ids
                lengths = rng.choice([15, 16, 17, 18, 19], need, p=[0.01, 0.01, 0.06, 0.12, 0.80])
                buf[np.arange(19)[None, :] >= lengths[:, None]] = 0
        fresh = _from_buf(buf).astype("S36")
        result = np.concatenate([result, fresh])
        _, first = np.unique(result, return_index=True)
        keep = np.zeros(result.shape[0], dtype=bool)
        keep[first] = True
        keep &= ~np.isin(result, taken.astype("S36"))
        result = result[np.sort(np.flatnonzero(keep))]
    return result[:n]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for each (s, c), vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + (np.arange(total) - offsets)


# --------------------------------------------------------------------------
# stores: real
# --------------------------------------------------------------------------
def _find_file(real_dir: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for path in sorted(real_dir.glob(name)):
            if path.is_file():
                return path
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    for col in df.columns:
        df[col] = df[col].str.strip()
    return df


def _load_real(real_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read real hours (store_id, day, start, end) and zones (store_id, tz)."""
    hours_path = _find_file(real_dir, ["menu_hours.csv", "business_hours.csv", "Menu hours.csv"])
    tz_path = _find_file(real_dir, ["timezones.csv", "store_timezone.csv", "bq-results*.csv"])
    if hours_path is None and tz_path is None:
        raise FileNotFoundError(f"no menu_hours.csv or timezones.csv in {real_dir}")
    hours = pd.DataFrame({"store_id": [], "day": [], "start": [], "end": []}, dtype=str)
    if hours_path is not None:
        raw = _read_csv(hours_path)
        day_col = next((c for c in ("dayOfWeek", "day", "day_of_week") if c in raw.columns), None)
        if day_col is None:
            raise ValueError(f"{hours_path}: no day column (dayOfWeek/day/day_of_week)")
        hours = pd.DataFrame(
            {
                "store_id": raw["store_id"],
                "day": raw[day_col],
                "start": raw["start_time_local"],
                "end": raw["end_time_local"],
            }
        )
        ok = (
            (hours["store_id"] != "")
            & hours["day"].isin([str(d) for d in range(7)])
            & hours["start"].str.match(TIME_RE)
            & hours["end"].str.match(TIME_RE)
        )
        if not ok.all():
            log.warning("%s: skipping %d invalid rows", hours_path, int((~ok).sum()))
        hours = hours[ok]
    zones = pd.DataFrame({"store_id": [], "tz": []}, dtype=str)
    if tz_path is not None:
        raw = _read_csv(tz_path)
        zones = pd.DataFrame({"store_id": raw["store_id"], "tz": raw["timezone_str"]})
        zones = zones[(zones["store_id"] != "") & (zones["tz"] != "")]
        zones = zones.drop_duplicates("store_id", keep="first")
    return hours.reset_index(drop=True), zones.reset_index(drop=True)


def _real_stores(
    real_dir: Path, stores: int | None, rng: np.random.Generator, drop_hours: float, drop_zones: float
) -> StoreSet:
    hours, zones = _load_real(real_dir)
    # stable order: the zone file's order (it lists nearly every store), then
    # stores that only appear in the hours file
    order = pd.unique(pd.concat([zones["store_id"], hours["store_id"]], ignore_index=True))
    n_real = len(order)
    n = n_real if stores is None else stores
    if n <= 0:
        raise ValueError("stores must be positive")
    pick = min(n, n_real)
    real_ids = np.asarray(order[:pick], dtype=object)
    code = pd.Index(real_ids)

    h_idx = code.get_indexer(hours["store_id"])
    sel = h_idx >= 0
    h_idx = h_idx[sel]
    srt = np.argsort(h_idx, kind="stable")
    h_idx = h_idx[srt]
    h_day = hours["day"].to_numpy()[sel][srt].astype(np.int8)
    h_start = _as_bytes(hours["start"].to_numpy()[sel][srt])
    h_end = _as_bytes(hours["end"].to_numpy()[sel][srt])

    z_idx = code.get_indexer(zones["store_id"])
    zone_of = np.zeros(pick, dtype=object)
    zone_of[:] = ""
    zone_of[z_idx[z_idx >= 0]] = zones["tz"].to_numpy()[z_idx >= 0]
    ids = _as_bytes(real_ids.astype(str))
    zone_arr = _as_bytes(zone_of.astype(str))

    if n > n_real:
        extra = n - n_real
        style = "int" if all(s.isdigit() for s in order[:50]) else "uuid"
        if style == "uuid" and not all(UUID_RE.match(s) for s in order[:50]):
            log.warning("real ids are neither integers nor UUIDs; clones get UUIDs")
        new_ids = _unique_ids(rng, extra, style, ids)
        src = rng.integers(0, n_real, extra)
        counts_real = np.bincount(h_idx, minlength=n_real)
        starts_real = np.cumsum(counts_real) - counts_real
        rows = _ranges(starts_real[src], counts_real[src])
        clone_store = np.repeat(np.arange(n_real, n, dtype=np.int64), counts_real[src])
        width = max(ids.dtype.itemsize, new_ids.dtype.itemsize)
        ids = np.concatenate([ids.astype(f"S{width}"), new_ids.astype(f"S{width}")])
        h_idx = np.concatenate([h_idx, clone_store])
        h_day = np.concatenate([h_day, h_day[rows]])
        h_start = np.concatenate([h_start, h_start[rows]])
        h_end = np.concatenate([h_end, h_end[rows]])
        zone_arr = np.concatenate([zone_arr, zone_arr[src]])

    # some stores lose their hours (-> 24x7) or their zone (-> default zone)
    no_hours = rng.random(n) < drop_hours
    no_zone = rng.random(n) < drop_zones
    keep = ~no_hours[h_idx]
    zone_arr = np.where(no_zone, b"", zone_arr)
    return StoreSet(
        ids=ids,
        hours_store=h_idx[keep].astype(np.int64),
        hours_day=h_day[keep],
        hours_start=h_start[keep],
        hours_end=h_end[keep],
        zones=zone_arr,
    )


# --------------------------------------------------------------------------
# stores: synthetic
# --------------------------------------------------------------------------
H = 3600


def _synthetic_stores(stores: int, rng: np.random.Generator) -> StoreSet:
    n = stores
    if n <= 0:
        raise ValueError("stores must be positive")
    is_uuid = rng.random(n) < SYNTH_ID_UUID_SHARE
    ids = np.empty(n, dtype="S36")
    taken = np.zeros(0, dtype="S36")
    ids[~is_uuid] = _unique_ids(rng, int((~is_uuid).sum()), "int-varied", taken)
    ids[is_uuid] = _unique_ids(rng, int(is_uuid.sum()), "uuid", taken)

    names = [z for z, _ in SYNTH_ZONES]
    weights = np.array([w for _, w in SYNTH_ZONES])
    zone_code = rng.choice(len(names), n, p=weights / weights.sum())
    zones = _as_bytes(np.array(names)[zone_code])
    zones = np.where(rng.random(n) < SYNTH_NO_ZONE, b"", zones)

    # hour patterns
    patterns = np.array([0.15, 0.30, 0.10, 0.08, 0.10, 0.10, 0.05, 0.04, 0.02, 0.03, 0.03])
    (P_24X7, P_REG, P_CLOSED, P_WEEKEND, P_NIGHT, P_SPLIT, P_MIDNIGHT, P_FULL, P_SAME, P_ZERO_END, P_TINY) = range(11)
    pat = rng.choice(len(patterns), n, p=patterns / patterns.sum())
    opening = rng.integers(6, 12, n) * H + rng.choice([0, 900, 1800, 2700], n)
    closing = rng.integers(20, 24, n) * H + rng.choice([0, 1800], n)
    night_open = rng.integers(16, 21, n) * H + rng.choice([0, 1800], n)
    night_close = rng.integers(1, 4, n) * H + rng.choice([0, 1800], n)
    closed1 = rng.integers(0, 7, n)
    closed2 = np.where(rng.random(n) < 0.5, rng.integers(0, 7, n), -1)
    lunch_open = 11 * H + rng.choice([0, 1800], n)
    lunch_close = 14 * H + rng.choice([0, 1800, 3600], n)
    overlap = rng.random(n) < 0.2  # split rows that overlap: union semantics
    dinner_open = np.where(overlap, lunch_close - 1800, 17 * H + rng.choice([0, 1800], n))
    dinner_close = rng.integers(21, 24, n) * H

    # candidate table: store x day x slot(2)
    start = np.zeros((n, 7, 2), dtype=np.int64)
    end = np.zeros((n, 7, 2), dtype=np.int64)
    present = np.zeros((n, 7, 2), dtype=bool)
    day = np.arange(7)[None, :]

    def put(mask: np.ndarray, slot: int, s: np.ndarray, e: np.ndarray, on: np.ndarray | None = None) -> None:
        m = mask[:, None] & (np.ones((1, 7), dtype=bool) if on is None else on)
        start[:, :, slot] = np.where(m, s[:, None] if s.ndim == 1 else s, start[:, :, slot])
        end[:, :, slot] = np.where(m, e[:, None] if e.ndim == 1 else e, end[:, :, slot])
        present[:, :, slot] |= m

    put(pat == P_REG, 0, opening, closing)
    open_days = (day != closed1[:, None]) & (day != closed2[:, None])
    put(pat == P_CLOSED, 0, opening, closing, open_days)
    weekend = day >= 5
    put(pat == P_WEEKEND, 0, opening, closing, ~weekend)
    put(pat == P_WEEKEND, 0, opening + H, np.minimum(closing + H, 24 * H), weekend)
    put(pat == P_NIGHT, 0, night_open, night_close)
    put(pat == P_SPLIT, 0, lunch_open, lunch_close, day != closed1[:, None])
    put(pat == P_SPLIT, 1, dinner_open, dinner_close, day != closed1[:, None])
    put(pat == P_MIDNIGHT, 0, opening, np.full(n, 24 * H))
    put(pat == P_FULL, 0, np.zeros(n, dtype=np.int64), np.full(n, 24 * H - 1))
    put(pat == P_SAME, 0, opening, opening)
    put(pat == P_ZERO_END, 0, opening, np.zeros(n, dtype=np.int64))
    put(pat == P_TINY, 0, np.zeros(n, dtype=np.int64), np.full(n, 600))

    s_idx, d_idx, k_idx = np.nonzero(present)  # C order: grouped by store, day, slot
    return StoreSet(
        ids=ids,
        hours_store=s_idx.astype(np.int64),
        hours_day=d_idx.astype(np.int8),
        hours_start=_format_hms(start[s_idx, d_idx, k_idx]),
        hours_end=_format_hms(end[s_idx, d_idx, k_idx]),
        zones=zones,
    )


# --------------------------------------------------------------------------
# polls
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
ACTIVE_SPELLINGS = (b"active", b" Active ", b"ACTIVE", b"Active", b"active ")
INACTIVE_SPELLINGS = (b"inactive", b"INACTIVE", b" inactive ", b"Inactive", b" INACTIVE")
OFFSETS_MIN = (-300, -480, -360, 330, 60, -210)
# timestamp spellings: (separator, suffix); fraction digits decided separately
TS_REAL = 0  # "2023-01-22 12:09:39.388884 UTC" (trailing zeros dropped)
TS_Z = 1  # "2023-01-22T12:09:39Z"
TS_NAIVE = 2  # "2023-01-22 12:09:39"
TS_PLUS0 = 3  # "2023-01-22T12:09:39.388+00:00"
TS_OFFSET = 4  # "2023-01-22T07:09:39-05:00" (+ offset code)


def _offset_suffix(minutes: int) -> bytes:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}".encode()


def _write_lines(
    path: Path,
    header: bytes,
    body_chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    bad_lines: list[bytes],
    bad_before: np.ndarray,
    eol: bytes,
    bom: bool,
) -> list[int]:
    """Write header + body, inserting bad lines before given valid-row indices.

    ``body_chunks`` are (bytes, line starts) pairs from _assemble, in order.
    Returns the 1-based file line numbers of the bad lines (header = line 1).
    """
    order = np.argsort(bad_before, kind="stable")
    line_numbers = [0] * len(bad_lines)
    with open(path, "wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        fh.write(header + eol)
        row0 = 0
        j = 0
        for data, starts in body_chunks:
            rows = starts.shape[0]
            pos = 0
            while j < len(order) and bad_before[order[j]] < row0 + rows:
                local = int(bad_before[order[j]]) - row0
                cut = int(starts[local])
                fh.write(data[pos:cut].tobytes())
                pos = cut
                fh.write(bad_lines[order[j]] + eol)
                line_numbers[order[j]] = 2 + int(bad_before[order[j]]) + j
                j += 1
            fh.write(data[pos:].tobytes())
            row0 += rows
        while j < len(order):
            fh.write(bad_lines[order[j]] + eol)
            line_numbers[order[j]] = 2 + int(bad_before[order[j]]) + j
            j += 1
    return line_numbers


def _id_fields(ids_buf: np.ndarray, store: np.ndarray, quoted: np.ndarray | None) -> list[np.ndarray]:
    field = ids_buf[store]
    if quoted is None:
        return [field]
    q = np.where(quoted, ord('"'), 0).astype(np.uint8)[:, None]
    return [q, field, q]


def _status_chunks(
    polls: Polls,
    order: np.ndarray,
    ids_buf: np.ndarray,
    variants: bool,
    rng_var: np.random.Generator,
    eol: bytes,
    chunk: int = 500_000,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Lines of store_status.csv in chunks (a generator: written as produced)."""
    n = order.shape[0]
    # variant choices for all rows up front (deterministic order)
    if variants:
        u_fmt = rng_var.random(n)
        u_status = rng_var.random(n)
        spell = rng_var.integers(1, len(ACTIVE_SPELLINGS), n)
        off_code = rng_var.integers(0, len(OFFSETS_MIN), n)
        quoted = rng_var.random(n) < 0.05
    for a in range(0, n, chunk):
        idx = order[a : a + chunk]
        m = idx.shape[0]
        us = polls.us[idx]
        prec = polls.precision[idx]
        inactive = polls.inactive[idx]
        if variants:
            uf = u_fmt[a : a + m]
            fmt = np.full(m, TS_REAL, dtype=np.int8)
            # whole-second instants: any spelling, fraction-less
            sec = prec == 2
            fmt[sec] = np.array([TS_REAL, TS_Z, TS_NAIVE, TS_OFFSET, TS_PLUS0])[(uf[sec] * 5).astype(int)]
            # millisecond instants: "…​.388+00:00", an offset, or the real format
            ms = prec == 1
            fmt[ms] = np.array([TS_REAL, TS_PLUS0, TS_OFFSET])[(uf[ms] * 3).astype(int)]
            # microsecond instants: mostly real, a few ISO with offsets
            mu = prec == 0
            fmt[mu] = np.where(uf[mu] < 0.04, TS_PLUS0, np.where(uf[mu] < 0.08, TS_OFFSET, TS_REAL))
            offset_min = np.array(OFFSETS_MIN)[off_code[a : a + m]]
            shift = np.where(fmt == TS_OFFSET, offset_min * 60 * US_PER_S, 0)
            sep = np.where(np.isin(fmt, (TS_REAL, TS_NAIVE)), ord(" "), ord("T")).astype(np.uint8)
            frac = np.where(fmt == TS_REAL, _stripped_frac_len(us), np.where(prec == 1, 3, np.where(prec == 2, 0, 6)))
            suffix_table = [b" UTC", b"Z", b"", b"+00:00"] + [_offset_suffix(o) for o in OFFSETS_MIN]
            suffix_code = np.where(fmt == TS_OFFSET, 4 + off_code[a : a + m], fmt)
            ts = _format_datetimes(us + shift, sep, frac)
            suffix = _table_field(suffix_table, suffix_code)
            odd = u_status[a : a + m] < 0.1
            table = list(ACTIVE_SPELLINGS) + list(INACTIVE_SPELLINGS)
            scode = np.where(inactive, len(ACTIVE_SPELLINGS), 0) + np.where(odd, spell[a : a + m], 0)
            status = _table_field(table, scode)
            id_fields = _id_fields(ids_buf, polls.store[idx], quoted[a : a + m])
        else:
            ts = _format_datetimes(us, np.full(m, ord(" "), dtype=np.uint8), _stripped_frac_len(us))
            suffix = _const(m, b" UTC")
            status = _table_field([b"active", b"inactive"], inactive.astype(np.int64))
            id_fields = _id_fields(ids_buf, polls.store[idx], None)
        fields = [*id_fields, _const(m, b","), status, _const(m, b","), ts, suffix, _const(m, eol)]
        yield _assemble(fields)


def _hours_chunks(
    st: StoreSet, ids_buf: np.ndarray, variants: bool, rng_var: np.random.Generator, eol: bytes
) -> list[tuple[np.ndarray, np.ndarray]]:
    r = st.hours_store.shape[0]
    if r == 0:
        return []
    start = st.hours_start.astype("S8")
    end = st.hours_end.astype("S8")
    quoted = None
    if variants:
        short_s = rng_var.random(r) < 0.3
        short_e = rng_var.random(r) < 0.3
        midnight_spelling = rng_var.integers(0, 4, r)
        quoted = rng_var.random(r) < 0.05
        # end of day: 24:00:00 == 24:00 == 00:00:00 == 00:00 as an end time
        is_midnight = (end == b"24:00:00") | (end == b"00:00:00") | (end == b"24:00") | (end == b"00:00")
        end = np.where(is_midnight, np.array([b"24:00:00", b"24:00", b"00:00:00", b"00:00"])[midnight_spelling], end)
    sbuf = _buf(start).copy()
    ebuf = _buf(end).copy()
    if variants:
        # HH:MM instead of HH:MM:SS where the seconds are :00
        s_ok = short_s & (np.strings.str_len(start) == 8) & np.strings.endswith(start, b":00")
        e_ok = short_e & (np.strings.str_len(end) == 8) & np.strings.endswith(end, b":00")
        sbuf[s_ok, 5:] = 0
        ebuf[e_ok, 5:] = 0
    day = (48 + st.hours_day.astype(np.uint8))[:, None]
    fields = [
        *_id_fields(ids_buf, st.hours_store, quoted),
        _const(r, b","),
        day,
        _const(r, b","),
        sbuf,
        _const(r, b","),
        ebuf,
        _const(r, eol),
    ]
    return [_assemble(fields)]


def _tz_chunks(
    zones: np.ndarray, ids_buf: np.ndarray, variants: bool, rng_var: np.random.Generator, eol: bytes
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    rows = np.flatnonzero(np.strings.str_len(zones) > 0)
    if rows.shape[0] == 0:
        return [], rows
    zbuf = _buf(zones[rows])
    q = None
    if variants:
        quoted = rng_var.random(rows.shape[0]) < 0.05
        zq = np.where(rng_var.random(rows.shape[0]) < 0.05, ord('"'), 0).astype(np.uint8)[:, None]
        zfields = [zq, zbuf, zq]
        q = quoted
    else:
        zfields = [zbuf]
    fields = [*_id_fields(ids_buf, rows, q), _const(rows.shape[0], b","), *zfields, _const(rows.shape[0], eol)]
    return [_assemble(fields)], rows


# --------------------------------------------------------------------------
# bad rows
# --------------------------------------------------------------------------
def _plain_ts(us: int) -> str:
    return datetime.fromtimestamp(us / US_PER_S, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bad_status_rows(k: int, rng: np.random.Generator, ids: np.ndarray, polls: Polls) -> list[bytes]:
    rows = []
    for _ in range(k):
        sid = ids[rng.integers(0, ids.shape[0])].decode()
        us = int(polls.us[rng.integers(0, polls.us.shape[0])]) if polls.us.shape[0] else 0
        ts = _plain_ts(us)
        kind = int(rng.integers(0, 3))
        if kind == 0:  # unknown status
            bad = ["unknown", "up", "down", "activ", "1", "", "open"][int(rng.integers(0, 7))]
            rows.append(f"{sid},{bad},{ts}")
        elif kind == 1:  # unparseable timestamp
            bad = [
                "2023-13-01 10:00:00 UTC",
                "2023-01-22 25:09:39 UTC",
                "2023-02-30 10:00:00 UTC",
                "2023-01-22 12:61:00 UTC",
                "not-a-timestamp",
                "",
            ][int(rng.integers(0, 6))]
            rows.append(f"{sid},active,{bad}")
        else:  # empty store id
            rows.append(f",{['active', 'inactive'][int(rng.integers(0, 2))]},{ts}")
    return [r.encode() for r in rows]


def _bad_hours_rows(k: int, rng: np.random.Generator, ids: np.ndarray) -> list[bytes]:
    rows = []
    for _ in range(k):
        sid = ids[rng.integers(0, ids.shape[0])].decode()
        day = int(rng.integers(0, 7))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # day outside 0..6
            bad_day = ["7", "-1", "10"][int(rng.integers(0, 3))]
            rows.append(f"{sid},{bad_day},09:00:00,17:00:00")
        elif kind == 1:  # bad time
            bad = ["25:00:00", "12:61:00", "12:61", "25:00", "24:30:00", "9am"][int(rng.integers(0, 6))]
            if rng.random() < 0.5:
                rows.append(f"{sid},{day},{bad},17:00:00")
            else:
                rows.append(f"{sid},{day},09:00:00,{bad}")
        else:  # empty store id
            rows.append(f",{day},09:00:00,17:00:00")
    return [r.encode() for r in rows]


def _bad_tz_rows(k: int, rng: np.random.Generator) -> list[bytes]:
    names = [z for z, _ in SYNTH_ZONES]
    return [f",{names[int(rng.integers(0, len(names)))]}".encode() for _ in range(k)]


def _add_duplicates(polls: Polls, count: int, rng: np.random.Generator) -> tuple[Polls, int, int]:
    """Append exact duplicate polls and `active` copies of `inactive` polls.

    Both kinds leave the data unchanged for a loader that dedupes on
    (store_id, instant) and keeps `inactive` on conflict.
    """
    n = polls.us.shape[0]
    if count <= 0 or n == 0:
        return polls, 0, 0
    inactive_rows = np.flatnonzero(polls.inactive)
    n_conf = min(count // 2, inactive_rows.shape[0])
    n_same = count - n_conf
    same = rng.choice(n, n_same, replace=n_same > n)
    conf = rng.choice(inactive_rows, n_conf, replace=False) if n_conf else np.zeros(0, dtype=np.int64)
    src = np.concatenate([same, conf]).astype(np.int64)
    new_status = np.concatenate([polls.inactive[same], np.zeros(n_conf, dtype=bool)])
    return (
        Polls(
            store=np.concatenate([polls.store, polls.store[src]]),
            us=np.concatenate([polls.us, polls.us[src]]),
            inactive=np.concatenate([polls.inactive, new_status]),
            precision=np.concatenate([polls.precision, polls.precision[src]]),
        ),
        n_same,
        n_conf,
    )


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def _to_utc(end: datetime) -> datetime:
    return end.replace(tzinfo=timezone.utc) if end.tzinfo is None else end.astimezone(timezone.utc)


def generate(
    out_dir: Path,
    stores: int | None = None,
    days: float = DEFAULT_DAYS,
    end: datetime = DEFAULT_END,
    real_dir: Path | None = None,
    seed: int = 0,
    variants: bool = False,
    bad_rows: int = 0,
    *,
    drop_hours: float = 0.01,
    drop_zones: float = 0.01,
) -> dict[str, Any]:
    """Write store_status.csv, menu_hours.csv and timezones.csv into out_dir.

    ``stores=None`` means all real stores (with ``real_dir``) or
    DEFAULT_SYNTHETIC_STORES synthetic ones.  ``end`` naive = UTC.
    ``drop_hours`` / ``drop_zones``: share of real stores whose hours rows
    (-> 24x7) / zone row (-> default zone) are dropped.

    Returns counts: rows per file (data lines, header excluded, bad rows
    included), ``polls`` (distinct valid polls), ``duplicate_polls`` /
    ``conflicting_duplicates``, ``bad_rows`` and ``bad_lines`` per file name
    (1-based line numbers, header = line 1), ``unknown_timezones``, etc.
    """
    if days <= 0:
        raise ValueError("days must be positive")
    if bad_rows < 0:
        raise ValueError("bad_rows must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end_utc = _to_utc(end)
    delta = end_utc - datetime(1970, 1, 1, tzinfo=timezone.utc)
    end_us = (delta.days * 86400 + delta.seconds) * US_PER_S + delta.microseconds

    rng_stores = _rng(seed, 1)
    rng_shuffle = _rng(seed, 5)
    rng_var = _rng(seed, 3)
    rng_bad = _rng(seed, 4)

    if real_dir is not None:
        st = _real_stores(Path(real_dir), stores, rng_stores, drop_hours, drop_zones)
    else:
        st = _synthetic_stores(DEFAULT_SYNTHETIC_STORES if stores is None else stores, rng_stores)
    n_stores = st.ids.shape[0]
    log.info("stores=%d hours_rows=%d zones=%d", n_stores, st.hours_store.shape[0], int((st.zones != b"").sum()))

    polls = _generate_polls(n_stores, days, end_us, seed)
    n_valid = polls.us.shape[0]
    inactive_polls = int(polls.inactive.sum())
    first_us, last_us = (int(polls.us.min()), int(polls.us.max())) if n_valid else (end_us, end_us)

    # bad rows: split over the files; duplicates and unknown zones alongside
    k_tz = bad_rows // 6
    k_hours = bad_rows // 3
    k_status = bad_rows - k_tz - k_hours
    n_dup = max(2, bad_rows // 3) if bad_rows > 0 else 0
    polls, dup_same, dup_conf = _add_duplicates(polls, n_dup, rng_bad)
    zones = st.zones.copy()
    n_unknown = 0
    if bad_rows > 0:
        default_like = np.flatnonzero((zones == b"") | (zones == DEFAULT_ZONE.encode()))
        n_unknown = min(max(1, bad_rows // 10), default_like.shape[0])
        chosen = rng_bad.choice(default_like, n_unknown, replace=False)
        width = max(zones.dtype.itemsize, max(len(z) for z in UNKNOWN_ZONES))
        zones = zones.astype(f"S{width}")
        zones[chosen] = np.array([z.encode() for z in UNKNOWN_ZONES])[rng_bad.integers(0, len(UNKNOWN_ZONES), n_unknown)]
    bad_status = _bad_status_rows(k_status, rng_bad, st.ids, polls)
    bad_hours = _bad_hours_rows(k_hours, rng_bad, st.ids)
    bad_tz = _bad_tz_rows(k_tz, rng_bad)

    # shuffle polls (the real file is not sorted)
    order = rng_shuffle.permutation(polls.us.shape[0])
    ids_buf = _buf(st.ids)
    status_eol = b"\r\n" if variants else b"\n"
    hours_eol = b"\n"
    tz_eol = b"\r\n" if variants else b"\n"

    status_chunks = _status_chunks(polls, order, ids_buf, variants, rng_var, status_eol)
    hours_chunks = _hours_chunks(st, ids_buf, variants, rng_var, hours_eol)
    tz_chunks, tz_rows = _tz_chunks(zones, ids_buf, variants, rng_var, tz_eol)

    n_status = polls.us.shape[0]
    n_hours = st.hours_store.shape[0]
    n_tz = tz_rows.shape[0]
    lines_status = _write_lines(
        out_dir / STATUS_FILE,
        b"store_id,status,timestamp_utc",
        status_chunks,
        bad_status,
        rng_bad.integers(0, n_status + 1, len(bad_status)),
        status_eol,
        bom=variants,
    )
    lines_hours = _write_lines(
        out_dir / HOURS_FILE,
        b"store_id,dayOfWeek,start_time_local,end_time_local",
        hours_chunks,
        bad_hours,
        rng_bad.integers(0, n_hours + 1, len(bad_hours)),
        hours_eol,
        bom=variants,
    )
    lines_tz = _write_lines(
        out_dir / TZ_FILE,
        b"store_id,timezone_str",
        tz_chunks,
        bad_tz,
        rng_bad.integers(0, n_tz + 1, len(bad_tz)),
        tz_eol,
        bom=variants,
    )

    has_hours = np.zeros(n_stores, dtype=bool)
    has_hours[st.hours_store] = True

    def iso(us: int) -> str:
        sec, micro = divmod(us, US_PER_S)
        return datetime.fromtimestamp(sec, tz=timezone.utc).replace(microsecond=micro).isoformat()

    return {
        "stores": int(n_stores),
        "store_status_rows": int(n_status + len(bad_status)),
        "menu_hours_rows": int(n_hours + len(bad_hours)),
        "timezones_rows": int(n_tz + len(bad_tz)),
        "polls": int(n_valid),
        "inactive_polls": inactive_polls,
        "duplicate_polls": int(dup_same + dup_conf),
        "conflicting_duplicates": int(dup_conf),
        "bad_rows": {STATUS_FILE: len(bad_status), HOURS_FILE: len(bad_hours), TZ_FILE: len(bad_tz)},
        "bad_lines": {STATUS_FILE: lines_status, HOURS_FILE: lines_hours, TZ_FILE: lines_tz},
        "unknown_timezones": int(n_unknown),
        "stores_without_hours": int((~has_hours).sum()),
        "stores_without_timezone": int((st.zones == b"").sum()),
        "first_poll_utc": iso(first_us),
        "last_poll_utc": iso(last_us),
    }


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
def _parse_end(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if value.upper().endswith(" UTC"):
        value = value[:-4]
    return _to_utc(datetime.fromisoformat(value))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--stores", type=int, default=None, help="number of stores (default: all real / 1000)")
    parser.add_argument("--days", type=float, default=DEFAULT_DAYS, help="days of polls (default 7.75)")
    parser.add_argument("--end", type=_parse_end, default=DEFAULT_END, help="last poll instant, ISO-8601")
    parser.add_argument("--real-dir", type=Path, default=None, help="dir with real menu_hours.csv/timezones.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", action="store_true", help="mix in the other accepted spellings")
    parser.add_argument("--bad-rows", type=int, default=0, help="invalid rows to add over the three files")
    parser.add_argument("--drop-hours", type=float, default=0.01, help="share of real stores made 24x7")
    parser.add_argument("--drop-zones", type=float, default=0.01, help="share of real stores without zone")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    try:
        result = generate(
            args.out,
            args.stores,
            args.days,
            args.end,
            args.real_dir,
            args.seed,
            args.variants,
            args.bad_rows,
            drop_hours=args.drop_hours,
            drop_zones=args.drop_zones,
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.out}: {result['stores']} stores, {result['store_status_rows']} status rows, "
            f"{result['menu_hours_rows']} hours rows, {result['timezones_rows']} zone rows, "
            f"bad={sum(result['bad_rows'].values())} in {elapsed:.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
