"""The service's background loops (CSV reload, lease sweep, schedules, webhook deliveries) as one
kind of thread: a tick, then a wait, until stopped; no tick's error ever ends the thread."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


class Periodic:
    """Calls `tick` in a daemon thread named `name`, then waits `interval` seconds (or until
    `wake` is set, when given, but never less than `min_gap` seconds after a tick began), until `stop`.
    A tick that returns False ends the loop."""

    def __init__(self, name: str, tick: Callable[[], object], interval: Callable[[], float],
                 wake: threading.Event | None = None, min_gap: float = 0.0) -> None:
        self.name = name
        self._min_gap = min_gap
        self._tick = tick
        self._interval = interval
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._wake is not None:
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self._tick() is False:
                    return
            except DBAPIError as exc:  # the database is down or busy: the next tick tries again
                log.error("%s: database error: %s", self.name, exc.orig)
            except Exception:  # a service thread must outlive whatever one pass hits
                log.exception("%s: unexpected error", self.name)
            if self._wake is None:
                self._stop.wait(self._interval())
                continue
            self._wake.wait(self._interval())
            self._wake.clear()
            gap = self._min_gap - (time.monotonic() - started)
            if gap > 0 and self._stop.wait(gap):  # woken too soon after the last tick
                return
