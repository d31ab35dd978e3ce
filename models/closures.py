"""Queries of planned closures (SPEC 9): the reads of reports and live status, and the writes of
the API and of `closures.csv` loads.

Closures are few (a holiday or a renovation per store now and then), so they travel as plain
rows; every function runs inside the caller's transaction.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from models.closure_tables import API_SOURCE, CSV_SOURCE, Closure
from models.loads import CLOSURE_CHANGE_SOURCE
from models.store_data import placeholders
from models.tables import DataLoad, Store, StoreTimezone

COLUMNS = ["store", "start_us", "end_us", "reason", "closure_id"]
_KEYS_PER_QUERY = 5_000  # bound parameters of one IN (…) list


def new_closure_id() -> str:
    return uuid.uuid4().hex


def read_closures(
    conn: Connection, lo_us: int, hi_us: int, store_keys: Sequence[int] | np.ndarray | None = None,
    store_ids: bool = True, key_range: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Closures overlapping [lo_us, hi_us) of the given store keys (None: every store), or of
    the store keys in `key_range` (both ends included).

    Columns: store (store_id text), start_us, end_us (UTC epoch µs, [start, end)), reason (None
    when not given), closure_id, and store_key (the integer key the report inputs use), sorted
    by store_key then start. With `store_ids=False` (the report inputs, keyed by store key) the
    stores table is not joined and `store` holds the key too.
    """
    store_column, join = ("s.store_id", " JOIN stores s ON s.id = c.store_key") if store_ids else ("c.store_key", "")
    sql = (f"SELECT c.store_key, {store_column}, c.start_us, c.end_us, c.reason, c.id FROM closures c{join} "
           "WHERE c.end_us > {m} AND c.start_us < {m}").format(m=placeholders(conn, 1))
    bounds = [int(lo_us), int(hi_us)]
    rows: list[tuple] = []
    cursor = conn.connection.cursor()
    try:
        if key_range is not None:
            mark = placeholders(conn, 1)
            cursor.execute(f"{sql} AND c.store_key >= {mark} AND c.store_key <= {mark}", [*bounds, *key_range])
            rows.extend(cursor.fetchall())
        elif store_keys is None:
            cursor.execute(sql, bounds)
            rows.extend(cursor.fetchall())
        else:
            keys = [int(k) for k in pd.unique(np.asarray(store_keys, dtype=np.int64))]
            for lo in range(0, len(keys), _KEYS_PER_QUERY):
                part = keys[lo : lo + _KEYS_PER_QUERY]
                cursor.execute(f"{sql} AND c.store_key IN ({placeholders(conn, len(part))})", [*bounds, *part])
                rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    # Column by column (a few closures per store of a fleet: no per-cell pandas work).
    key = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    start = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    end = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
    order = np.lexsort((end, start, key))
    def texts(column: int) -> pd.Series:  # object dtype: a missing reason stays None, not NaN
        return pd.Series([rows[i][column] for i in order], dtype=object)

    return pd.DataFrame({
        "store": texts(1) if store_ids else key[order], "start_us": start[order], "end_us": end[order],
        "reason": texts(4), "closure_id": texts(5), "store_key": key[order],
    })


def empty_closures() -> pd.DataFrame:
    """A closures frame without rows (the shape of `read_closures`)."""
    return pd.DataFrame({
        "store": np.array([], dtype=object), "start_us": np.array([], dtype=np.int64),
        "end_us": np.array([], dtype=np.int64), "reason": np.array([], dtype=object),
        "closure_id": np.array([], dtype=object), "store_key": np.array([], dtype=np.int64),
    })


def closures_of_store(conn: Connection, store_key: int, lo_us: int | None, hi_us: int | None) -> pd.DataFrame:
    """One store's closures overlapping [lo_us, hi_us) (open-ended when a bound is None)."""
    lo = -(2**62) if lo_us is None else int(lo_us)
    hi = 2**62 if hi_us is None else int(hi_us)
    return read_closures(conn, lo, hi, [int(store_key)])


def insert_closure(conn: Connection, store_key: int, start_us: int, end_us: int, reason: str | None,
                   api_key_id: str | None) -> str:
    """Add one closure made through the API; returns its closure_id."""
    closure_id = new_closure_id()
    conn.execute(insert(Closure).values(
        id=closure_id, store_key=int(store_key), start_us=int(start_us), end_us=int(end_us), reason=reason,
        source=API_SOURCE, created_at=datetime.now(timezone.utc), api_key_id=api_key_id,
    ))
    return closure_id


def delete_closure(conn: Connection, store_key: int, closure_id: str) -> bool:
    """Remove one closure of the store (whatever its source); False when there is none."""
    result = conn.execute(delete(Closure).where(Closure.id == closure_id, Closure.store_key == int(store_key)))
    return (result.rowcount or 0) > 0


