"""Process-local wake-ups between the live writers and the live evaluator (SPEC 10).

A live write (`POST /polls`, the broker consumer) calls `polls_committed.notify()` after its
transaction commits, so the alert evaluator of the same process runs at once instead of at its
next tick; batches written by other processes are found by the evaluator's own polling of the
database. `transitions_recorded` wakes the `GET /events` streams of this process the same way.
"""
from __future__ import annotations

import threading


class Notifier:
    """A level-triggered wake-up: `notify()` sets it, `wait()` returns True once it is set (or
    False after `timeout`) and clears it, so a notify between two waits is never lost."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        fired = self._event.wait(timeout)
        self._event.clear()
        return fired

    @property
    def event(self) -> threading.Event:
        """The underlying event (services.periodic.Periodic waits on one)."""
        return self._event


polls_committed = Notifier()
