"""Queries of live status and alerts (SPEC 10); every function runs in the caller's transaction.

Rows travel as DataFrames and bulk statements: the evaluator handles the whole fleet at once.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select, update

from models import poll_layout
from models.deliveries import PENDING, Delivery
from models.live_state import (
    Alert, AlertEvent, AlertStoreState, LiveCursor, StoreTransition,
)
from models.live_tables import PollArrival
from models.report_inputs import read_hours, read_polls, read_zones
from models.store_data import is_mysql, placeholders, values_sql
from models.tables import Store

_KEYS_PER_QUERY = 5_000  # bound parameters of one IN (…) list
STATE_COLUMNS = ["store", "last_ts_us", "last_active", "run_len", "run_start_us", "received_us", "status",
                 "status_since_us"]


# -- cursor ----------------------------------------------------------------------------------------
def ensure_cursor(conn: Connection) -> None:
    """Create the cursor row unless it exists; meant for a short transaction of its own before the
    first pass. Two processes starting together then only queue on the new key. (Created inside a
    pass, after a locking read of the missing row, the gap locks of two passes made InnoDB pick one
    as a deadlock victim and roll it back whole, savepoint and all.)"""
    values = "(id, seq, load_version, evaluated_us, pruned_us) VALUES (1, 0, 0, 0, 0)"
    if is_mysql(conn):
        conn.exec_driver_sql(f"INSERT INTO live_cursor {values} ON DUPLICATE KEY UPDATE id = id")
    else:
        conn.exec_driver_sql(f"INSERT INTO live_cursor {values} ON CONFLICT (id) DO NOTHING")


def lock_cursor(conn: Connection) -> LiveCursor:
    """The evaluator's cursor row, locked until the transaction ends (created if missing)."""
    row = conn.execute(select(LiveCursor).where(LiveCursor.id == 1).with_for_update()).first()
    if row is None:
        ensure_cursor(conn)
        row = conn.execute(select(LiveCursor).where(LiveCursor.id == 1).with_for_update()).first()
    assert row is not None
    return LiveCursor(id=1, seq=int(row.seq), load_version=int(row.load_version),
                      evaluated_us=int(row.evaluated_us), pruned_us=int(row.pruned_us), pass_id=row.pass_id)


def advance_cursor(conn: Connection, seq: int, load_version: int, evaluated_us: int, pruned_us: int,
                   pass_id: str) -> None:
    conn.execute(update(LiveCursor).where(LiveCursor.id == 1).values(
        seq=seq, load_version=load_version, evaluated_us=evaluated_us, pruned_us=pruned_us, pass_id=pass_id))


def cursor_load_version(conn: Connection) -> int:
    """The CSV load the evaluator folded in last (a plain read, no lock)."""
    value = conn.execute(select(LiveCursor.load_version).where(LiveCursor.id == 1)).scalar()
    return int(value or 0)


# -- arrivals and polls ----------------------------------------------------------------------------
def read_arrivals(conn: Connection, after_seq: int, upto_seq: int, only: Sequence[int] | None = None) -> pd.DataFrame:
    """Arrivals (seq, store, ts_us, active, received_us) of batches (after_seq, upto_seq], or of
    just the batch numbers `only`, in the order they were committed."""
    mark = placeholders(conn, 1)
    if only is None:
        where, params = f"seq > {mark} AND seq <= {mark}", (int(after_seq), int(upto_seq))
    else:
        where, params = f"seq IN ({placeholders(conn, len(only))})", tuple(int(s) for s in only)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"SELECT seq, store_key, ts_us, active, received_us FROM poll_arrivals WHERE {where} "
                       "ORDER BY seq, id", params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    frame = pd.DataFrame.from_records(rows, columns=["seq", "store", "ts_us", "active", "received_us"])
    return frame.astype({"seq": np.int64, "store": np.int64, "ts_us": np.int64, "active": bool,
                         "received_us": np.int64})


def prune_arrivals(conn: Connection, before_us: int, upto_seq: int) -> int:
    """Delete arrivals received before `before_us` that the evaluator has applied."""
    return int(conn.execute(delete(PollArrival).where(
        PollArrival.received_us < int(before_us), PollArrival.seq <= int(upto_seq))).rowcount or 0)


