"""Committing live polls: one transaction per batch (models/live_polls.py), then the wake-up of the
alert evaluator and the metric, for `POST /polls` and the broker consumer alike.

A batch whose polls are all duplicates is rolled back instead of committed: it changed nothing,
so it must not take a batch number either (the data version would move and every report cache
would miss for nothing, e.g. when a consumer is redelivered a batch it had already committed).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import replace
from datetime import datetime

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models.base import datetime_to_micros
from models.db import DEADLOCK_ATTEMPTS, is_deadlock
from models.live_polls import LiveBatchWritten, StoreKeys, write_live_polls
from services.live import batch_log
from services.live.signals import polls_committed
from services.metrics import POLLS_INGESTED

log = logging.getLogger(__name__)


def commit_polls(engine: Engine, store_ids: np.ndarray, ts_us: np.ndarray, active: np.ndarray,
                 received: datetime) -> LiveBatchWritten:
    """Write valid polls in one transaction (retried when InnoDB picks it as a deadlock victim,
    which a CSV load writing the same instants can cause); notify followers after the commit."""
    if len(store_ids) == 0:
        return LiveBatchWritten(seq=0, accepted=0, duplicates=0)
    received_us = datetime_to_micros(received)
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            written = _write_once(engine, store_ids, ts_us, active, received_us)
            break
        except DBAPIError as exc:
            if not is_deadlock(exc) or attempt == DEADLOCK_ATTEMPTS:
                raise
            log.info("live batch of %d polls was a deadlock victim (attempt %d): running it again",
                     len(store_ids), attempt)
            time.sleep(0.01 * attempt)
    if written.accepted:
        polls_committed.notify()
        POLLS_INGESTED.inc(written.accepted)
    return written


def _write_once(engine: Engine, store_ids: np.ndarray, ts_us: np.ndarray, active: np.ndarray,
                received_us: int) -> LiveBatchWritten:
    known = _store_keys_of(engine)
    # SQLite: BEGIN IMMEDIATE takes the write lock up front (as models.db.write_tx does).
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        tx = conn.begin()
        try:
            written = write_live_polls(conn, store_ids, ts_us, active, received_us, known)
        except BaseException:
            tx.rollback()
            raise
        if written.accepted:
            tx.commit()
            known.remember(written.new_stores)
            batches = batch_log.of(engine)
            if batches is not None and written.arrivals is not None:
                batches.record(written.seq, *written.arrivals, received_us)
            return written
        tx.rollback()  # nothing changed: no batch number used, no data version moved
        return replace(written, seq=0)


_known_stores: "weakref.WeakKeyDictionary[Engine, StoreKeys]" = weakref.WeakKeyDictionary()
_known_lock = threading.Lock()


def _store_keys_of(engine: Engine) -> StoreKeys:
    """The store keys this process knows for the database behind `engine` (one cache per engine:
    an engine names one database for its whole life)."""
    with _known_lock:
        known = _known_stores.get(engine)
        if known is None:
            known = _known_stores[engine] = StoreKeys()
        return known

