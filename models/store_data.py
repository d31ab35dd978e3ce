"""Bulk reads and writes of the store data tables.

Millions of polls go through here, so rows travel as NumPy arrays and DB-API `executemany`
(multi-row INSERTs on PyMySQL) instead of ORM objects; every function runs inside the caller's
transaction so that a load or a report sees all of it or nothing.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ReportInputs:
    """What reports read, from one snapshot; store columns hold integer keys.

    Polls are every poll from `lo_us` on, so the same inputs serve any report whose
    [now − 8 d, now] starts at or after `lo_us` (later polls are ignored by the engine).
    """

    polls: pd.DataFrame  # store, ts_us, active
    hours: pd.DataFrame  # store, day, start_s, end_s
    zones: pd.DataFrame  # store, tz
    stores: pd.DataFrame  # store, store_id, first_poll_us — stores with at least one poll
    latest_us: int | None  # the newest poll in the database
    lo_us: int | None  # polls cover [lo_us, hi_us]
    hi_us: int | None
    data_version: int

    def covers(self, now_us: int, lookback_us: int) -> bool:
        """Whether a report at `now_us` can be computed from these inputs alone."""
        if self.lo_us is None or self.hi_us is None or self.latest_us is None:
            return False
        return now_us - lookback_us >= self.lo_us and (now_us <= self.hi_us or self.hi_us >= self.latest_us)


def read_report_inputs(
    conn: Connection, now_us: int | None, lookback_us: int, store_ids: Sequence[str] | None = None
) -> ReportInputs:
    """Load what a report at `now_us` (default: the newest poll) needs, in a handful of queries.

    Call inside a read transaction so that every query sees the same data.
    """
    version = data_version(conn)
    latest = latest_poll_us(conn)
    now = latest if now_us is None else now_us
    lo = None if now is None else now - lookback_us
    empty = ReportInputs(
        polls=pd.DataFrame({"store": np.array([], np.int64), "ts_us": np.array([], np.int64), "active": np.array([], bool)}),
        hours=pd.DataFrame({"store": [], "day": [], "start_s": [], "end_s": []}, dtype=np.int64),
        zones=pd.DataFrame({"store": np.array([], np.int64), "tz": np.array([], object)}),
        stores=pd.DataFrame({"store": np.array([], np.int64), "store_id": np.array([], object),
                             "first_poll_us": np.array([], np.int64)}),
        latest_us=latest,
        lo_us=lo,
        hi_us=lo,
        data_version=version,
    )
    if lo is None:
        return empty
    key_filter = ""
    if store_ids is not None:
        wanted = store_keys(conn, store_ids)
        if wanted.empty:
            return empty
        key_list = ",".join(str(int(k)) for k in wanted.to_numpy())  # integers from our own table
        key_filter = f" AND key_col IN ({key_list})"
    stores = _fetch_frame(
        conn,
        "SELECT id, store_id, first_poll_us FROM stores WHERE first_poll_us IS NOT NULL"
        + key_filter.replace("key_col", "id"),
        ["store", "store_id", "first_poll_us"],
    )
    # Up to the newest poll, so later reports on the same data can reuse these inputs, but
    # never so far that the packed times overflow (an as_of far in the past).
    hi = min(latest if latest is not None else lo, lo + 2**_TIME_BITS - 1)
    if len(stores) and int(stores["store"].max()) > MAX_PACKED_STORE_KEY:
        raise RuntimeError(f"more than {MAX_PACKED_STORE_KEY} stores: beyond what the packed poll read supports")
    polls = _fetch_polls(conn, lo, hi, key_filter.replace("key_col", "store_key"))
    hours = _fetch_frame(
        conn,
        "SELECT store_key, day, start_s, end_s FROM business_hours WHERE 1=1" + key_filter.replace("key_col", "store_key"),
        ["store", "day", "start_s", "end_s"],
    )
    zones = _fetch_frame(
        conn,
        "SELECT store_key, tz FROM store_timezones WHERE 1=1" + key_filter.replace("key_col", "store_key"),
        ["store", "tz"],
    )
    return ReportInputs(polls, hours, zones, stores, latest_us=latest, lo_us=lo, hi_us=hi, data_version=version)


def _fetch_frame(conn: Connection, sql: str, columns: list[str]) -> pd.DataFrame:
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=columns)


# Polls are the bulk of a report's read. Fetching 1.8M rows costs ~0.75 µs a row in sqlite3 and
# several µs in PyMySQL; instead each poll is packed into one integer (store, time since the
# window start, status) and the database concatenates them into a few long strings, which
# NumPy parses in one pass.
_TIME_BITS = 40  # microseconds since the window start: 2^40 µs ≈ 12.7 days > 8 days
MAX_PACKED_STORE_KEY = 2 ** (63 - _TIME_BITS - 1) - 1  # about 4 million stores


def _fetch_polls(conn: Connection, lo_us: int, hi_us: int, key_filter: str) -> pd.DataFrame:
    """Every poll in [lo_us, hi_us]."""
    packed_expr = f"(store_key * {2 ** (_TIME_BITS + 1)}) + ((ts_us - {int(lo_us)}) * 2) + active"
    where = f"WHERE ts_us >= {int(lo_us)} AND ts_us <= {int(hi_us)}{key_filter}"
    if _is_mysql(conn):
        # GROUP_CONCAT results are capped per row: group by hour to keep each row small.
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 1073741824")
        sql = f"SELECT GROUP_CONCAT({packed_expr}) FROM polls {where} GROUP BY ts_us DIV {3_600_000_000}"
    else:
        sql = f"SELECT group_concat({packed_expr}) FROM polls {where}"
    chunks = [row[0] for row in conn.exec_driver_sql(sql) if row[0]]
    text = ",".join(c.decode() if isinstance(c, (bytes, bytearray)) else c for c in chunks)
    packed = np.fromstring(text, sep=",", dtype=np.int64) if text else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "store": packed >> (_TIME_BITS + 1),
            "ts_us": ((packed >> 1) & ((1 << _TIME_BITS) - 1)) + lo_us,
            "active": (packed & 1).astype(bool),
        }
    )