def read_recent_polls(conn: Connection, lo_us: int) -> pd.DataFrame:
    """Every poll from `lo_us` on (store, ts_us, active): what a CSV load may have changed. On
    one connection: the evaluator reads this in the background, and with the second reader a
    fold of the 10× fleet (18M polls) took both cores for 8 s, so one store's availability
    asked meanwhile waited up to 616 ms (issue 22)."""
    hi = poll_layout.newest_poll_us(conn)
    if hi is None or int(hi) < lo_us:
        return pd.DataFrame({"store": np.zeros(0, np.int64), "ts_us": np.zeros(0, np.int64),
                             "active": np.zeros(0, bool)})
    return read_polls(conn, int(lo_us), int(hi), parallel=False)


# -- store state -----------------------------------------------------------------------------------
def _in_chunks(conn: Connection, sql: str, keys: Sequence[int] | None, params: Sequence[Any] = ()) -> list[tuple]:
    """Rows of `sql` (ending in a WHERE clause) for all keys, or `AND <key IN (…)>` a chunk at a time;
    `sql` holds `{keys}` where the IN list goes."""
    cursor = conn.connection.cursor()
    rows: list[tuple] = []
    try:
        if keys is None:
            cursor.execute(sql.format(keys="1=1"), tuple(params))
            rows.extend(cursor.fetchall())
        else:
            keys = [int(k) for k in keys]
            for lo in range(0, len(keys), _KEYS_PER_QUERY):
                part = keys[lo: lo + _KEYS_PER_QUERY]
                cursor.execute(sql.format(keys=f"store_key IN ({placeholders(conn, len(part))})"),
                               (*params, *part))
                rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def read_states(conn: Connection, store_keys: Sequence[int] | None = None) -> pd.DataFrame:
    """live_store_state rows of the given stores (None: all), one per store."""
    rows = _in_chunks(conn, "SELECT store_key, last_ts_us, last_active, run_len, run_start_us, received_us, status, "
                            "status_since_us FROM live_store_state WHERE {keys}", store_keys)
    frame = pd.DataFrame.from_records(rows, columns=STATE_COLUMNS)
    frame["status_since_us"] = pd.to_numeric(frame["status_since_us"]).fillna(-1)
    return frame.astype({"store": np.int64, "last_ts_us": np.int64, "last_active": bool, "run_len": np.int64,
                         "run_start_us": np.int64, "received_us": np.int64, "status": np.int64,
                         "status_since_us": np.int64})


def _upsert_sql(conn: Connection, table: str, columns: list[str], keys: list[str]) -> str:
    """`INSERT INTO table (columns) VALUES {rows} <replace the non-key columns on a key clash>`."""
    updates = [c for c in columns if c not in keys]
    if is_mysql(conn):
        tail = "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in updates)
    else:
        tail = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {{rows}} {tail}"


def write_states(conn: Connection, frame: pd.DataFrame) -> None:
    """Insert or replace the state rows of `frame` (columns STATE_COLUMNS): one statement per
    _KEYS_PER_QUERY rows, integers rendered by values_sql (executemany's per-value escaping was 19 %
    of the service's CPU at 18,000 polls/s on MySQL, py-spy)."""
    if frame.empty:
        return
    sql = _upsert_sql(conn, "live_store_state", ["store_key", *STATE_COLUMNS[1:]], ["store_key"])
    columns = [frame[c].to_numpy() for c in STATE_COLUMNS[:-1]]
    since = frame["status_since_us"].to_numpy(np.int64)
    since_sql = ["NULL" if v < 0 else v for v in since.tolist()]
    for lo in range(0, len(frame), _KEYS_PER_QUERY):
        hi = lo + _KEYS_PER_QUERY
        conn.exec_driver_sql(sql.format(rows=values_sql(*(c[lo:hi] for c in columns), since_sql[lo:hi])))


def insert_transitions(conn: Connection, frame: pd.DataFrame, created_us: int) -> None:
    """Rows of `frame` (store, status, at_us, since_us, last_poll_us) appended to the log."""
    if frame.empty:
        return
    conn.execute(insert(StoreTransition), [
        {"store_key": int(s), "status": int(st), "at_us": int(at), "since_us": None if si < 0 else int(si),
         "last_poll_us": None if lp < 0 else int(lp), "created_us": int(created_us)}
        for s, st, at, si, lp in frame[["store", "status", "at_us", "since_us", "last_poll_us"]].itertuples(
            index=False, name=None)
    ])


