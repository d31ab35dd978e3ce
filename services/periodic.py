"""The service's background loops (CSV reload, lease sweep, schedules, webhook deliveries) as one
kind of thread: a tick, then a wait, until stopped; no tick's error ever ends the thread."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


class Periodic:
    """Calls `tick` in a daemon thread named `name`, then waits `interval` seconds (or until
    `wake` is set, when given), until `stop`. A tick that returns False ends the loop."""

    def __init__(self, name: str, tick: Callable[[], object], interval: Callable[[], float],
                 wake: threading.Event | None = None) -> None:
        self.name = name
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
            try:
                if self._tick() is False:
                    return
            except DBAPIError as exc:  # the database is down or busy: the next tick tries again
                log.error("%s: database error: %s", self.name, exc.orig)
            except Exception:  # a service thread must outlive whatever one pass hits
                log.exception("%s: unexpected error", self.name)
            if self._wake is None:
                self._stop.wait(self._interval())
            else:
                self._wake.wait(self._interval())
                self._wake.clear()
