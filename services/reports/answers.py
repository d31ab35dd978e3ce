"""The last answers of one store's availability, each valid for the data version it was read at.

A dashboard asks for the same store and range again and again. An answer is a pure function of
the data version (polls, hours, zones, closures and live batches: each change makes a new one,
and a range without `to` ends at the newest poll, which only moves with it), the store, the range
and the caller; checking the version is one small query where recomputing costs 25-40 ms, about
two thirds of it pandas' fixed cost per frame (measured on the 1× and 10× fleets, issue 22).
Keyed by the caller too: a tenant's answers never warm another tenant's requests, so the time of
a 404 still tells nobody that another owner's store exists or was looked at (SPEC 8).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

Answer = dict[str, Any]


class AnswerCache:
    """A least-recently-used map of (caller, store, range) → (data version, answer). Answers are
    shared, not copied: callers only serialise them."""

    def __init__(self, capacity: int = 1024) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[int, Answer]] = OrderedDict()

    def get(self, key: Hashable, version: int) -> Answer | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != version:
                del self._entries[key]  # the data moved on: it will never be asked for again
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: int, answer: Answer) -> None:
        with self._lock:
            self._entries[key] = (version, answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