def replace_csv_closures(conn: Connection, rows: pd.DataFrame) -> int:
    """The snapshot of `closures.csv`: drop every closure an earlier load brought and insert these
    (closures made through the API stay). `rows`: store_key, local_start_s, local_end_s (wall
    seconds), start_us, end_us, reason. Returns the rows inserted."""
    conn.execute(delete(Closure).where(Closure.source == CSV_SOURCE))
    created = datetime.now(timezone.utc)
    values = [
        {"id": new_closure_id(), "store_key": int(k), "start_us": int(s), "end_us": int(e),
         "reason": r if isinstance(r, str) else None,
         "source": CSV_SOURCE, "created_at": created, "api_key_id": None, "local_start_s": int(ls),
         "local_end_s": int(le)}
        for k, s, e, r, ls, le in zip(
            rows["store_key"].tolist(), rows["start_us"].tolist(), rows["end_us"].tolist(), rows["reason"].tolist(),
            rows["local_start_s"].tolist(), rows["local_end_s"].tolist())
    ]
    for lo in range(0, len(values), _INSERT_ROWS):
        conn.execute(insert(Closure), values[lo : lo + _INSERT_ROWS])
    return len(values)


_INSERT_ROWS = 10_000


def csv_closures_local(conn: Connection) -> pd.DataFrame:
    """closure_id, store_key, local_start_s, local_end_s, start_us, end_us of every closure that
    came from closures.csv (their local bounds are converted again when time zones change)."""
    rows = conn.execute(select(Closure.id, Closure.store_key, Closure.local_start_s, Closure.local_end_s,
                               Closure.start_us, Closure.end_us)
                        .where(Closure.source == CSV_SOURCE, Closure.local_start_s.is_not(None))).all()
    rows = [tuple(row) for row in rows]  # pandas probes SQLAlchemy rows as mappings: ~16 µs a row
    return pd.DataFrame.from_records(
        rows, columns=["closure_id", "store_key", "local_start_s", "local_end_s", "start_us", "end_us"])


def set_instants(conn: Connection, closure_ids: Sequence[str], start_us: np.ndarray, end_us: np.ndarray) -> None:
    """New UTC bounds for these closures (after their store's zone changed)."""
    if not len(closure_ids):
        return
    conn.execute(
        update(Closure).where(Closure.id == bindparam("cid")).values(start_us=bindparam("s"), end_us=bindparam("e")),
        [{"cid": c, "s": int(s), "e": int(e)} for c, s, e in zip(closure_ids, start_us.tolist(), end_us.tolist())],
    )


def store_key_of(conn: Connection, store_id: str) -> int | None:
    return conn.execute(select(Store.id).where(Store.store_id == store_id)).scalar()


def ensure_store(conn: Connection, store_id: str) -> int:
    """The store's key, adding the store (without polls) when it is not known yet, as a load
    of business hours or time zones does."""
    key = store_key_of(conn, store_id)
    if key is not None:
        return int(key)
    try:
        with conn.begin_nested():
            conn.execute(insert(Store).values(store_id=store_id))
    except IntegrityError:  # another request added it meanwhile
        pass
    return int(store_key_of(conn, store_id))


def store_zones(conn: Connection, keys: Sequence[int] | np.ndarray) -> pd.Series:
    """The zone name stored for each of these store keys (missing: no row), indexed by key."""
    wanted = [int(k) for k in pd.unique(np.asarray(keys, dtype=np.int64))]
    rows: list[tuple] = []
    for lo in range(0, len(wanted), _KEYS_PER_QUERY):
        part = wanted[lo : lo + _KEYS_PER_QUERY]
        rows += conn.execute(select(StoreTimezone.store_key, StoreTimezone.tz)
                             .where(StoreTimezone.store_key.in_(part))).all()
    return pd.Series([r[1] for r in rows], index=pd.Index([int(r[0]) for r in rows], dtype=np.int64), dtype=object)


def record_change(conn: Connection, what: str) -> None:
    """Count a closure made or removed through the API as a change of the data, the way a load
    is (a `data_loads` row with changed = true): the data version moves, so cached report
    inputs and reports of the old data are not served again."""
    now = datetime.now(timezone.utc)
    conn.execute(insert(DataLoad).values(
        started_at=now, finished_at=now, source_dir=CLOSURE_CHANGE_SOURCE, changed=True, rows_loaded=1,
        rows_rejected=0, summary=json.dumps({"files": [], "error": None, "closures": what[:200]}),
    ))


def sources_of(conn: Connection, closure_ids: Sequence[str]) -> dict[str, str]:
    """closure_id → source ('csv' or 'api') of these closures."""
    found: dict[str, str] = {}
    for lo in range(0, len(closure_ids), _KEYS_PER_QUERY):
        part = list(closure_ids[lo : lo + _KEYS_PER_QUERY])
        found.update({r[0]: r[1] for r in conn.execute(select(Closure.id, Closure.source).where(Closure.id.in_(part)))})
    return found
