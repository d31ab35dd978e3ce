"""Bulk writes of the store data tables, for the loader.

Millions of polls go through here, so rows travel as NumPy arrays and DB-API `executemany`
(multi-row INSERTs on PyMySQL), or MySQL's LOAD DATA, instead of ORM objects; every function
runs inside the caller's transaction so that a load is seen whole or not at all.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select, update

from models import poll_layout
from models import live_polls
from models.store_data import executemany, is_mysql, placeholders, count_polls, store_keys
from models.tables import Poll, Store

log = logging.getLogger(__name__)

INSERT_CHUNK = 250_000


def ensure_stores(conn: Connection, store_ids: np.ndarray) -> pd.Series:
    """Keys for every given store_id, inserting the stores not seen before."""
    mapping = store_keys(conn)
    unique_ids = pd.unique(store_ids)
    new_ids = unique_ids[~pd.Index(unique_ids).isin(mapping.index)]
    if len(new_ids):
        rows = ((sid,) for sid in new_ids.tolist())
        if is_mysql(conn):
            _load_data_rows(conn, "stores", ("store_id",), rows)
        else:
            executemany(conn, f"INSERT INTO stores (store_id) VALUES ({placeholders(conn, 1)})", rows)
        mapping = store_keys(conn)
        unseen = new_ids[~pd.Index(new_ids).isin(mapping.index)]
        if len(unseen):
            # MySQL: a live write (SPEC 10) committed this store after the load's snapshot, so
            # LOAD DATA LOCAL skipped it as a duplicate; a locking read sees its key.
            found = live_polls.read_store_keys(conn, unseen.tolist(), locking=True)
            mapping = pd.concat([mapping, pd.Series(found, dtype=np.int64)])
    return mapping


def insert_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> int:
    """Add polls; the same (store, instant) twice keeps `inactive` if either side says so.

    Returns how many polls were new.
    """
    if len(keys) == 0:
        return 0
    keys, ts_us, active = _sorted_by_key(keys, ts_us, active)
    first = np.ones(len(keys), dtype=bool)
    first[1:] = (keys[1:] != keys[:-1]) | (ts_us[1:] != ts_us[:-1])
    keys, ts_us, active = keys[first], ts_us[first], active[first]
    before = count_polls(conn, int(ts_us[0]), int(ts_us[-1]))
    poll_layout.note_written(conn, int(ts_us[-1]))
    if is_mysql(conn) and before == 0 and _range_empty_locked(conn, keys, int(ts_us[0]), int(ts_us[-1])):
        # Nothing stored in this time range, so nothing can conflict: the bulk path is safe.
        # In (day, store, time) order: each day partition's (store, time) key is appended to.
        _load_data_mysql(conn, *_day_store_order(keys, ts_us, active))
    elif is_mysql(conn) or int(keys.max()) >= 2**_STAGE_KEY_BITS:
        _upsert_polls(conn, keys, ts_us, active)
    else:
        _upsert_polls_sqlite(conn, keys, ts_us, active)
    if before == 0:
        return len(keys)  # nothing stored in the range before: every (deduplicated) poll is new
    return count_polls(conn, int(ts_us[0]), int(ts_us[-1])) - before


def _range_empty_locked(conn: Connection, keys: np.ndarray, lo_us: int, hi_us: int) -> bool:
    """MySQL: no poll in [lo_us, hi_us], read as of now rather than the transaction's snapshot, and
    the range's gap locked until commit: a live write (SPEC 10) committed meanwhile, or about to
    be, cannot meet LOAD DATA LOCAL, which would silently skip the load's poll (an `inactive` lost).
    The polls key is (store, time) (models/poll_layout.py): the gaps locked are the load's
    stores' [lo_us, hi_us] ranges, a chunk of stores a statement, not every row of the days."""
    stores = np.unique(keys).tolist()
    for first in range(0, len(stores), _LOCK_CHECK_STORES):
        chunk = stores[first:first + _LOCK_CHECK_STORES]
        found = conn.exec_driver_sql(
            f"SELECT 1 FROM polls WHERE store_key IN ({placeholders(conn, len(chunk))}) "
            "AND ts_us >= %s AND ts_us <= %s LIMIT 1 LOCK IN SHARE MODE", (*chunk, lo_us, hi_us)
        ).first()
        if found is not None:
            return False
    return True


_LOCK_CHECK_STORES = 5_000


