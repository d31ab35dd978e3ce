"""Reports before live writes, within one process (issue 19: a report while polls stream in stays
within 1.5× of a quiet one).

A report computes in a thread of the API process, beside the threads that take `POST /polls` and
the live evaluator. They share one interpreter lock: at full ingest speed on MySQL the live work
held it most of the time and a 0.5 s report took 1.7 s (3.4×, the `live` benchmark). While a
report computes here, live work therefore runs one batch (or evaluator pass) at a time and pauses
after each so that it takes at most `share` of the wall time: a batch that took 40 ms with share
0.25 is followed by 120 ms in which the report runs alone. Nothing is lost or refused: requests
wait (the sender sees the back-pressure as latency) and the evaluator's passes gather more
batches each. With no report running, live work is not gated at all.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

DEFAULT_SHARE = 0.25


class ReportPriority:
    def __init__(self, share: float = DEFAULT_SHARE) -> None:
        self.share = share
        self._reports = 0
        self._count_lock = threading.Lock()
        self._turn = threading.Lock()  # live work, one piece at a time while a report runs
        self._next_start = 0.0  # time.monotonic() before which live work waits

    def configure(self, share: float) -> None:
        """The share of wall time live work keeps while reports run (1 = not gated)."""
        self.share = min(1.0, max(0.01, float(share)))

    @property
    def reports_running(self) -> int:
        return self._reports

    @contextmanager
    def report(self) -> Iterator[None]:
        """Around a report's computation in this process."""
        with self._count_lock:
            self._reports += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._reports -= 1

    @contextmanager
    def live_work(self) -> Iterator[None]:
        """Around one live batch or evaluator pass: waits its turn while a report runs."""
        if self._reports == 0 or self.share >= 1.0:
            yield
            return
        with self._turn:
            wait = self._next_start - time.monotonic()
            if wait > 0 and self._reports:
                time.sleep(wait)
            started = time.monotonic()
            try:
                yield
            finally:
                spent = time.monotonic() - started
                self._next_start = time.monotonic() + spent * (1.0 / self.share - 1.0)


# One per process, like the interpreter lock it apportions.
report_priority = ReportPriority()