def read_transitions(conn: Connection, after_id: int, store_ids: Iterable[str] | None, limit: int = 500) -> list[tuple]:
    """(id, store_id, status, at_us, since_us, last_poll_us) of transitions after `after_id`, oldest
    first, restricted to the given store ids (None: all)."""
    query = (select(StoreTransition.id, Store.store_id, StoreTransition.status, StoreTransition.at_us,
                    StoreTransition.since_us, StoreTransition.last_poll_us)
             .join(Store, Store.id == StoreTransition.store_key)
             .where(StoreTransition.id > int(after_id)).order_by(StoreTransition.id).limit(limit))
    if store_ids is not None:
        query = query.where(Store.store_id.in_(list(store_ids)))
    return [tuple(r) for r in conn.execute(query).all()]


def last_transition_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(StoreTransition.id))).scalar() or 0)


def prune_transitions(conn: Connection, before_us: int) -> None:
    conn.execute(delete(StoreTransition).where(StoreTransition.created_us < int(before_us)))


def prune_orphan_alert_states(conn: Connection) -> None:
    """States of alerts deleted while a pass was writing them."""
    conn.execute(delete(AlertStoreState).where(AlertStoreState.alert_id.not_in(select(Alert.id))))


# -- stores, hours, zones --------------------------------------------------------------------------
def store_ids_of(conn: Connection, keys: Sequence[int]) -> dict[int, str]:
    result: dict[int, str] = {}
    keys = [int(k) for k in keys]
    for lo in range(0, len(keys), _KEYS_PER_QUERY):
        part = keys[lo: lo + _KEYS_PER_QUERY]
        rows = conn.execute(select(Store.id, Store.store_id).where(Store.id.in_(part))).all()
        result.update({int(k): s for k, s in rows})
    return result


def keys_of_store_ids(conn: Connection, store_ids: Sequence[str]) -> dict[str, int]:
    result: dict[str, int] = {}
    ids = list(store_ids)
    for lo in range(0, len(ids), _KEYS_PER_QUERY):
        part = ids[lo: lo + _KEYS_PER_QUERY]
        result.update({s: int(k) for s, k in conn.execute(
            select(Store.store_id, Store.id).where(Store.store_id.in_(part))).all()})
    return result


def store_key_top(conn: Connection) -> int:
    """The largest store key: grows when a store is added (keys are never reused)."""
    return int(conn.execute(select(func.max(Store.id))).scalar() or 0)


def read_schedule(conn: Connection) -> tuple[pd.DataFrame, pd.DataFrame, pd.Index]:
    """Business hours (store, day, start_s, end_s), zones (store, tz) and every store key."""
    hours = read_hours(conn)
    zones = read_zones(conn)
    keys = pd.Index(np.fromiter(conn.exec_driver_sql("SELECT id FROM stores ORDER BY id").scalars(), dtype=np.int64))
    return hours, zones, keys


def closures_signature(conn: Connection) -> tuple[int, int, int]:
    """Changes whenever a closure is added or removed (the API writes no data version)."""
    row = conn.exec_driver_sql(
        "SELECT COUNT(*), COALESCE(SUM(start_us / 1000), 0), COALESCE(SUM(end_us / 1000), 0) "
        "FROM closures").one()
    return int(row[0]), int(row[1]), int(row[2])


# -- alerts ----------------------------------------------------------------------------------------
def insert_alert(conn: Connection, alert: Alert) -> None:
    conn.execute(insert(Alert).values(
        id=alert.id, webhook_url=alert.webhook_url, store_ids=alert.store_ids, confirm_polls=alert.confirm_polls,
        recover_polls=alert.recover_polls, created_at=alert.created_at, api_key_id=alert.api_key_id, baselined=False,
    ))


_ALERT_FIELDS = ["id", "webhook_url", "store_ids", "confirm_polls", "recover_polls", "created_at", "api_key_id",
                 "baselined"]


