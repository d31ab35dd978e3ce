"""Bulk reads and writes of the store data tables.

Millions of polls go through here, so rows travel as NumPy arrays instead of ORM objects; every
function runs inside the caller's transaction so that a report sees one state of the data.
The loader's writes are in `models.store_writes`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from models.tables import DataLoad, Poll, Store

log = logging.getLogger(__name__)

def placeholders(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def executemany(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def is_mysql(conn: Connection) -> bool:
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


def count_polls(conn: Connection, lo_us: int | None = None, hi_us: int | None = None) -> int:
    """Polls in [lo_us, hi_us] (all of them by default): a range count on the time-first key."""
    if lo_us is None or hi_us is None:
        return int(conn.execute(select(func.count()).select_from(Poll)).scalar_one())
    return int(conn.execute(
        select(func.count()).select_from(Poll).where(Poll.ts_us >= int(lo_us), Poll.ts_us <= int(hi_us))
    ).scalar_one())


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
    keys: list[int] = []
    if store_ids is not None:
        wanted = store_keys(conn, store_ids)
        if wanted.empty:
            return empty
        keys = [int(k) for k in wanted.to_numpy()]

    def only_keys(column: str) -> tuple[str, list[int]]:
        """A bound `column IN (...)` filter for the wanted stores (none: all stores)."""
        return (f" AND {column} IN ({placeholders(conn, len(keys))})", keys) if keys else ("", [])

    key_sql, key_params = only_keys("id")
    stores = _fetch_frame(
        conn, "SELECT id, store_id, first_poll_us FROM stores WHERE first_poll_us IS NOT NULL" + key_sql,
        key_params, ["store", "store_id", "first_poll_us"],
    )
    # Up to the newest poll, so later reports on the same data can reuse these inputs, but
    # never so far that the packed times overflow (an as_of far in the past).
    hi = min(latest if latest is not None else lo, lo + 2**_TIME_BITS - 1)
    if len(stores) and int(stores["store"].max()) > MAX_PACKED_STORE_KEY:
        raise RuntimeError(f"more than {MAX_PACKED_STORE_KEY} stores: beyond what the packed poll read supports")
    key_sql, key_params = only_keys("store_key")
    polls = _fetch_polls(conn, lo, hi, key_sql, key_params)
    hours = _fetch_frame(
        conn, "SELECT store_key, day, start_s, end_s FROM business_hours WHERE 1=1" + key_sql, key_params,
        ["store", "day", "start_s", "end_s"],
    )
    zones = _fetch_frame(conn, "SELECT store_key, tz FROM store_timezones WHERE 1=1" + key_sql, key_params, ["store", "tz"])
    return ReportInputs(polls, hours, zones, stores, latest_us=latest, lo_us=lo, hi_us=hi, data_version=version)


def _fetch_frame(conn: Connection, sql: str, params: list[int], columns: list[str]) -> pd.DataFrame:
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
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


def _fetch_polls(conn: Connection, lo_us: int, hi_us: int, key_sql: str, key_params: list[int]) -> pd.DataFrame:
    """Every poll in [lo_us, hi_us]."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    packed_expr = f"(store_key * {mark}) + ((ts_us - {mark}) * 2) + active"
    where = f"WHERE ts_us >= {mark} AND ts_us <= {mark}{key_sql}"
    params = [2 ** (_TIME_BITS + 1), int(lo_us), int(lo_us), int(hi_us), *key_params]
    if is_mysql(conn):
        # GROUP_CONCAT results are capped per row: group by hour to keep each row small.
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 1073741824")
        sql = f"SELECT GROUP_CONCAT({packed_expr}) FROM polls {where} GROUP BY ts_us DIV 3600000000"
    else:
        sql = f"SELECT group_concat({packed_expr}) FROM polls {where}"
    chunks = [row[0] for row in conn.exec_driver_sql(sql, tuple(params)) if row[0]]
    text = ",".join(c.decode() if isinstance(c, (bytes, bytearray)) else c for c in chunks)
    packed = np.fromstring(text, sep=",", dtype=np.int64) if text else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "store": packed >> (_TIME_BITS + 1),
            "ts_us": ((packed >> 1) & ((1 << _TIME_BITS) - 1)) + lo_us,
            "active": (packed & 1).astype(bool),
        }
    )
