"""The live write path (SPEC 10): one transaction per batch of polls from `POST /polls` or the
broker consumer, in the order that contract 3 (models/live_tables.py) fixes:

1. `live_sequence` row 1 is bumped first: its row lock serialises live writers, so batch numbers
   commit in order (a reader that sees batch N knows every batch below N is committed);
2. missing stores are created (with their first poll, so a new store costs no later UPDATE);
3. the polls that change the data are written (a new (store, instant), or an `active` one turned
   `inactive`: inactive wins a conflict, SPEC 1), through a plain upsert on the (instant, store)
   key that holds whatever partitioning the polls table has;
4. one `poll_arrivals` row per such poll, tagged with the batch number.

A batch is a thousand polls or so and arrives tens of times a second, so every statement carries
the whole batch (multi-row VALUES built from NumPy integers: no per-row round trip, no per-value
driver escaping) and only the batch's own stores and polls are read, by key.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from models import poll_layout
from models.store_data import executemany, is_mysql, placeholders, values_sql

# Statements carry at most this many rows (MySQL's max_allowed_packet is 16 MB by default; a
# poll row is ~35 bytes of SQL, a store id up to 255 characters).
ROWS_PER_STATEMENT = 10_000
STORE_IDS_PER_STATEMENT = 2_000
ABSENT = -1  # "no such poll stored yet", beside 0 (inactive) and 1 (active)


@dataclass(frozen=True)
class LiveBatchWritten:
    """What one live transaction did."""

    seq: int  # its batch number (live_sequence after the bump)
    accepted: int  # distinct polls that changed the data: new, or turned inactive
    duplicates: int  # valid polls that changed nothing (already stored, or repeated in the batch)
    new_stores: dict[str, int] = field(default_factory=dict)  # store ids looked up → keys
    # The poll_arrivals rows written, in their order (store key, epoch µs, True = active).
    arrivals: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def next_live_sequence(conn: Connection) -> int:
    """Bump live_sequence row 1 (creating it at 1) and return the new value; holds its row lock
    until the transaction ends. One round trip once the row exists: MySQL hands the new value
    back through LAST_INSERT_ID(expr) in the UPDATE's own answer, SQLite through RETURNING."""
    if is_mysql(conn):
        bumped = conn.exec_driver_sql("UPDATE live_sequence SET value = LAST_INSERT_ID(value + 1) WHERE id = 1")
        if bumped.rowcount == 1:
            return int(bumped.lastrowid)
        conn.exec_driver_sql(
            "INSERT INTO live_sequence (id, value) VALUES (1, 1) ON DUPLICATE KEY UPDATE value = value + 1")
    else:
        value = conn.exec_driver_sql("UPDATE live_sequence SET value = value + 1 WHERE id = 1 RETURNING value").scalar()
        if value is not None:
            return int(value)
        conn.exec_driver_sql(
            "INSERT INTO live_sequence (id, value) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET value = value + 1")
    return int(conn.exec_driver_sql("SELECT value FROM live_sequence WHERE id = 1").scalar_one())


