"""How polls are stored so that both reads are range scans, and kept so (issue 22).

Reports read polls two ways: every store over a window (the standard report) and one or a few
stores over a range (availability, a Celery shard's stores).

MySQL/MariaDB: the primary key is `(store_key, ts_us)` — one store's range is one range of the
clustered key — and the table is partitioned BY RANGE on `ts_us`, one partition per UTC day
that holds polls (plus today and the next AHEAD_DAYS) and a MAXVALUE catch-all. The fleet read
is a scan of the window's day partitions (store-key ranges of one day a query), retention drops
whole days (`DROP PARTITION`) instead of deleting rows, and a load sorted by (day, store, time)
appends to each day's tree: measured on the 1× fleet, the load costs what the time-first key
cost (2.89 s vs 2.83 s of LOAD DATA), one store's 30 days take 0.5 ms instead of 214 ms and a
quarter of the stores 91 ms instead of 425 ms; a secondary index of either order instead
doubled the load (5.5–6.0 s). The newest poll is no longer the end of a key: it is kept in
`poll_bounds` (one row) by every write; the oldest is MIN(stores.first_poll_us).
Partitions are only made for days with polls (a range partition may span a gap), so sparse
data never makes thousands; partition DDL commits on its own in MySQL, so it runs before a
load's transaction, never inside it.

SQLite keeps the time-first key `(ts_us, store_key)` (the fleet read, the newest poll and
retention are its ranges) and adds a covering index on `(hour, store_key, ts_us, active)`, hour
being `ts_us / 3600000000`: one store's range is one short seek per hour in it, a key range of
stores (a Celery shard) one range per hour. Its entries arrive in about the key's order (polls
are written in time order), so it costs the load what a second tree costs, not random pages.
Measured on this machine (1× fleet, 13,584 stores): one store's 30 days in 3 ms instead of
680–880 ms (31 days of polls); the 7.75-day load 4.6–5.2 s → 6.4–6.6 s, the 10× load 59 → 88 s
(+35–49 %), the file 2× as large. Earlier candidates: a `(store_key, ts_us, active)` index cost the
10× load over five minutes (random pages); a (store, time) key needs the newest poll kept aside
and every statement on polls rewritten.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Iterable

import numpy as np
from sqlalchemy import Connection, Engine, Index

from models.tables import HOURS_INDEX, POLLS_HOUR_EXPR, POLLS_HOUR_INDEX, POLLS_HOUR_US, BusinessHours, Poll


log = logging.getLogger(__name__)

DAY_US = 86_400 * 1_000_000


def is_mysql(conn: Connection) -> bool:
    return conn.dialect.name in ("mysql", "mariadb")

STORE_INDEX = "ix_polls_store_ts"  # SQLite's per-store index of an earlier build of this round
MAX_PARTITION = "pmax"
AHEAD_DAYS = 7  # days after today (service clock) made ahead, for live polls
# A DDL waits for the metadata lock of every open transaction on polls, and queues every new
# one behind it: give up quickly (the rows land in the catch-all and are split later).
DDL_LOCK_WAIT_SECONDS = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _name(bound_day: int) -> str:
    """A partition is named after the UTC day its range ends at (exclusive): p20230125."""
    return "p" + (_EPOCH + timedelta(days=bound_day)).strftime("%Y%m%d")


def partition_bounds(conn: Connection) -> list[int] | None:
    """The finite upper bounds (µs) of the polls partitions in order; None when not partitioned."""
    rows = conn.exec_driver_sql(
        "SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'polls' ORDER BY PARTITION_ORDINAL_POSITION"
    ).all()
    if not rows or rows[0][0] is None:
        return None
    return [int(bound) for _, bound in rows if str(bound).upper() != "MAXVALUE"]


def ensure_layout(conn: Connection) -> list[str]:
    """Bring polls to this layout in place (new, or made by an earlier version); returns what was done.

    Both: the covering index of business hours (a shard reads its stores' hours from it).
    SQLite: the hour index (built from the polls already stored: 12 s for 7.2M polls, 49 s for
    18M). MySQL: the (store, time) key, the day partitions of the polls already stored (the table
    is copied once: about as long as loading them again) and the newest-poll row. Idempotent: a
    database already in this layout is left alone.
    """
    done: list[str] = []
    if HOURS_INDEX not in _index_names(conn, "business_hours"):
        _model_index(BusinessHours, HOURS_INDEX).create(conn)
        done.append(f"index {HOURS_INDEX}")
    indexes = set(_index_names(conn))
    if not is_mysql(conn):
        if STORE_INDEX in indexes:  # made by a build of this round: it cost loads too much
            conn.exec_driver_sql(f"DROP INDEX {STORE_INDEX}")
            done.append(f"dropped index {STORE_INDEX}")
        if POLLS_HOUR_INDEX not in indexes:
            log.warning("polls: building the per-store index %s", POLLS_HOUR_INDEX)
            _model_index(Poll, POLLS_HOUR_INDEX).create(conn)
            done.append(f"index {POLLS_HOUR_INDEX}")
        return done
    if STORE_INDEX in indexes:  # not in this layout (a database of a build that made it)
        conn.exec_driver_sql(f"DROP INDEX {STORE_INDEX} ON polls")
        done.append(f"dropped index {STORE_INDEX}")
    key = [row[0] for row in conn.exec_driver_sql(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = 'polls' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX").all()]
    bounds = partition_bounds(conn)
    if key != ["store_key", "ts_us"] or bounds is None:
        days = [int(d) for d in conn.exec_driver_sql(f"SELECT DISTINCT ts_us DIV {DAY_US} FROM polls").scalars()]
        new_bounds = bounds if bounds is not None else _bounds_for_days(days)
        log.warning("polls: keyed by (store, time) and partitioned by day (%d partitions)", len(new_bounds) + 1)
        rekey = "DROP PRIMARY KEY, ADD PRIMARY KEY (store_key, ts_us)" if key != ["store_key", "ts_us"] else ""
        partitioning = f"PARTITION BY RANGE (ts_us) ({_definitions(new_bounds)})"
        conn.exec_driver_sql(f"ALTER TABLE polls {rekey} {partitioning}")
        done.append(f"key (store_key, ts_us), {len(new_bounds) + 1} partitions")
    if conn.exec_driver_sql("SELECT COUNT(*) FROM poll_bounds").scalar() == 0:
        conn.exec_driver_sql("INSERT INTO poll_bounds (id, latest_us) SELECT 1, MAX(ts_us) FROM polls")
        done.append("poll_bounds")
    return done


def _index_names(conn: Connection, table: str = "polls") -> list[str]:
    """The table's index names from the catalog (SQLite's too: SQLAlchemy skips an index on an
    expression)."""
    if is_mysql(conn):
        return list(conn.exec_driver_sql(
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,)).scalars())
    return [row[1] for row in conn.exec_driver_sql(f"PRAGMA index_list({table})").all()]


def _model_index(model: type, name: str) -> Index:
    """The index `name` as the model declares it: made from there, never written twice."""
    return next(index for index in model.__table__.indexes if index.name == name)


def _bounds_for_days(days: Iterable[int]) -> list[int]:
    """Day boundaries (µs) around every given day number: each day of polls is its own partition."""
    marks: set[int] = set()
    for day in days:
        marks.update((day, day + 1))
    return sorted(m * DAY_US for m in marks)


def _definitions(bounds: list[int], last: str = MAX_PARTITION, last_bound: int | None = None) -> str:
    parts = [f"PARTITION {_name(b // DAY_US)} VALUES LESS THAN ({b})" for b in bounds]
    parts.append(f"PARTITION {last} VALUES LESS THAN ({'MAXVALUE' if last_bound is None else last_bound})")
    return ", ".join(parts)


def days_of(ts_us: np.ndarray) -> np.ndarray:
    """The distinct UTC day numbers of these instants, in one counting pass (no sort)."""
    if len(ts_us) == 0:
        return np.zeros(0, dtype=np.int64)
    day = ts_us // DAY_US
    first = int(day.min())
    return np.flatnonzero(np.bincount(day - first)) + first


def prepare_days(engine: Engine, days: Iterable[int] = (), now_us: int | None = None) -> int:
    """MySQL: make the partitions of these UTC days and of today + AHEAD_DAYS, before a load or
    live polls write them (outside any transaction: partition DDL commits). SQLite: nothing.
    Returns the number of partitions added (0 when all exist or the lock was not had in time)."""
    if engine.dialect.name not in ("mysql", "mariadb"):
        return 0
    today = (int(time.time() * 1e6) if now_us is None else now_us) // DAY_US
    wanted = set(int(d) for d in days) | set(range(today, today + AHEAD_DAYS + 1))
    with engine.connect() as conn:
        bounds = partition_bounds(conn)
        if bounds is None:
            return 0
        have = set(bounds)
        missing = [b for b in _bounds_for_days(wanted) if b not in have]
        if not missing:
            return 0
        conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {DDL_LOCK_WAIT_SECONDS}")
        try:
            added = _split(conn, bounds, missing)
        except Exception as exc:  # a lock not had in time: the rows land in a wider partition
            log.warning("polls: could not add day partitions now (%s); trying again later", exc)
            return 0
        finally:
            conn.exec_driver_sql("SET SESSION lock_wait_timeout = DEFAULT")
    log.info("polls: %d day partitions added", added)
    return added


def _split(conn: Connection, bounds: list[int], missing: list[int]) -> int:
    """Split the partitions that contain the missing bounds (normally the empty catch-all, or
    the lowest partition for older data), one REORGANIZE each; rows in them move along."""
    added = 0
    groups: dict[int | None, list[int]] = {}
    for bound in missing:
        above = next((b for b in bounds if b > bound), None)  # the partition holding it ends there
        groups.setdefault(above, []).append(bound)
    for upper, new in groups.items():
        if upper is None:
            old, last, last_bound = MAX_PARTITION, MAX_PARTITION, None
        else:
            old = last = _name(upper // DAY_US)
            last_bound = upper
        conn.exec_driver_sql(
            f"ALTER TABLE polls REORGANIZE PARTITION {old} INTO ({_definitions(sorted(new), last, last_bound)})"
        )
        added += len(new)
    return added


def drop_days_before(engine: Engine, cutoff_us: int) -> int | None:
    """MySQL: drop every partition whose polls are all before `cutoff_us` (retention); returns
    the highest dropped bound (every poll below it is gone), or None when nothing was dropped."""
    if engine.dialect.name not in ("mysql", "mariadb"):
        return None
    with engine.connect() as conn:
        old = [b for b in (partition_bounds(conn) or []) if b <= cutoff_us]
        if not old:
            return None
        conn.exec_driver_sql(f"SET SESSION lock_wait_timeout = {DDL_LOCK_WAIT_SECONDS}")
        try:
            conn.exec_driver_sql(
                f"ALTER TABLE polls DROP PARTITION {', '.join(_name(b // DAY_US) for b in old)}")
        except Exception as exc:
            log.warning("retention: could not drop old day partitions now (%s); deleting rows instead", exc)
            return None
        finally:
            conn.exec_driver_sql("SET SESSION lock_wait_timeout = DEFAULT")
    log.info("retention: dropped %d day partitions of polls (before %s)", len(old), _name(old[-1] // DAY_US)[1:])
    return old[-1]


def store_read(conn: Connection, lo_us: int, hi_us: int) -> tuple[str, str]:
    """The table source and extra condition of a read of given stores' polls in [lo_us, hi_us]
    through a per-store key, each named: MySQL's planner may otherwise scan partitions for a long
    list of stores, SQLite's the window of its time key. MySQL: the (store, time) primary key.
    SQLite: the hour index, one seek per hour, so the condition lists the hours (one more on each
    side: SQLite's division truncates where Python's floors, for instants before 1970)."""
    if is_mysql(conn):
        return "polls FORCE INDEX (PRIMARY)", ""
    hours = ",".join(str(h) for h in range(lo_us // POLLS_HOUR_US - 1, hi_us // POLLS_HOUR_US + 2))
    return f"polls INDEXED BY {POLLS_HOUR_INDEX}", f" AND {POLLS_HOUR_EXPR} IN ({hours})"


# -- the newest poll (MySQL) -------------------------------------------------------------------
# With the (store, time) key MAX(ts_us) scans the newest day's partition (265 ms for the 1×
# fleet's 1.8M polls); every write that adds polls raises one row instead, in its own
# transaction, so a reader's snapshot sees the bound of the polls it sees.

def note_written(conn: Connection, newest_us: int) -> None:
    """MySQL: polls up to `newest_us` were just written in this transaction (a load, a live
    batch). SQLite: nothing (MAX(ts_us) is the end of its time-first key)."""
    if is_mysql(conn):
        conn.exec_driver_sql(
            "INSERT INTO poll_bounds (id, latest_us) VALUES (1, %s) "
            "ON DUPLICATE KEY UPDATE latest_us = GREATEST(COALESCE(latest_us, VALUES(latest_us)), VALUES(latest_us))",
            (int(newest_us),),
        )


def newest_poll_us(conn: Connection) -> int | None:
    """The newest poll's instant: the bound row (MySQL) or the end of the key (SQLite)."""
    if is_mysql(conn):
        value = conn.exec_driver_sql("SELECT latest_us FROM poll_bounds WHERE id = 1").scalar()
    else:
        value = conn.exec_driver_sql("SELECT MAX(ts_us) FROM polls").scalar()
    return None if value is None else int(value)


