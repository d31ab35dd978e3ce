"""Bulk reads and writes of the store data tables.

Millions of polls go through here, so rows travel as NumPy arrays and DB-API `executemany`
(multi-row INSERTs on PyMySQL) instead of ORM objects; every function runs inside the caller's
transaction so that a load or a report sees all of it or nothing.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from models.tables import DataLoad, Store

log = logging.getLogger(__name__)

INSERT_CHUNK = 250_000


def _placeholders(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def _executemany(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _is_mysql(conn: Connection) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")


def store_keys(conn: Connection, store_ids: Iterable[str] | None = None) -> pd.Series:
    """store_id → key for all stores (or just the given ids that exist)."""
    rows = conn.execute(select(Store.store_id, Store.id)).all()
    mapping = pd.Series(
        np.array([r[1] for r in rows], dtype=np.int64),
        index=pd.Index([r[0] for r in rows], dtype=object),
        dtype=np.int64,
    )
    if store_ids is None:
        return mapping
    wanted = pd.Index(pd.unique(np.asarray(list(store_ids), dtype=object)))
    return mapping[mapping.index.intersection(wanted)]


def ensure_stores(conn: Connection, store_ids: np.ndarray) -> pd.Series:
    """Keys for every given store_id, inserting the stores not seen before."""
    mapping = store_keys(conn)
    unique_ids = pd.unique(store_ids)
    new_ids = unique_ids[~pd.Index(unique_ids).isin(mapping.index)]
    if len(new_ids):
        sql = f"INSERT INTO stores (store_id) VALUES ({_placeholders(conn, 1)})"
        _executemany(conn, sql, ((sid,) for sid in new_ids.tolist()))
        mapping = store_keys(conn)
    return mapping


def insert_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> int:
    """Add polls; the same (store, instant) twice keeps `inactive` if either side says so.

    Returns how many polls were new.
    """
    if len(keys) == 0:
        return 0
    # Primary-key order (appends to the B-tree), inactive first within an instant so that
    # keeping the first of each (instant, store) applies the inactive-wins rule.
    order = np.lexsort((active, keys, ts_us))
    keys, ts_us, active = keys[order], ts_us[order], active[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = (keys[1:] != keys[:-1]) | (ts_us[1:] != ts_us[:-1])
    keys, ts_us, active = keys[first], ts_us[first], active[first]
    before = count_polls(conn, int(ts_us[0]), int(ts_us[-1]))
    if _is_mysql(conn) and before == 0:
        # Nothing stored in this time range, so nothing can conflict: the bulk path is safe.
        _load_data_mysql(conn, keys, ts_us, active)
    else:
        _upsert_polls(conn, keys, ts_us, active)
    return count_polls(conn, int(ts_us[0]), int(ts_us[-1])) - before


def _upsert_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    marks = _placeholders(conn, 3)
    if _is_mysql(conn):
        sql = (
            f"INSERT INTO polls (ts_us, store_key, active) VALUES ({marks}) "
            "ON DUPLICATE KEY UPDATE active = LEAST(active, VALUES(active))"
        )
    else:
        sql = (
            f"INSERT INTO polls (ts_us, store_key, active) VALUES ({marks}) "
            "ON CONFLICT (ts_us, store_key) DO UPDATE SET active = excluded.active "
            "WHERE excluded.active < polls.active"
        )
    t, k, a = ts_us.tolist(), keys.tolist(), active.astype(np.int8).tolist()
    for start in range(0, len(k), INSERT_CHUNK):
        stop = start + INSERT_CHUNK
        _executemany(conn, sql, zip(t[start:stop], k[start:stop], a[start:stop]))
        log.info("polls written: %d/%d", min(stop, len(k)), len(k))


# MySQL bulk path: LOAD DATA LOCAL INFILE straight into polls. Each row travels as one integer,
# (µs since the chunk's base << 23) | (store key << 1) | active, because formatting one number per
# row is what keeps the client side cheap; the server unpacks it with SET expressions.
_STAGE_KEY_BITS = 22
_STAGE_SPAN_US = 2 ** (62 - _STAGE_KEY_BITS - 1)


def _load_data_mysql(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    if int(keys.max()) >= 2**_STAGE_KEY_BITS:
        raise ValueError("store keys beyond 2^22 are not supported by the bulk loader")
    chunk = (ts_us - ts_us[0]) // _STAGE_SPAN_US
    starts = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]])
    bounds = [*starts.tolist(), len(ts_us)]
    key_mask = 2**_STAGE_KEY_BITS - 1
    with tempfile.TemporaryDirectory(prefix="store-monitor-") as folder:
        path = Path(folder) / "polls.txt"
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            base = int(ts_us[lo])
            packed = ((ts_us[lo:hi] - base) << (_STAGE_KEY_BITS + 1)) | (keys[lo:hi] << 1) | active[lo:hi].astype(np.int64)
            path.write_text("\n".join(map(str, packed.tolist())))
            conn.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path.as_posix()}' INTO TABLE polls LINES TERMINATED BY '\\n' (@p) "
                f"SET ts_us = {base} + (@p >> {_STAGE_KEY_BITS + 1}), store_key = (@p >> 1) & {key_mask}, "
                "active = @p & 1"
            )
            log.info("polls written: %d/%d", hi, len(ts_us))


def count_polls(conn: Connection, lo_us: int | None = None, hi_us: int | None = None) -> int:
    """Polls in [lo_us, hi_us] (all of them by default): a range count on the time-first key."""
    if lo_us is None or hi_us is None:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM polls").scalar_one())
    return int(conn.exec_driver_sql(
        f"SELECT COUNT(*) FROM polls WHERE ts_us >= {int(lo_us)} AND ts_us <= {int(hi_us)}"
    ).scalar_one())


def update_first_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray) -> None:
    """Keep stores.first_poll_us = the store's earliest poll, given newly added polls."""
    if len(keys) == 0:
        return
    firsts = pd.Series(ts_us).groupby(keys).min()
    rows = zip(firsts.index.tolist(), firsts.to_numpy().tolist())
    if _is_mysql(conn):
        # PyMySQL sends an UPDATE per row; a batched INSERT into a temporary table and one
        # joined UPDATE cost two round trips instead of thousands.
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS first_polls (store_key INT, ts_us BIGINT)")
        conn.exec_driver_sql("DELETE FROM first_polls")
        _executemany(conn, "INSERT INTO first_polls (store_key, ts_us) VALUES (%s, %s)", rows)
        conn.exec_driver_sql(
            "UPDATE stores s JOIN first_polls f ON f.store_key = s.id SET s.first_poll_us = f.ts_us "
            "WHERE s.first_poll_us IS NULL OR s.first_poll_us > f.ts_us"
        )
        conn.exec_driver_sql("DROP TEMPORARY TABLE first_polls")
        return
    _executemany(
        conn,
        "UPDATE stores SET first_poll_us = ?2 WHERE id = ?1 AND (first_poll_us IS NULL OR first_poll_us > ?2)",
        rows,
    )