def _alerts(conn: Connection, *where: Any) -> list[Alert]:
    """Alerts as plain (detached) objects, oldest first."""
    rows = conn.execute(select(*[getattr(Alert, c) for c in _ALERT_FIELDS]).where(*where)
                        .order_by(Alert.created_at, Alert.id)).all()
    return [Alert(**{c: getattr(r, c) for c in _ALERT_FIELDS}) for r in rows]


def list_alerts(conn: Connection, api_key_id: str | None = None, only_key: bool = False) -> list[Alert]:
    """Every alert, or only those made with `api_key_id` when `only_key`."""
    return _alerts(conn, *([Alert.api_key_id == api_key_id] if only_key else []))


def get_alert(conn: Connection, alert_id: str) -> Alert | None:
    found = _alerts(conn, Alert.id == alert_id)
    return found[0] if found else None


def delete_alert(conn: Connection, alert_id: str) -> bool:
    gone = conn.execute(delete(Alert).where(Alert.id == alert_id)).rowcount
    conn.execute(delete(AlertStoreState).where(AlertStoreState.alert_id == alert_id))
    return bool(gone)


def mark_baselined(conn: Connection, alert_ids: Sequence[str]) -> None:
    if alert_ids:
        conn.execute(update(Alert).where(Alert.id.in_(list(alert_ids))).values(baselined=True))


def alert_scope(alert: Alert) -> list[str] | None:
    return None if alert.store_ids is None else list(json.loads(alert.store_ids))


def read_alert_states(conn: Connection, alert_ids: Sequence[str], store_keys: Sequence[int] | None) -> pd.DataFrame:
    """alert_store_states rows (alert, store, state, closed) of the given alerts and stores."""
    frame_rows: list[tuple] = []
    if alert_ids:
        marks = placeholders(conn, len(alert_ids))
        frame_rows = _in_chunks(
            conn, f"SELECT alert_id, store_key, state, closed FROM alert_store_states WHERE alert_id IN ({marks}) "
                  "AND {keys}", store_keys, list(alert_ids))
    frame = pd.DataFrame.from_records(frame_rows, columns=["alert", "store", "state", "closed"])
    return frame.astype({"alert": object, "store": np.int64, "state": np.int64, "closed": bool})


def write_alert_states(conn: Connection, frame: pd.DataFrame) -> None:
    """Replace the rows of (alert, store) in `frame`: state 1 (up) deletes the row. Deletes go by
    alert and a list of stores (a whole fleet closing at night is a few statements, not one per store)."""
    if frame.empty:
        return
    for alert_id, stores in frame.groupby("alert", sort=False)["store"]:
        keys = [int(k) for k in stores.to_numpy()]
        for lo in range(0, len(keys), _KEYS_PER_QUERY):
            conn.execute(delete(AlertStoreState).where(AlertStoreState.alert_id == alert_id,
                                                       AlertStoreState.store_key.in_(keys[lo: lo + _KEYS_PER_QUERY])))
    kept = frame[frame["state"] != 1]
    if len(kept):
        conn.execute(insert(AlertStoreState), [
            {"alert_id": a, "store_key": int(s), "state": int(st), "closed": bool(c)}
            for a, s, st, c in kept[["alert", "store", "state", "closed"]].itertuples(index=False, name=None)
        ])


def insert_events(conn: Connection, events: list[dict[str, Any]], deliveries: list[dict[str, Any]]) -> None:
    """The alert events and their queued webhooks, in the caller's transaction (so a rolled-back
    pass queues nothing, and a committed one everything)."""
    if events:
        conn.execute(insert(AlertEvent), events)
    if deliveries:
        conn.execute(insert(Delivery), [{**d, "status": PENDING, "attempts": 0} for d in deliveries])


def events_of_alert(conn: Connection, alert_id: str, limit: int = 100) -> list[tuple]:
    """(event id, store_id, event, at_us, since_us, last_poll_us, created_us), newest first."""
    return [tuple(r) for r in conn.execute(
        select(AlertEvent.id, Store.store_id, AlertEvent.event, AlertEvent.at_us, AlertEvent.since_us,
               AlertEvent.last_poll_us, AlertEvent.created_us)
        .join(Store, Store.id == AlertEvent.store_key)
        .where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.created_us.desc(), AlertEvent.id).limit(limit)
    ).all()]