def oldest_poll_us(conn: Connection) -> int | None:
    """The oldest poll's instant: the earliest first poll of a store (MySQL, an index end;
    stores.first_poll_us is kept true by every write and by retention) or the key's start."""
    sql = ("SELECT MIN(first_poll_us) FROM stores" if is_mysql(conn) else "SELECT MIN(ts_us) FROM polls")
    value = conn.exec_driver_sql(sql).scalar()
    return None if value is None else int(value)


def recompute_newest(conn: Connection) -> None:
    """MySQL: after polls were deleted at the newest end (a half-written line undone), set the
    bound from the polls themselves, newest day partition first."""
    if not is_mysql(conn):
        return
    bound = newest_poll_us(conn)
    found = None
    while bound is not None:
        day_start = bound // DAY_US * DAY_US
        found = conn.exec_driver_sql(
            "SELECT MAX(ts_us) FROM polls WHERE ts_us >= %s AND ts_us <= %s", (day_start, bound)).scalar()
        if found is not None:
            break
        older = conn.exec_driver_sql("SELECT MAX(first_poll_us) FROM stores WHERE first_poll_us < %s",
                                     (day_start,)).scalar()
        bound = None if older is None else day_start - 1
    conn.exec_driver_sql("UPDATE poll_bounds SET latest_us = %s WHERE id = 1", (found,))
