"""The lock that lets only one load run at a time, across threads and processes.

On MySQL it is a named server lock (GET_LOCK), held on a dedicated connection. SQLite lives in
one file on one machine, so an advisory lock on a file beside the database does the same.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

LOCK_NAME = "store_monitor_load"
LOCK_TIMEOUT_SECONDS = 600

_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


class LockTimeout(RuntimeError):
    pass


def _thread_lock(key: str) -> threading.Lock:
    with _guard:
        return _thread_locks.setdefault(key, threading.Lock())


@contextmanager
def load_lock(engine: Engine, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    key = engine.url.render_as_string(hide_password=False)
    local = _thread_lock(key)
    if not local.acquire(timeout=timeout):
        raise LockTimeout("another load is still running in this process")
    try:
        if engine.dialect.name == "sqlite":
            with _sqlite_file_lock(engine, timeout):
                yield
        elif engine.dialect.name in ("mysql", "mariadb"):
            with _mysql_named_lock(engine, timeout):
                yield
        else:
            yield
    finally:
        local.release()


@contextmanager
def _sqlite_file_lock(engine: Engine, timeout: float) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: the in-process lock and SQLite's own locking remain
        yield
        return
    import time

    lock_path = Path(database).with_name(Path(database).name + ".load-lock")
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout("another process is loading data") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _mysql_named_lock(engine: Engine, timeout: float) -> Iterator[None]:
    with engine.connect() as conn:
        # Named locks are server-wide: include the database so separate databases do not block.
        name = f"{LOCK_NAME}:{engine.url.database}"[:64]
        got = conn.execute(text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": int(timeout)}).scalar()
        conn.commit()
        if got != 1:
            raise LockTimeout("another process is loading data")
        try:
            yield
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            conn.commit()
