"""Bulk reads and writes of the store data tables.

Millions of polls go through here, so rows travel as NumPy arrays instead of ORM objects; every
function runs inside the caller's transaction so that a report sees one state of the data.
The loader's writes are in `models.store_writes`.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from models import poll_layout
from models.live_tables import LiveSequence
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


def values_sql(*columns: np.ndarray | list[Any]) -> str:
    """Integer columns as the rows of a VALUES list, `(a,b,c),(…)`, for statements that carry a
    whole batch (no per-row round trip, no per-value driver escaping: ~0.25 ms for 1,000 rows of
    three, where executemany's escaping took ~5 ms). Integers and the literal NULL only, never
    input text: a NumPy array is rendered from its integers (booleans as 0/1), a list as given."""
    lists = [c.astype(np.int64).tolist() if isinstance(c, np.ndarray) else c for c in columns]
    row = "(" + ",".join(["%s"] * len(lists)) + ")"
    return ",".join([row % values for values in zip(*lists)])


def is_mysql(conn: Connection) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")


def store_keys(conn: Connection, store_ids: Iterable[str] | None = None) -> pd.Series:
    """store_id → key for all stores (or just the given ids that exist)."""
    if store_ids is not None:
        # Given ids (availability, a report shard) are looked up by the unique index, a chunk at a
        # time, never by reading every store (at 10× the fleet 135k rows cost PyMySQL a second).
        store_ids = list(store_ids)
        wanted_ids = sorted(set(store_ids))
        rows = [row for first in range(0, len(wanted_ids), IDS_PER_QUERY) for row in conn.execute(
            select(Store.store_id, Store.id).where(Store.store_id.in_(wanted_ids[first:first + IDS_PER_QUERY]))
        ).all()]
    else:
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


IDS_PER_QUERY = 2_000  # store ids bound in one IN (…) list


def count_polls(conn: Connection, lo_us: int | None = None, hi_us: int | None = None) -> int:
    """Polls in [lo_us, hi_us] (all of them by default): a range count on the time-first key."""
    if lo_us is None or hi_us is None:
        return int(conn.execute(select(func.count()).select_from(Poll)).scalar_one())
    return int(conn.execute(
        select(func.count()).select_from(Poll).where(Poll.ts_us >= int(lo_us), Poll.ts_us <= int(hi_us))
    ).scalar_one())


def data_version(conn: Connection) -> int:
    """A report cache key naming one state of the data: the id of the last load that changed it
    plus the number of live batches committed (SPEC 10). Both only grow, so the sum does too:
    a new load or a new live batch always gives a new version, and a cache never serves stale data."""
    return last_changed_load(conn) + live_version(conn)


def last_changed_load(conn: Connection) -> int:
    """Id of the last load that changed data (0 before any)."""
    version = conn.execute(select(func.max(DataLoad.id)).where(DataLoad.changed.is_(True))).scalar()
    return int(version or 0)


def live_version(conn: Connection) -> int:
    """The number of the last committed live batch (live_sequence row 1), 0 before any."""
    value = conn.execute(select(LiveSequence.value).where(LiveSequence.id == 1)).scalar()
    return int(value or 0)


def latest_poll_us(conn: Connection) -> int | None:
    """The newest poll (models/poll_layout.py: the end of SQLite's key, MySQL's bound row)."""
    return poll_layout.newest_poll_us(conn)


def earliest_poll_us(conn: Connection) -> int | None:
    """The oldest poll: with the newest, the data's own date range (shown in the page's header)."""
    return poll_layout.oldest_poll_us(conn)
