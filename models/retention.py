"""Pruning old polls in small batches (POLL_RETENTION_DAYS), keeping stores.first_poll_us true.

Each batch is one short write transaction over a range of the time-first primary key, so a
report reading its snapshot meanwhile sees the polls before or after a batch, and a load waits
at most for one batch. Within the batch the first poll of every store that had polls in the
deleted range is recomputed, so first_poll_us is correct at every commit.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, text

from models.db import write_tx
from models import poll_layout
from models.store_data import earliest_poll_us, executemany, is_mysql, latest_poll_us

log = logging.getLogger(__name__)

PRUNE_BATCH_ROWS = 50_000
# The first window searched for a store's new first poll; it doubles until every store is found.
FIRST_WINDOW_US = 2 * 3600 * 1_000_000
DAY_US = 86_400 * 1_000_000


def retention_cutoff(conn: Connection, days: int) -> int | None:
    """Polls before this instant (µs) are older than `days` before the newest poll."""
    newest = latest_poll_us(conn)
    return None if newest is None or days <= 0 else newest - days * DAY_US


def prune_batch(conn: Connection, cutoff_us: int, batch_rows: int = PRUNE_BATCH_ROWS) -> int:
    """Delete up to about `batch_rows` of the oldest polls before `cutoff_us`; how many were deleted.

    The batch ends at an instant boundary (all polls of one instant go together), found by
    stepping over the primary key, so the DELETE is one range of the key.
    """
    bound = conn.execute(
        text("SELECT ts_us FROM polls WHERE ts_us < :cutoff ORDER BY ts_us LIMIT 1 OFFSET :skip"),
        {"cutoff": int(cutoff_us), "skip": int(batch_rows)},
    ).scalar()
    upper = int(cutoff_us) if bound is None else int(bound)
    if bound is not None and upper == conn.execute(text("SELECT MIN(ts_us) FROM polls")).scalar():
        upper += 1  # one instant holds more than a batch: take it whole
    deleted = conn.execute(text("DELETE FROM polls WHERE ts_us < :upper"), {"upper": upper}).rowcount
    _refresh_first_polls(conn, upper)
    return int(deleted or 0)


def _refresh_first_polls(conn: Connection, upper_us: int, lo_key: int | None = None, hi_key: int | None = None) -> None:
    """Stores whose first poll was before `upper_us` (keys in [lo_key, hi_key) when given) get
    their earliest remaining poll (or NULL)."""
    keys = "" if lo_key is None else f" AND id >= {int(lo_key)} AND id < {int(hi_key or 0)}"
    pending = np.array(
        conn.execute(text("SELECT id FROM stores WHERE first_poll_us < :upper" + keys),
                     {"upper": upper_us}).scalars().all(),
        dtype=np.int64,
    )
    if len(pending) == 0:
        return
    newest = latest_poll_us(conn)
    found: list[pd.Series] = []
    lo, width = upper_us, FIRST_WINDOW_US
    # Widening windows over the time-first key: most stores poll hourly, so the first window
    # finds nearly all of them without scanning the history that follows.
    while len(pending) and newest is not None and lo <= newest:
        hi = lo + width
        rows = conn.execute(
            text("SELECT store_key, MIN(ts_us) FROM polls WHERE ts_us >= :lo AND ts_us < :hi"
                 + keys.replace("id", "store_key") + " GROUP BY store_key"),
            {"lo": lo, "hi": hi},
        ).all()
        if rows:
            firsts = pd.Series([r[1] for r in rows], index=[r[0] for r in rows], dtype=np.int64)
            firsts = firsts[firsts.index.isin(pending)]
            found.append(firsts)
            pending = pending[~np.isin(pending, firsts.index.to_numpy())]
        lo, width = hi, width * 2
    updates = pd.concat(found) if found else pd.Series([], dtype=np.int64)
    _set_first_polls(conn, updates, pending)


def _set_first_polls(conn: Connection, firsts: pd.Series, emptied: np.ndarray) -> None:
    if len(emptied):
        conn.execute(
            text("UPDATE stores SET first_poll_us = NULL WHERE id IN :keys").bindparams(bindparam("keys", expanding=True)),
            {"keys": emptied.tolist()},
        )
    if len(firsts) == 0:
        return
    rows = list(zip(firsts.to_numpy().tolist(), firsts.index.tolist()))
    if not is_mysql(conn):
        executemany(conn, "UPDATE stores SET first_poll_us = ? WHERE id = ?", rows)
        return
    # PyMySQL sends an UPDATE per row; one batched INSERT and a joined UPDATE are two round trips.
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS pruned_firsts (ts_us BIGINT, store_key INT)")
    conn.exec_driver_sql("DELETE FROM pruned_firsts")
    executemany(conn, "INSERT INTO pruned_firsts (ts_us, store_key) VALUES (%s, %s)", rows)
    conn.exec_driver_sql("UPDATE stores s JOIN pruned_firsts f ON f.store_key = s.id SET s.first_poll_us = f.ts_us")
    conn.exec_driver_sql("DROP TEMPORARY TABLE pruned_firsts")


def prune_polls(engine: Engine, days: int, batch_rows: int = PRUNE_BATCH_ROWS) -> int:
    """Delete polls older than `days` before the newest poll (0: keep all); how many were deleted."""
    if days <= 0:
        return 0
    with engine.connect() as conn:  # the usual case, nothing old enough: no write transaction
        cutoff = retention_cutoff(conn, days)
        oldest = earliest_poll_us(conn)
    if cutoff is None or oldest is None or int(oldest) >= cutoff:
        return 0
    total = _drop_old_days(engine, cutoff)
    while True:
        with write_tx(engine) as conn:
            cutoff = retention_cutoff(conn, days)
            if cutoff is not None and is_mysql(conn):
                deleted = _prune_edge_batch(conn, cutoff, batch_rows)
                if deleted is None:
                    break
                total += deleted
                continue
            deleted = 0 if cutoff is None else prune_batch(conn, cutoff, batch_rows)
        total += deleted
        if deleted == 0:
            break
        log.info("retention: pruned %d polls so far (older than %d days before the newest poll)", total, days)
    return total


def _drop_old_days(engine: Engine, cutoff_us: int) -> int:
    """MySQL: whole day partitions before the cutoff go at once (models/poll_layout.py), then the
    first polls of their stores are recomputed; returns how many polls they held."""
    if engine.dialect.name not in ("mysql", "mariadb"):
        return 0
    with engine.connect() as conn:
        bounds = [b for b in (poll_layout.partition_bounds(conn) or []) if b <= cutoff_us]
        if not bounds:
            return 0
        held = int(conn.exec_driver_sql("SELECT COUNT(*) FROM polls WHERE ts_us < %s", (bounds[-1],)).scalar())
    dropped = poll_layout.drop_days_before(engine, cutoff_us)
    if dropped is None:
        return 0
    with write_tx(engine) as conn:
        _refresh_first_polls(conn, dropped)
    return held


def _prune_edge_batch(conn: Connection, cutoff_us: int, batch_rows: int) -> int | None:
    """MySQL: delete the polls before the cutoff left in the oldest partition (part of a day), a
    range of store keys a batch: the (store, time) key makes each store's old polls one range.
    Returns how many were deleted, None when no store has a poll before the cutoff any more."""
    oldest = earliest_poll_us(conn)
    if oldest is None or oldest >= cutoff_us:
        return None
    first = conn.exec_driver_sql("SELECT MIN(id) FROM stores WHERE first_poll_us < %s", (cutoff_us,)).scalar()
    if first is None:
        return None
    days = max(1, (cutoff_us - oldest) // DAY_US + 1)
    span = max(1, batch_rows // (24 * days))  # stores poll about hourly
    deleted = conn.exec_driver_sql(
        "DELETE FROM polls WHERE store_key >= %s AND store_key < %s AND ts_us < %s",
        (int(first), int(first) + span, cutoff_us)).rowcount
    _refresh_first_polls(conn, cutoff_us, int(first), int(first) + span)
    return int(deleted or 0)
