"""Vectorised text building: numbers, dates and ids into byte rows without a Python loop per row."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from datagen.settings import US_PER_DAY, US_PER_S


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
