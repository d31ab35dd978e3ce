"""Is a store open now, since when, and when does that change? For every store at once.

Business time (hours minus closures, SPEC 2.2 and 9, zones and DST as the reports convert them)
is computed by services/reports/hours.business_intervals for the whole fleet over a span around
the current UTC day, and cached until the hours and zones (a load), the closures or the day
change: a status request or an evaluator pass is then a vectorised `searchsorted`, never a
computation per store.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from models import live_queries, store_data
from models.closures import read_closures
from models.packing import StoreTimeKey
from services.reports.hours import DAY_US, business_intervals

log = logging.getLogger(__name__)

SPAN_BEFORE_US = 8 * DAY_US  # how far back a "closed since" can be found
SPAN_AFTER_US = 2 * DAY_US  # how far ahead the next opening can be found
_TIME_BITS = 41  # 2^41 µs > the span: (store code, open − lo) packed in one sortable integer


@dataclass(frozen=True)
class Position:
    """Per queried store: open now or not, and the instants around now (-1 = none in the span)."""

    is_open: np.ndarray  # bool
    opened_us: np.ndarray  # start of the current business interval (-1 if closed or open all span)
    closed_us: np.ndarray  # end of the last business interval (-1 if open or none in the span)
    next_change_us: np.ndarray  # the next opening or closing (-1 if none in the span)


@dataclass(frozen=True)
class BusinessTime:
    """Business intervals of every store over [anchor − 8 d, anchor + 2 d), absolute µs."""

    keys: pd.Index  # store keys; a store's code is its position here
    packed_open: np.ndarray  # StoreTimeKey(lo_us, _TIME_BITS) of (code, open), sorted
    open_us: np.ndarray
    close_us: np.ndarray
    code: np.ndarray
    lo_us: int
    hi_us: int

    def position(self, store_keys: np.ndarray, now_us: int) -> Position:
        store_keys = np.asarray(store_keys, dtype=np.int64)
        count = len(store_keys)
        codes = self.keys.get_indexer(store_keys)
        known = codes >= 0
        # A store created after this was built has no hours and no closure yet (loading either
        # rebuilds it): open all the time, like any store without hours rows (SPEC 2.2).
        is_open = ~known
        opened = np.full(count, -1, dtype=np.int64)
        closed = np.full(count, -1, dtype=np.int64)
        next_change = np.full(count, -1, dtype=np.int64)
        if len(self.code) == 0 or not known.any():
            return Position(is_open, opened, closed, next_change)
        query = StoreTimeKey(self.lo_us, _TIME_BITS).pack(np.where(known, codes, 0), now_us)
        at = np.searchsorted(self.packed_open, query, side="right") - 1
        valid = known & (at >= 0)
        at_c = np.clip(at, 0, len(self.code) - 1)
        same = valid & (self.code[at_c] == codes)
        inside = same & (self.close_us[at_c] > now_us)
        is_open[inside] = True
        # An interval that starts at the span's start: the store has been open all along.
        opened[inside] = np.where(self.open_us[at_c][inside] > self.lo_us, self.open_us[at_c][inside], -1)
        ends = self.close_us[at_c]
        next_change[inside] = np.where(ends[inside] < self.hi_us, ends[inside], -1)
        after_close = same & ~inside
        closed[after_close] = ends[after_close]
        following = np.clip(at + 1, 0, len(self.code) - 1)
        has_next = known & ~inside & (at + 1 < len(self.code)) & (self.code[following] == codes)
        next_change[has_next] = self.open_us[following][has_next]
        return Position(is_open, opened, closed, next_change)


class BusinessTimeCache:
    """The fleet's business time, rebuilt when hours, zones or closures (a changed load, a closure
    added or removed) or the UTC day change (thread safe); stores added since are open all the time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, ...] | None = None
        self._value: BusinessTime | None = None

    def get(self, conn: Connection, now_us: int) -> BusinessTime:
        anchor = now_us - now_us % DAY_US
        key = (store_data.last_changed_load(conn), *live_queries.closures_signature(conn), anchor)
        with self._lock:
            if self._key == key and self._value is not None:
                return self._value
        value = build_business_time(conn, anchor)
        with self._lock:
            self._key, self._value = key, value
        return value


def build_business_time(conn: Connection, anchor_us: int) -> BusinessTime:
    """Business intervals of every store around `anchor_us` (a UTC midnight)."""
    started = time.perf_counter()
    hours, zones, keys = live_queries.read_schedule(conn)
    lo, hi = anchor_us - SPAN_BEFORE_US, anchor_us + SPAN_AFTER_US
    closures = read_closures(conn, lo, hi)
    closures = pd.DataFrame({"store": closures["store_key"].to_numpy(dtype=np.int64),
                             "start_us": closures["start_us"].to_numpy(dtype=np.int64),
                             "end_us": closures["end_us"].to_numpy(dtype=np.int64)})
    opens, closes, codes = business_intervals(keys, hours, zones, anchor_us, lo - anchor_us, hi - anchor_us,
                                              closures=closures)
    opens = opens + anchor_us
    closes = closes + anchor_us
    order = np.lexsort((opens, codes))
    opens, closes, codes = opens[order], closes[order], codes[order].astype(np.int64)
    log.debug("business time of %d stores built in %.3fs", len(keys), time.perf_counter() - started)
    return BusinessTime(keys, StoreTimeKey(lo, _TIME_BITS).pack(codes, opens), opens, closes, codes, lo, hi)