def _day_store_order(keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows in time order re-sorted stably by (UTC day, store): within a store and day they stay
    in time order."""
    order = np.lexsort((keys, ts_us // poll_layout.DAY_US))
    return keys[order], ts_us[order], active[order]


def _sorted_by_key(keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, ...]:
    """Primary-key order (appends to the B-tree), inactive first within an instant, so that
    keeping the first of each (instant, store) applies the inactive-wins rule.

    When the time span fits, the three columns are packed into one int64 and sorted as one
    (several times faster than a three-key lexsort of millions of rows).
    """
    base = int(ts_us.min())
    fits_time = int(ts_us.max()) - base < 2 ** (63 - _STAGE_KEY_BITS - 1)
    if fits_time and int(keys.max()) < 2**_STAGE_KEY_BITS and int(keys.min()) >= 0:
        packed = np.sort(((ts_us - base) << (_STAGE_KEY_BITS + 1)) | (keys << 1) | active.astype(np.int64))
        return (packed >> 1) & (2**_STAGE_KEY_BITS - 1), (packed >> (_STAGE_KEY_BITS + 1)) + base, (packed & 1).astype(bool)
    order = np.lexsort((active, keys, ts_us))
    return keys[order], ts_us[order], active[order]


def _json_integers(values: np.ndarray) -> str:
    """Non-negative integers as a JSON array (blanks, JSON whitespace, pad the numbers)."""
    if not len(values):
        return "[]"
    cells = _decimal_cells(values, pad=ord(" "), end=ord(","))
    cells[-1, -1] = ord("]")
    return "[" + cells.tobytes().decode("ascii")


def _decimal_cells(values: np.ndarray, pad: int, end: int) -> np.ndarray:
    """Non-negative integers formatted by NumPy: one row of bytes each, right-aligned in a fixed
    width (leading zeros replaced by `pad` unless it is "0"), then `end`. A few vector passes
    instead of a `str` call per row."""
    width = len(str(int(values.max()))) if len(values) else 1
    cells = np.empty((len(values), width + 1), dtype=np.uint8)
    rest = values.copy()
    for position in range(width - 1, -1, -1):
        cells[:, position] = 48 + rest % 10
        rest //= 10
    if pad != ord("0"):
        for digits in range(1, width):
            cells[values < 10**digits, width - 1 - digits] = pad
    cells[:, width] = end
    return cells


def _upsert_polls_sqlite(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    """SQLite: each chunk of rows travels as one JSON array of packed integers, unpacked by
    json_each inside SQLite: one statement instead of a Python-to-C call per row."""
    chunk = (ts_us - ts_us[0]) // _STAGE_SPAN_US
    starts = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1]])
    bounds = [*starts.tolist(), len(ts_us)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        for start in range(lo, hi, INSERT_CHUNK):
            stop = min(start + INSERT_CHUNK, hi)
            base = int(ts_us[lo])
            packed = ((ts_us[start:stop] - base) << (_STAGE_KEY_BITS + 1)) | (keys[start:stop] << 1) \
                | active[start:stop].astype(np.int64)
            conn.exec_driver_sql(
                "INSERT INTO polls (ts_us, store_key, active) "
                "SELECT ? + (value >> ?), (value >> 1) & ?, value & 1 FROM json_each(?) WHERE true "
                "ON CONFLICT (ts_us, store_key) DO UPDATE SET active = excluded.active "
                "WHERE excluded.active < polls.active",
                (base, _STAGE_KEY_BITS + 1, 2**_STAGE_KEY_BITS - 1, _json_integers(packed)),
            )
            log.info("polls written: %d/%d", stop, len(ts_us))


def _upsert_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    marks = placeholders(conn, 3)
    if is_mysql(conn):
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
    for start in range(0, len(keys), INSERT_CHUNK):
        stop = start + INSERT_CHUNK  # Python ints only for one chunk at a time: 28 bytes each
        rows = zip(ts_us[start:stop].tolist(), keys[start:stop].tolist(), active[start:stop].astype(np.int8).tolist())
        executemany(conn, sql, rows)
        log.info("polls written: %d/%d", min(stop, len(keys)), len(keys))


# Polls packed into one integer for SQLite's json_each and for sorting:
# (µs since the chunk's base << 23) | (store key << 1) | active.
_STAGE_KEY_BITS = 22
_STAGE_SPAN_US = 2 ** (62 - _STAGE_KEY_BITS - 1)
_LOAD_DATA_ROWS = 2_000_000  # polls per LOAD DATA statement (one progress line each)


def _load_data_mysql(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    """MySQL's bulk path: LOAD DATA LOCAL INFILE straight into polls, the three columns as text
    that NumPy formats (the server parses plain columns faster than packed ones unpacked by SET
    expressions, and a `str` call per value would cost the client more than the server's parse)."""
    with tempfile.TemporaryDirectory(prefix="store-monitor-") as folder:
        path = Path(folder) / "polls.tsv"
        for lo in range(0, len(ts_us), _LOAD_DATA_ROWS):
            hi = min(lo + _LOAD_DATA_ROWS, len(ts_us))
            with path.open("wb") as out:  # a chunk at a time: a fleet's polls are tens of millions
                for start in range(lo, hi, INSERT_CHUNK):
                    stop = min(start + INSERT_CHUNK, hi)
                    out.write(_poll_lines(ts_us[start:stop], keys[start:stop], active[start:stop]))
            conn.exec_driver_sql(
                "LOAD DATA LOCAL INFILE %s INTO TABLE polls FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
                "(ts_us, store_key, active)",
                (path.as_posix(),),
            )
            log.info("polls written: %d/%d", hi, len(ts_us))


def _poll_lines(ts_us: np.ndarray, keys: np.ndarray, active: np.ndarray) -> bytes:
    """`ts_us<TAB>store_key<TAB>active` lines (zero-padded numbers, which MySQL reads as such)."""
    if len(ts_us) and int(ts_us.min()) < 0:  # before 1970: with a minus sign, one at a time
        return "".join(f"{t}\t{k}\t{int(a)}\n" for t, k, a in zip(ts_us.tolist(), keys.tolist(), active.tolist())).encode()
    flags = np.column_stack([48 + active.astype(np.uint8), np.full(len(active), ord("\n"), dtype=np.uint8)])
    return np.hstack([_decimal_cells(ts_us, pad=ord("0"), end=ord("\t")),
                      _decimal_cells(keys, pad=ord("0"), end=ord("\t")), flags]).tobytes()


def poll_exists(conn: Connection, store_key: int, ts_us: int) -> bool:
    found = conn.execute(select(Poll.ts_us).where(Poll.ts_us == ts_us, Poll.store_key == store_key)).first()
    return found is not None


def delete_poll(conn: Connection, store_key: int, ts_us: int) -> None:
    """Remove one poll and keep the store's first_poll_us true."""
    conn.execute(delete(Poll).where(Poll.ts_us == ts_us, Poll.store_key == store_key))
    poll_layout.recompute_newest(conn)
    first = select(func.min(Poll.ts_us)).where(Poll.store_key == store_key).scalar_subquery()
    conn.execute(update(Store).where(Store.id == store_key).values(first_poll_us=first))


def update_first_polls(conn: Connection, keys: np.ndarray, ts_us: np.ndarray) -> None:
    """Keep stores.first_poll_us = the store's earliest poll, given newly added polls."""
    if len(keys) == 0:
        return
    firsts = pd.Series(ts_us).groupby(keys).min()
    rows = zip(firsts.index.tolist(), firsts.to_numpy().tolist())
    if is_mysql(conn):
        # PyMySQL sends an UPDATE per row; a batched INSERT into a temporary table and one
        # joined UPDATE cost two round trips instead of thousands.
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS first_polls (store_key INT, ts_us BIGINT)")
        conn.exec_driver_sql("DELETE FROM first_polls")
        _load_data_rows(conn, "first_polls", ("store_key", "ts_us"), rows)
        conn.exec_driver_sql(
            "UPDATE stores s JOIN first_polls f ON f.store_key = s.id SET s.first_poll_us = f.ts_us "
            "WHERE s.first_poll_us IS NULL OR s.first_poll_us > f.ts_us"
        )
        conn.exec_driver_sql("DROP TEMPORARY TABLE first_polls")
        return
    executemany(
        conn,
        "UPDATE stores SET first_poll_us = ?2 WHERE id = ?1 AND (first_poll_us IS NULL OR first_poll_us > ?2)",
        rows,
    )


def replace_hours(conn: Connection, keys: np.ndarray, day: np.ndarray, start_s: np.ndarray, end_s: np.ndarray) -> None:
    conn.exec_driver_sql("DELETE FROM business_hours")
    rows = zip(keys.tolist(), day.tolist(), start_s.tolist(), end_s.tolist())
    if is_mysql(conn):
        _load_data_rows(conn, "business_hours", ("store_key", "day", "start_s", "end_s"), rows)
    elif len(keys):
        sql = f"INSERT INTO business_hours (store_key, day, start_s, end_s) VALUES ({placeholders(conn, 4)})"
        executemany(conn, sql, rows)


def replace_timezones(conn: Connection, keys: np.ndarray, tz: np.ndarray) -> None:
    conn.exec_driver_sql("DELETE FROM store_timezones")
    rows = zip(keys.tolist(), tz.tolist())
    if is_mysql(conn):
        _load_data_rows(conn, "store_timezones", ("store_key", "tz"), rows)
    elif len(keys):
        sql = f"INSERT INTO store_timezones (store_key, tz) VALUES ({placeholders(conn, 2)})"
        executemany(conn, sql, rows)


def _load_data_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: Iterable[Sequence[object]]) -> int:
    """MySQL: rows into `table` through LOAD DATA LOCAL INFILE, as tab-separated UTF-8 text.

    PyMySQL's executemany escapes every value in Python and the server then runs an INSERT's
    rows one by one; LOAD DATA parses a file on the server (a third of the time for the 85k
    business hours). The table and column names are this module's own, never input.
    """
    with tempfile.TemporaryDirectory(prefix="store-monitor-") as folder:
        path = Path(folder) / f"{table}.tsv"
        with path.open("w", encoding="utf-8", newline="\n") as out:
            out.writelines("\t".join(map(_tsv_field, row)) + "\n" for row in rows)
        result = conn.exec_driver_sql(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(columns)})",
            (path.as_posix(),),
        )
        return int(result.rowcount)


def _tsv_field(value: object) -> str:
    """A value as LOAD DATA reads it back: backslash, tab and line end escaped (store ids may
    hold a backslash; they hold no other control character)."""
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text
