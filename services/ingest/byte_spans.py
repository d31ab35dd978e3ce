"""A column left in the bytes of the file: a value per row as a (start, length) span.

Making a Python string of each of millions of values is most of what reading a column costs
(the timestamps are all distinct; a fleet's store ids are 135k distinct values whose hashing
misses the cache on every row). Spans are read with NumPy instead, a few megabytes at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

_CHUNK = 65_536  # rows per pass: their bytes stay in the CPU cache
_HASHED_WIDTH = 64  # longer values are factorized as strings
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class ByteSpans:
    data: np.ndarray  # the bytes read, uint8
    starts: np.ndarray
    lengths: np.ndarray

    def strings(self, rows: np.ndarray) -> np.ndarray:
        """The values of some rows as strings (those a message quotes)."""
        return np.array([self.data[s : s + n].tobytes().decode("utf-8")
                         for s, n in zip(self.starts[rows].tolist(), self.lengths[rows].tolist())], dtype=object)

    def rows_of_bytes(self, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
        """The values at `starts` as rows of `width` bytes, zeros after each value's end."""
        out = np.empty((len(starts), width), dtype=np.uint8)
        limit = len(self.data) - width
        if limit >= 0:
            out[:] = np.lib.stride_tricks.sliding_window_view(self.data, width)[np.minimum(starts, limit)]
        for i in np.flatnonzero(starts > limit).tolist():  # values in the data's last `width` bytes
            tail = self.data[starts[i] : starts[i] + width]
            out[i] = 0
            out[i, : len(tail)] = tail
        out &= _prefixes(width)[np.minimum(lengths, width)]
        return out

    def factorize(self) -> tuple[np.ndarray, np.ndarray]:
        """What `pandas.factorize` gives for the values as strings: a code per row, in order of
        first appearance, and the distinct values.

        Rows are grouped by a 64-bit hash of their bytes, and every row is then compared with
        the first row of its group, so a collision can never merge two values (then, or for
        values longer than 64 bytes, the strings are factorized instead).
        """
        n = len(self.starts)
        width = -(-int(self.lengths.max(initial=0)) // 8) * 8
        if n == 0 or width == 0 or width > _HASHED_WIDTH:
            return pd.factorize(self.strings(np.arange(n)))
        words = self._words(width)
        hashes = self.lengths.astype(np.uint64)
        for column in range(words.shape[1]):
            hashes ^= words[:, column]
            hashes *= _MULTIPLIER
            hashes ^= hashes >> np.uint64(29)
        codes, _ = pd.factorize(hashes)
        # pandas numbers groups in order of first appearance: a row is its group's first where the
        # running maximum of the codes grows.
        running = np.maximum.accumulate(codes)
        first = np.flatnonzero(np.r_[True, running[1:] > running[:-1]])
        representatives = words[first]
        for lo in range(0, n, _CHUNK):
            if not (words[lo : lo + _CHUNK] == representatives[codes[lo : lo + _CHUNK]]).all():
                return pd.factorize(self.strings(np.arange(n)))  # a hash collision: the slow, sure way
        raw = representatives.view(f"S{width}").ravel()  # (no NUL in the values: none is cut short)
        try:
            return codes, raw.astype(f"U{width}").astype(object)
        except UnicodeDecodeError:
            return codes, self.strings(first)

    def _words(self, width: int) -> np.ndarray:
        """Every value's bytes as `width` / 8 integers, zeros after its end."""
        n = len(self.starts)
        words = np.empty((n, width // 8), dtype=np.uint64)
        for lo in range(0, n, _CHUNK):
            rows = self.rows_of_bytes(self.starts[lo : lo + _CHUNK], self.lengths[lo : lo + _CHUNK], width)
            words[lo : lo + _CHUNK] = rows.view(np.uint64)
        return words


@lru_cache(maxsize=8)
def _prefixes(width: int) -> np.ndarray:
    """Row `length` keeps the first `length` of `width` bytes (0xFF) and clears the rest."""
    return np.where(np.arange(width)[None, :] < np.arange(width + 1)[:, None], 0xFF, 0).astype(np.uint8)