def replace_hours(conn: Connection, keys: np.ndarray, day: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> None:
    conn.exec_driver_sql("DELETE FROM business_hours")
    if len(keys):
        sql = f"INSERT INTO business_hours (store_key, day, start_s, end_s) VALUES ({_placeholders(conn, 4)})"
        _executemany(conn, sql, zip(keys.tolist(), day.tolist(), start_s.tolist(), end_s.tolist()))


def replace_timezones(conn: Connection, keys: np.ndarray, tz: np.ndarray) -> None:
    conn.exec_driver_sql("DELETE FROM store_timezones")
    if len(keys):
        sql = f"INSERT INTO store_timezones (store_key, tz) VALUES ({_placeholders(conn, 2)})"
        _executemany(conn, sql, zip(keys.tolist(), tz.tolist()))


def data_version(conn: Connection) -> int:
    """Id of the last load that changed the data (0 before any): a report cache key."""
    version = conn.execute(select(func.max(DataLoad.id)).where(DataLoad.changed.is_(True))).scalar()
    return int(version or 0)


def latest_poll_us(conn: Connection) -> int | None:
    value = conn.exec_driver_sql("SELECT MAX(ts_us) FROM polls").scalar()
    return None if value is None else int(value)


def earliest_poll_us(conn: Connection) -> int | None:
    """The oldest poll: with the newest, the data's own date range (shown in the page's header)."""
    value = conn.exec_driver_sql("SELECT MIN(ts_us) FROM polls").scalar()
    return None if value is None else int(value)
