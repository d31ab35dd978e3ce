"""Who holds report work: a per-process owner id and the heartbeat that keeps its leases alive.

A lease is an expiry time in the task row. The heartbeat extends, in one UPDATE, every lease the
process holds; a process that dies stops extending them, and once they expire any other process
may take the work over (see `ReportRunner.sweep`).
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models import report_tasks

log = logging.getLogger(__name__)


def now_us() -> int:
    return time.time_ns() // 1000


class Leases:
    """The leases of this process. Forked children (Celery's prefork pool) get their own owner id
    and their own heartbeat thread, started on first use."""

    def __init__(self, engine: Engine, lease_seconds: int) -> None:
        """SPEC 6: a dead holder's work must run again within JOB_LEASE_SECONDS (L). A lease
        lasts 2L/3 and is renewed every L/6, and every process sweeps every L/6 (`sweep_interval`):
        work is taken over at most L/6 + 2L/3 ≤ 5L/6 after its holder's last heartbeat."""
        self.engine = engine
        self.lease_us = lease_seconds * 2_000_000 // 3
        self.interval = max(lease_seconds / 6.0, 0.1)
        self._pid: int | None = None
        self._owner = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @property
    def owner(self) -> str:
        self._ensure_started()
        return self._owner

    @property
    def sweep_interval(self) -> float:
        return self.interval

    def until(self) -> int:
        """The expiry of a lease taken now."""
        return now_us() + self.lease_us

    def _ensure_started(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid == pid:
                return
            self._owner = f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"[:128]
            self._stop = threading.Event()
            threading.Thread(target=self._beat, args=(self._owner, self._stop), name="lease-heartbeat",
                             daemon=True).start()
            self._pid = pid

    def _beat(self, owner: str, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                report_tasks.renew(self.engine, owner, now_us(), self.lease_us)
            except DBAPIError as exc:  # the leases run out; others take the work over
                log.warning("lease heartbeat of %s failed: %s", owner, exc.orig)

    def stop(self) -> None:
        self._stop.set()