def write_live_polls(conn: Connection, store_ids: np.ndarray, ts_us: np.ndarray, active: np.ndarray,
                     received_us: int, known: StoreKeys | None = None) -> LiveBatchWritten:
    """Write one batch of valid polls (store ids cleaned, epoch µs, True = active) in the caller's
    transaction, following the order above. `received_us` (the service clock) goes with each
    arrival; `known` caches store keys across batches (filled by the caller after its commit from
    `LiveBatchWritten.new_stores`). Callers skip empty batches (they would only use a batch number).
    """
    seq = next_live_sequence(conn)
    total = len(store_ids)
    codes, unique_ids = pd.factorize(np.asarray(store_ids, dtype=object))
    ts_us = np.asarray(ts_us, dtype=np.int64)
    active = np.asarray(active, dtype=bool)
    firsts = np.full(len(unique_ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(firsts, codes, ts_us)
    store_keys, new_stores = ensure_live_stores(conn, unique_ids, firsts, known)
    keys = store_keys[codes]
    # One row per (instant, store), inactive first so that keeping the first applies the rule;
    # time-first order matches the primary key (appends, and a fixed lock order).
    order = np.lexsort((active, keys, ts_us))
    keys, ts_us, active = keys[order], ts_us[order], active[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = (keys[1:] != keys[:-1]) | (ts_us[1:] != ts_us[:-1])
    keys, ts_us, active = keys[first], ts_us[first], active[first]
    if not _insert_all_new(conn, keys, ts_us, active):
        # Some are stored already (a redelivery, the hourly CSV, a repeat): read what is stored
        # and write only what changes it.
        stored = stored_statuses(conn, keys, ts_us)
        changed = (stored == ABSENT) | ((stored == 1) & ~active)
        keys, ts_us, active = keys[changed], ts_us[changed], active[changed]
        if len(keys):
            _upsert(conn, keys, ts_us, active)
    if len(keys):
        _append_arrivals(conn, seq, keys, ts_us, active, received_us)
        poll_layout.note_written(conn, int(ts_us.max()))  # MySQL keeps the newest poll in a row
    return LiveBatchWritten(seq=seq, accepted=len(keys), duplicates=total - len(keys), new_stores=new_stores,
                            arrivals=(keys, ts_us, active))


def _insert_all_new(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> bool:
    """The usual live batch is all new polls: one plain INSERT writes them. False, with nothing
    written, when any of them is stored already; the caller then takes the careful path. A plain
    INSERT that succeeds proves each poll was absent, whatever a concurrent load did, so the
    arrivals logged are exact. No savepoint is needed (two round trips saved): InnoDB and SQLite
    both undo just the failed statement and the transaction goes on."""
    if len(keys) > ROWS_PER_STATEMENT:
        return False  # one statement or none: the careful path handles big batches in chunks
    try:
        conn.exec_driver_sql(
            f"INSERT INTO polls (ts_us, store_key, active) VALUES {values_sql(ts_us, keys, active)}")
    except IntegrityError:
        return False
    return True


class StoreKeys:
    """store_id → key of stores known to exist (committed), shared by the live writers of a
    process: store rows are never deleted or renumbered, so a key once seen stays right, and a
    batch of known stores needs no lookup by store id at all."""

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}
        self._lock = threading.Lock()

    def lookup(self, store_ids: list[str]) -> list[int | None]:
        get = self._keys.get
        return [get(sid) for sid in store_ids]

    def remember(self, pairs: dict[str, int]) -> None:
        """Only keys committed to the database (a rolled-back store must not stay known)."""
        with self._lock:
            self._keys.update(pairs)


def ensure_live_stores(conn: Connection, store_ids: np.ndarray, first_poll_us: np.ndarray,
                       known: StoreKeys | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Keys of the given distinct store ids (int64, same order), creating the missing stores with
    `first_poll_us`, and moving a store's first poll earlier when a poll of the batch predates it.
    Also returns the store ids looked up here → their keys (for `known`, once committed).

    Only these ids are read (the unique index), never the whole stores table. On MySQL the read
    of ids just inserted is a locking (current) read: a load or another process may have created
    the same store after this transaction's snapshot, and its key is the one to use.
    """
    ids: list[str] = store_ids.tolist()
    keys: list[int | None] = known.lookup(ids) if known is not None else [None] * len(ids)
    unknown = [sid for sid, key in zip(ids, keys) if key is None]
    learned: dict[str, int] = {}
    if unknown:
        learned = read_store_keys(conn, unknown, locking=False)
        missing = [sid for sid in unknown if sid not in learned]
        if missing:
            firsts = dict(zip(ids, first_poll_us.tolist()))
            if is_mysql(conn):
                sql = "INSERT INTO stores (store_id, first_poll_us) VALUES (%s, %s) ON DUPLICATE KEY UPDATE id = id"
            else:
                sql = "INSERT INTO stores (store_id, first_poll_us) VALUES (?, ?) ON CONFLICT (store_id) DO NOTHING"
            executemany(conn, sql, [(sid, firsts[sid]) for sid in missing])
            learned.update(read_store_keys(conn, missing, locking=True))
        keys = [learned[sid] if key is None else key for sid, key in zip(ids, keys)]
    key_array = np.array(keys, dtype=np.int64)
    _move_first_polls(conn, key_array, first_poll_us)
    return key_array, learned


def read_store_keys(conn: Connection, store_ids: list[str], locking: bool) -> dict[str, int]:
    """store_id → key of those of `store_ids` that exist."""
    found: dict[str, int] = {}
    lock = " LOCK IN SHARE MODE" if locking and is_mysql(conn) else ""
    for lo in range(0, len(store_ids), STORE_IDS_PER_STATEMENT):
        chunk = store_ids[lo : lo + STORE_IDS_PER_STATEMENT]
        sql = f"SELECT store_id, id FROM stores WHERE store_id IN ({placeholders(conn, len(chunk))}){lock}"
        found.update((str(sid), int(key)) for sid, key in conn.exec_driver_sql(sql, tuple(chunk)))
    return found


def _move_first_polls(conn: Connection, keys: np.ndarray, first_poll_us: np.ndarray) -> None:
    """stores.first_poll_us = the earliest poll: a live poll is nearly always later than its
    store's first, so one indexed read of the batch's stores finds the few to move (none, usually)."""
    earliest = int(first_poll_us.min())
    key_list = ",".join(map(str, keys.tolist()))
    rows = conn.exec_driver_sql(
        f"SELECT id, first_poll_us FROM stores WHERE id IN ({key_list}) "
        f"AND (first_poll_us IS NULL OR first_poll_us > {earliest})"
    ).all()
    if not rows:
        return
    wanted = dict(zip(keys.tolist(), first_poll_us.tolist()))
    updates = [(wanted[key], key) for key, current in rows if current is None or current > wanted[key]]
    if updates:
        mark = placeholders(conn, 1)
        executemany(conn, f"UPDATE stores SET first_poll_us = {mark} WHERE id = {mark} "
                          f"AND (first_poll_us IS NULL OR first_poll_us > {mark})",
                    [(t, k, t) for t, k in updates])


def stored_statuses(conn: Connection, keys: np.ndarray, ts_us: np.ndarray) -> np.ndarray:
    """For each (store key, instant): ABSENT, 0 (inactive) or 1 (active) as stored now.

    Point reads on the (instant, store) key. On MySQL a locking read (FOR UPDATE): it sees what a
    concurrent CSV load committed after this transaction's snapshot and holds those rows (and the
    gaps of absent ones) until commit, so what is written and logged as an arrival is exact.
    """
    status = np.full(len(keys), ABSENT, dtype=np.int8)
    if not len(keys):
        return status
    found_ts: list[int] = []
    found_key: list[int] = []
    found_active: list[int] = []
    for lo in range(0, len(keys), ROWS_PER_STATEMENT):
        k, t = keys[lo : lo + ROWS_PER_STATEMENT], ts_us[lo : lo + ROWS_PER_STATEMENT]
        if is_mysql(conn):
            pairs = ",".join(f"({a},{b})" for a, b in zip(t.tolist(), k.tolist()))
            sql = f"SELECT ts_us, store_key, active FROM polls WHERE (ts_us, store_key) IN ({pairs}) FOR UPDATE"
        else:
            # SQLite scans for a row-value IN list; a join from json_each probes the key instead.
            pairs = "[" + ",".join(f"[{a},{b}]" for a, b in zip(t.tolist(), k.tolist())) + "]"
            sql = ("SELECT p.ts_us, p.store_key, p.active FROM json_each(?) AS j CROSS JOIN polls AS p "
                   "ON p.ts_us = j.value ->> 0 AND p.store_key = j.value ->> 1")
        for row in conn.exec_driver_sql(sql, () if is_mysql(conn) else (pairs,)):
            found_ts.append(int(row[0]))
            found_key.append(int(row[1]))
            found_active.append(int(row[2]))
    if found_ts:
        wanted = pd.MultiIndex.from_arrays([ts_us, keys])
        where = pd.MultiIndex.from_arrays([np.array(found_ts, dtype=np.int64), np.array(found_key, dtype=np.int64)])
        position = wanted.get_indexer(where)
        status[position[position >= 0]] = np.array(found_active, dtype=np.int8)[position >= 0]
    return status


def _upsert(conn: Connection, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray) -> None:
    """Insert polls; an existing (instant, store) keeps `inactive` if either side says so."""
    if is_mysql(conn):
        tail = "ON DUPLICATE KEY UPDATE active = LEAST(active, VALUES(active))"
    else:
        tail = ("ON CONFLICT (ts_us, store_key) DO UPDATE SET active = excluded.active "
                "WHERE excluded.active < polls.active")
    flags = active.astype(np.int8)
    for lo in range(0, len(keys), ROWS_PER_STATEMENT):
        hi = lo + ROWS_PER_STATEMENT
        rows = values_sql(ts_us[lo:hi], keys[lo:hi], flags[lo:hi])
        conn.exec_driver_sql(f"INSERT INTO polls (ts_us, store_key, active) VALUES {rows} {tail}")


def _append_arrivals(conn: Connection, seq: int, keys: np.ndarray, ts_us: np.ndarray, active: np.ndarray,
                     received_us: int) -> None:
    n = len(keys)
    seqs = np.full(n, seq, dtype=np.int64)
    received = np.full(n, int(received_us), dtype=np.int64)
    flags = active.astype(np.int8)
    for lo in range(0, n, ROWS_PER_STATEMENT):
        hi = lo + ROWS_PER_STATEMENT
        conn.exec_driver_sql(
            "INSERT INTO poll_arrivals (seq, store_key, ts_us, active, received_us) VALUES "
            + values_sql(seqs[lo:hi], keys[lo:hi], ts_us[lo:hi], flags[lo:hi], received[lo:hi])
        )
