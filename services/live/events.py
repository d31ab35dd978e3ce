"""`GET /events` (SPEC 10): a Server-Sent Events stream of store status transitions.

The stream follows the `store_transitions` log in the database by id, so it shows transitions
raised by any process; the evaluator of this process wakes it at once, and it reads the log every
POLL_SECONDS for the others. Each event is `event: store.<status>` with the transition as JSON and
its log id as `id:`, so a browser's EventSource that reconnects (`Last-Event-ID`) misses nothing
still in the log. A comment line every HEARTBEAT_SECONDS keeps proxies from closing an idle stream
and lets the server notice a client that left. Each open stream holds a server thread: at most
EVENT_STREAMS_MAX at once per process, and a stream ends after MAX_STREAM_SECONDS (the browser
reconnects by itself).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models import live_queries
from models.db import read_tx
from models.live_state import STATUS_NAMES
from services.access.principal import Principal, require
from services.errors import Unavailable
from services.live.evaluator import transitions_signal
from services.live.timefmt import iso_z

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 5.0
MAX_STREAM_SECONDS = 300.0
RETRY_MS = 2000  # how long a browser waits before reconnecting
STREAM_ACTION = "availability"


class StreamSlots:
    """How many streams this process has open; refuses beyond its limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self, limit: int) -> bool:
        with self._lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


slots = StreamSlots()


def _frame(row: tuple) -> str:
    transition_id, store_id, status, at, since, last = row
    name = STATUS_NAMES.get(int(status), "unknown")
    data = {"store_id": store_id, "status": name, "at": iso_z(at), "since": iso_z(since) if since is not None else None,
            "last_poll": iso_z(last) if last is not None else None}
    return f"id: {transition_id}\nevent: store.{name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def open_stream(engine: Engine, principal: Principal, last_event_id: str | None, max_streams: int, *,
                poll_seconds: float = POLL_SECONDS, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                max_seconds: float = MAX_STREAM_SECONDS) -> Iterator[str]:
    """The stream's text, frame by frame; Unavailable (503) when every slot is taken. The slot is
    taken here, before the response starts, and given back when the iterator is closed."""
    require(principal, STREAM_ACTION)
    store_ids = sorted(principal.store_ids or ()) if principal.is_owner else None
    start: int | None = None
    if last_event_id is not None and last_event_id.strip().isdigit():
        start = int(last_event_id.strip())
    if start is None:
        with read_tx(engine) as conn:
            start = live_queries.last_transition_id(conn)
    if not slots.take(max_streams):
        raise Unavailable(f"too many open event streams (at most {max_streams}); try again shortly")
    return _stream(engine, store_ids, start, poll_seconds, heartbeat_seconds, max_seconds)


def _stream(engine: Engine, store_ids: list[str] | None, after: int, poll_seconds: float,
            heartbeat_seconds: float, max_seconds: float) -> Iterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        started = last_sent = time.monotonic()
        generation = transitions_signal.generation
        while time.monotonic() - started < max_seconds:
            if store_ids is not None and not store_ids:
                rows: list[tuple] = []
            else:
                try:
                    with read_tx(engine) as conn:
                        rows = live_queries.read_transitions(conn, after, store_ids)
                except DBAPIError as exc:
                    log.warning("event stream: database error (%s); the stream ends, the client reconnects", exc.orig)
                    return
            for row in rows:
                yield _frame(row)
                after = int(row[0])
                last_sent = time.monotonic()
            if rows and len(rows) >= 500:
                continue  # more waiting in the log
            if time.monotonic() - last_sent >= heartbeat_seconds:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            generation = transitions_signal.wait(generation, poll_seconds)
    finally:
        slots.give_back()
