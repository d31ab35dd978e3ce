"""Integer packings: (store code, time[, status]) as one sortable int64, and back.

Why: sorting, de-duplicating and `searchsorted` over one int64 column is far cheaper than over
two or three columns. Measured on this machine (2 M polls of 13,584 stores over 8 days):
`np.lexsort((time, code))` 1.14 s, `np.argsort` of the packed key 0.29 s, `np.sort` of it in
place 0.16 s (7×). The polls read from the database travel the same way, one integer per poll:
`models/report_inputs.py` packs it in SQL (one number to parse per poll instead of three) and
decodes it with `StoreTimeKey.unpack`.

Pure NumPy, no database: kept beside the models because the storage reads decode with it too,
and the report engine (services/reports) packs with it.

Layout of a key, high bits to low: `code − base` | `time − lo` in `time_bits` bits | the status
bit when `flag` (1 = active, so within one (store, instant) inactive sorts first). Units: `time`
is whatever the caller uses (epoch or relative µs); only differences from `lo` are stored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEY_BITS = 63  # the value bits of an int64: keys stay non-negative


@dataclass(frozen=True)
class StoreTimeKey:
    """One packing: `lo` is the time origin, `time_bits` the width of `time − lo`, `base` the
    first store code of the block (codes beyond `code_bits` are handled in blocks by the caller),
    `flag` whether a status bit follows."""

    lo: int
    time_bits: int
    base: int = 0
    flag: bool = False

    @classmethod
    def for_span(cls, lo: int, hi: int, *, base: int = 0, flag: bool = False) -> StoreTimeKey:
        """The narrowest packing for times in [lo, hi]."""
        return cls(int(lo), int(hi - lo).bit_length(), int(base), flag)

    @property
    def code_bits(self) -> int:
        """Bits left for `code − base`; < 1 when the span itself does not fit."""
        return KEY_BITS - self.time_bits - int(self.flag)

    def fits(self, top_code: int) -> bool:
        """Whether codes up to `top_code` (≥ base) pack without overflow."""
        return self.code_bits >= 1 and (int(top_code) - self.base) >> self.code_bits == 0

    def pack(self, code: np.ndarray, time: np.ndarray | int, active: np.ndarray | None = None) -> np.ndarray:
        """New int64 keys (a scalar `time` is broadcast)."""
        key = (np.asarray(code).astype(np.int64) - self.base) << self.time_bits
        key += np.asarray(time, dtype=np.int64) - self.lo
        if self.flag:
            key <<= 1
            if active is not None:
                key |= np.asarray(active, dtype=np.int64)
        return key

    def pack_into(self, out: np.ndarray, code: np.ndarray, time: np.ndarray, active: np.ndarray | None = None) -> None:
        """`pack`, written into `out` with in-place operations only: the engine packs millions of
        polls a million at a time, so its temporaries stay a few MB the allocator reuses."""
        out[...] = code
        out -= self.base
        out <<= self.time_bits
        out += time
        out -= self.lo
        if self.flag:
            out <<= 1
            if active is not None:
                out |= active

    def unflagged(self, key: np.ndarray) -> np.ndarray:
        """The (code, time) part of flagged keys, comparable with the same packing without flag."""
        return key >> 1 if self.flag else key

    def without_flag(self) -> StoreTimeKey:
        return StoreTimeKey(self.lo, self.time_bits, self.base, False)

    def code(self, key: np.ndarray) -> np.ndarray:
        return (key >> (self.time_bits + int(self.flag))) + self.base

    def time(self, key: np.ndarray) -> np.ndarray:
        return ((key >> int(self.flag)) & ((1 << self.time_bits) - 1)) + self.lo

    def active(self, key: np.ndarray) -> np.ndarray:
        if not self.flag:
            raise ValueError("this packing carries no status bit")
        return (key & 1).astype(bool)

    def unpack(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(code, time, active or None): the inverse of `pack`."""
        return self.code(key), self.time(key), self.active(key) if self.flag else None
