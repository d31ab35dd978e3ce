"""The live batches this process committed, handed to the evaluator of the same process in memory.

The evaluator folds in every batch by number from `poll_arrivals`; reading back the rows this very
process has just written was 15 % of the service's CPU at 18,000 polls/s on MySQL (py-spy, the
`live` benchmark), pymysql decoding each value in Python. A batch's arrivals are exactly the rows
its transaction wrote, so the writer keeps a copy after its commit and the evaluator takes the
batches it finds here, reading from the database only the numbers it lacks (written by another
process, or not recorded yet by a writer thread between its commit and its `record`).

Only for engines whose evaluator runs in this process (`enable`), bounded in batches, and dropped
whole when the evaluator's cursor goes back (the database was emptied or replaced under the same
URL: its batch numbers start again).
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
import pandas as pd
from sqlalchemy import Engine

MAX_BATCHES = 2_000  # ~50 MB at 1,000 polls a batch; an evaluator that falls behind reads the rest


class BatchLog:
    """seq → (store keys, instants, active, received_us) of batches committed by this process."""

    def __init__(self, max_batches: int = MAX_BATCHES) -> None:
        self._batches: OrderedDict[int, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_batches
        self._applied = 0  # the highest batch the evaluator has said it applied

    def record(self, seq: int, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray, received_us: int) -> None:
        with self._lock:
            self._batches[int(seq)] = (keys, ts_us, active, int(received_us))
            while len(self._batches) > self._max:
                self._batches.popitem(last=False)

    def take(self, after_seq: int, upto_seq: int) -> dict[int, pd.DataFrame]:
        """The batches (after_seq, upto_seq] held here, as arrival frames (store, ts_us, active,
        received_us) by number. Batches up to after_seq are forgotten (the evaluator has applied
        them); so is everything when after_seq is below what it applied before."""
        with self._lock:
            if after_seq < self._applied:
                self._batches.clear()
            self._applied = after_seq
            for seq in [s for s in self._batches if s <= after_seq]:
                del self._batches[seq]
            held = {seq: batch for seq, batch in self._batches.items() if seq <= upto_seq}
        return {seq: pd.DataFrame({"store": keys.astype(np.int64, copy=False),
                                   "ts_us": ts_us.astype(np.int64, copy=False),
                                   "active": active.astype(bool, copy=False),
                                   "received_us": np.full(len(keys), received_us, dtype=np.int64)})
                for seq, (keys, ts_us, active, received_us) in sorted(held.items())}


_logs: "weakref.WeakKeyDictionary[Engine, BatchLog]" = weakref.WeakKeyDictionary()
_logs_lock = threading.Lock()


def enable(engine: Engine) -> BatchLog:
    """Keep the batches committed through `engine` (the evaluator of this process reads them)."""
    with _logs_lock:
        log = _logs.get(engine)
        if log is None:
            log = _logs[engine] = BatchLog()
        return log


def disable(engine: Engine) -> None:
    with _logs_lock:
        _logs.pop(engine, None)


def of(engine: Engine) -> BatchLog | None:
    """The log of `engine`, None when no evaluator of this process follows it."""
    return _logs.get(engine)
