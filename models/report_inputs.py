"""The reads of a report: polls, hours, zones and stores from one snapshot, as DataFrames.

Split from models/store_data.py (the ingestion side); every function runs inside the
caller's read transaction so that all of it sees the same data.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Row

from models.closures import empty_closures, read_closures
from models import poll_layout
from models.packing import StoreTimeKey
from models.db import read_tx
from models.store_data import (
    IDS_PER_QUERY, data_version, earliest_poll_us, is_mysql, latest_poll_us, live_version, placeholders,
)

log = logging.getLogger(__name__)

Filter = tuple[str, list[int]]  # an SQL fragment and its bound integers


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """What reports read, from one snapshot; store columns hold integer keys. Compared by
    identity: field-wise equality would compare DataFrames, which have no truth value.

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
    # store (key), start_us, end_us, reason, closure_id: every closure ending after lo_us − 1 day
    # (SPEC 9; business time minus these). Changing closures makes a new data version.
    closures: pd.DataFrame = field(default_factory=empty_closures)
    live_version: int = 0  # the last live batch (SPEC 10) these inputs hold; part of data_version

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
    version, live = data_version(conn), live_version(conn)
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
        live_version=live,
    )
    if lo is None:
        return empty
    keys: list[int] = []
    if store_ids is not None:
        stores = _stores_named(conn, store_ids)
        if stores.empty:
            return empty
        keys = sorted(int(k) for k in stores["store"].to_numpy())
        stores = stores[stores["first_poll_us"].notna()].astype({"first_poll_us": np.int64}).reset_index(drop=True)
    else:
        stores = _fetch_frame(conn, "SELECT id, store_id, first_poll_us FROM stores WHERE first_poll_us IS NOT NULL",
                              ("", []), ["store", "store_id", "first_poll_us"])

    dense = _dense(keys)

    def in_list(column: str) -> Filter:
        """A bound `column IN (...)` filter for the wanted stores (none: all stores)."""
        return (f" AND {column} IN ({placeholders(conn, len(keys))})", keys) if keys else ("", [])

    def only_keys(column: str) -> Filter:
        """in_list, or the range of the keys when they are dense in it (a shard's: see _dense),
        the rows of other stores in it dropped below."""
        if not dense:
            return in_list(column)
        mark = placeholders(conn, 1)
        return f" AND {column} >= {mark} AND {column} <= {mark}", [keys[0], keys[-1]]

    # Up to the newest poll, so later reports on the same data can reuse these inputs, unless
    # that is far beyond what this report needs (an as_of or a range far in the past).
    hi = latest if latest is not None and latest - now <= _SLICE_US else now
    if len(stores) and int(stores["store"].max()) > MAX_PACKED_STORE_KEY:
        raise RuntimeError(f"more than {MAX_PACKED_STORE_KEY} stores: beyond what the packed poll read supports")
    by_store = only_keys("store_key")
    _prepare_session(conn)
    # Given stores are read by their keys (dense ones as key ranges, in _fetch_slice).
    polls = _fetch_polls(conn, lo, hi, ("", keys))
    hours = _fetch_hours(conn, by_store)
    zones = _fetch_frame(conn, "SELECT store_key, tz FROM store_timezones WHERE 1=1", by_store, ["store", "tz"])
    if dense:
        hours = hours[np.isin(hours["store"].to_numpy(), keys)].reset_index(drop=True)
        zones = zones[np.isin(zones["store"].to_numpy(), keys)].reset_index(drop=True)
    closures = report_closures(conn, lo, keys or None)
    return ReportInputs(polls, hours, zones, stores, latest_us=latest, lo_us=lo, hi_us=hi, data_version=version,
                        closures=closures, live_version=live)


def extend_with_arrivals(conn: Connection, inputs: ReportInputs) -> ReportInputs | None:
    """`inputs` (every store's polls up to the newest) plus the live batches committed since
    (SPEC 10): the polls each batch changed, read from poll_arrivals by batch number, and their
    stores. None when that cannot equal a fresh read: anything but live batches changed (a load,
    closures: the rest of the data version moved) or arrivals it needs were pruned. Hours and
    zones change only with loads. Call inside a read transaction; `inputs` is left as it was,
    so a report computing from it keeps its snapshot."""
    version, live = data_version(conn), live_version(conn)
    if version - live != inputs.data_version - inputs.live_version or live < inputs.live_version:
        return None
    if live == inputs.live_version:
        return inputs
    after = inputs.live_version
    oldest = conn.exec_driver_sql("SELECT MIN(seq) FROM poll_arrivals").scalar()
    # Batch after+1 may have changed nothing (no arrival rows) or been pruned: only an arrival at
    # or below after+1 proves that nothing this extension needs is gone.
    if oldest is None or int(oldest) > after + 1 or inputs.lo_us is None:
        return None
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    rows = conn.exec_driver_sql(
        f"SELECT store_key, ts_us, active FROM poll_arrivals WHERE seq > {mark} AND seq <= {mark}", (after, live)).all()
    arrived = pd.DataFrame({
        "store": np.array([r[0] for r in rows], dtype=np.int64),
        "ts_us": np.array([r[1] for r in rows], dtype=np.int64),
        "active": np.array([bool(r[2]) for r in rows], dtype=bool),
    })
    stores = inputs.stores
    keys = sorted(set(arrived["store"].tolist()))  # an old poll too may give a store its first poll
    arrived = arrived[arrived["ts_us"].to_numpy() >= int(inputs.lo_us)]
    if keys:
        changed = _fetch_frame(
            conn, "SELECT id, store_id, first_poll_us FROM stores WHERE first_poll_us IS NOT NULL",
            (f" AND id IN ({placeholders(conn, len(keys))})", keys), ["store", "store_id", "first_poll_us"])
        kept = stores[~stores["store"].isin(keys).to_numpy()]
        stores = pd.concat([kept, changed], ignore_index=True).astype(stores.dtypes.to_dict())
    latest = latest_poll_us(conn)
    # The engine counts one poll per (store, instant), inactive winning: an arrival that turned a
    # stored poll inactive needs no removal of the active one.
    polls = pd.concat([inputs.polls, arrived], ignore_index=True) if len(arrived) else inputs.polls
    return replace(inputs, polls=polls, stores=stores, latest_us=latest, hi_us=latest, data_version=version,
                   live_version=live)


_CLOSURE_MARGIN_US = 2 * 86_400_000_000  # the engine's business hours reach a day beyond the polls


def report_closures(conn: Connection, lo_us: int, keys: Sequence[int] | None) -> pd.DataFrame:
    """The closures a report on polls from `lo_us` on can meet (any later now), keyed like the
    other inputs: `store` holds the store key. Dense keys (a shard's) are read as their range,
    the others dropped after (an IN list of a shard's 3,400 keys: 12 ms a shard on MariaDB)."""
    lo = lo_us - _CLOSURE_MARGIN_US
    if keys is not None and _dense(keys):
        found = read_closures(conn, lo, 2**62, key_range=(int(keys[0]), int(keys[-1])), store_ids=False)
        found = found[np.isin(found["store_key"].to_numpy(), np.asarray(keys, dtype=np.int64))]
        return found.drop(columns=["store_key"]).reset_index(drop=True)
    return read_closures(conn, lo, 2**62, keys, store_ids=False).drop(columns=["store_key"])


def _fetch_frame(conn: Connection, sql: str, where: Filter, columns: list[str]) -> pd.DataFrame:
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql + where[0], where[1])
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _dense(keys: Sequence[int]) -> bool:
    """Sorted store keys that fill at least half of their range: a Celery shard's (the job runner
    plans shards as ranges of store keys). Reading the range and dropping the few others costs
    MariaDB less than an IN list of thousands, whose every key is a lookup of its own (shards'
    total read: 1.7–2.6× the fleet's with IN lists, issue 22)."""
    return len(keys) >= 2 and _fills_half(keys[0], keys[-1], len(keys))


def _fills_half(lo: int, hi: int, count: int) -> bool:
    """`count` distinct keys in [lo, hi] fill at least half of it (see _dense)."""
    return hi - lo < 2 * count


def _stores_named(conn: Connection, store_ids: Sequence[str]) -> pd.DataFrame:
    """Key, id and first poll (None before any) of the given store ids that exist.

    A Celery shard's ids come in store-key order (the job runner plans them so): when the keys of
    the first and the last span a range they fill at least half of, the range is read and the
    ids kept, and only ids not in it are looked up by name. A lookup by name is one unique-index
    probe per id: a shard's 3,400 ids took 163 ms of its 0.61 s read on MariaDB (1× fleet),
    where the key range takes a scan of the rows the shard needs anyway (issue 22)."""
    wanted = {str(s) for s in store_ids}
    columns = ["store", "store_id", "first_poll_us"]
    frames: list[pd.DataFrame] = []
    if len(wanted) >= _RANGE_LOOKUP_MIN_IDS:
        ends = _stores_by_id(conn, [str(store_ids[0]), str(store_ids[-1])])
        if len(ends) == 2:
            lo, hi = sorted(int(k) for k in ends["store"])
            if _fills_half(lo, hi, len(wanted)):
                mark = placeholders(conn, 1)
                ranged = _fetch_frame(conn, "SELECT id, store_id, first_poll_us FROM stores WHERE 1=1",
                                      (f" AND id >= {mark} AND id <= {mark}", [lo, hi]), columns)
                ranged = ranged[ranged["store_id"].isin(wanted)]
                frames.append(ranged)
                wanted -= set(ranged["store_id"])
    if wanted:
        frames.append(_stores_by_id(conn, sorted(wanted)))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame.astype({"store": np.int64, "store_id": object, "first_poll_us": object})


_RANGE_LOOKUP_MIN_IDS = 64  # fewer ids: their lookups by name cost less than two queries


def _stores_by_id(conn: Connection, store_ids: Sequence[str]) -> pd.DataFrame:
    """The rows of these exact store ids, by the unique index, a chunk of ids a query."""
    rows: list[tuple[Any, ...]] = []
    for first in range(0, len(store_ids), IDS_PER_QUERY):
        chunk = list(store_ids[first:first + IDS_PER_QUERY])
        rows += _fetch_frame(conn, "SELECT id, store_id, first_poll_us FROM stores WHERE 1=1",
                             (f" AND store_id IN ({placeholders(conn, len(chunk))})", chunk),
                             ["store", "store_id", "first_poll_us"]).itertuples(index=False, name=None)
    frame = pd.DataFrame.from_records(rows, columns=["store", "store_id", "first_poll_us"])
    # Exact ids only: a MySQL collation may match another case or trailing spaces.
    return frame[frame["store_id"].isin(set(store_ids))].drop_duplicates("store_id")


def _fetch_hours(conn: Connection, key_filter: Filter) -> pd.DataFrame:
    """Business hours, packed like the polls below (a row costs PyMySQL several µs a field),
    in (store, day, start, end) order."""
    packed_expr = f"((store_key * 8 + day) * {2**_SECONDS_BITS} + start_s) * {2**_SECONDS_BITS} + end_s"
    group = " GROUP BY store_key DIV 4096" if is_mysql(conn) else ""  # MySQL: rows below its packet limit
    sql = f"SELECT COUNT(*), group_concat({packed_expr}) FROM business_hours WHERE 1=1{key_filter[0]}{group}"
    rows = conn.exec_driver_sql(sql, tuple(key_filter[1])).all()
    packed = _parse_packed([(text,) for _, text in rows])
    if len(packed) != sum(int(count) for count, _ in rows):  # a text cut short: fetch the rows
        log.warning("business hours: a packed text came back cut short; reading them row by row")
        frame = _fetch_frame(conn, "SELECT store_key, day, start_s, end_s FROM business_hours WHERE 1=1", key_filter,
                             ["store", "day", "start_s", "end_s"])
        return frame.sort_values(["store", "day", "start_s", "end_s"], ignore_index=True).astype(np.int64)
    packed.sort()
    seconds_mask = (1 << _SECONDS_BITS) - 1
    return pd.DataFrame({
        "store": packed >> (2 * _SECONDS_BITS + 3),
        "day": (packed >> (2 * _SECONDS_BITS)) & 7,
        "start_s": (packed >> _SECONDS_BITS) & seconds_mask,
        "end_s": packed & seconds_mask,
    })


_SECONDS_BITS = 17  # a time of day in seconds, 0 to 86,400


def _parse_packed(result: Iterable[Row[Any]] | Iterable[tuple[Any, ...]]) -> np.ndarray:
    """The integers of the comma-separated texts that GROUP_CONCAT returned, a text at a time
    (joined first, a fleet's texts would be hundreds of megabytes)."""
    parts = [np.fromstring(bytes(row[0]) if isinstance(row[0], bytearray) else row[0], sep=",", dtype=np.int64)
             for row in result if row[0]]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


# Polls are the bulk of a report's read. Fetching 1.8M rows costs ~0.75 µs a row in sqlite3 and
# several µs in PyMySQL; instead each poll is packed into one integer (store, time since the
# slice start, status) and the database concatenates them into a few long strings, which
# NumPy parses in one pass. A slice spans 2^40 µs (about 12.7 days): the standard report reads
# one slice, a long range several, each with its own base, so any range is read exactly.
_TIME_BITS = 40
_SLICE_US = 2**_TIME_BITS
MAX_PACKED_STORE_KEY = 2 ** (63 - _TIME_BITS - 1) - 1  # about 4 million stores


def _fetch_polls(conn: Connection, lo_us: int, hi_us: int, key_filter: Filter, parallel: bool = True) -> pd.DataFrame:
    """Every poll in [lo_us, hi_us] (of the filter's stores, if any); a long window is read as
    two halves on two connections. Given stores (availability, a Celery shard) are read through
    a per-store key (models/poll_layout.store_read), a chunk of stores a query, so a shard reads
    only its stores' polls."""
    bounds = [(base, min(base + _SLICE_US - 1, hi_us)) for base in range(int(lo_us), int(hi_us) + 1, _SLICE_US)]
    if not bounds:
        return _fetch_slice(conn, lo_us, lo_us - 1, key_filter)
    if key_filter[1]:
        keys = sorted(key_filter[1])
        helper = None
        if len(keys) >= PARALLEL_MIN_STORES and hi_us - lo_us >= PARALLEL_MIN_SPAN_US and _has_other_connections(conn):
            # A shard's stores: half of them on a second connection, as the fleet read does.
            half = keys[: len(keys) // 2]
            keys = keys[len(keys) // 2:]
            helper = _SecondReader(conn.engine, snapshot_marker(conn), bounds, ("", half), by_store=True)
        parts = [_fetch_slice(conn, lo, hi, ("", keys), by_store=True) for lo, hi in bounds]
        if helper is not None:
            theirs = helper.result()
            if theirs is None:
                theirs = [_fetch_slice(conn, lo, hi, ("", half), by_store=True) for lo, hi in bounds]
            parts = theirs + parts
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    older: list[tuple[int, int]] = []
    if parallel and hi_us - lo_us >= PARALLEL_MIN_SPAN_US and _has_other_connections(conn):
        if len(bounds) == 1:
            middle = (lo_us + hi_us) // 2
            bounds = [(lo_us, middle), (middle + 1, hi_us)]
        older, bounds = bounds[: len(bounds) // 2], bounds[len(bounds) // 2 :]
    reader = _SecondReader(conn.engine, snapshot_marker(conn), older, key_filter) if older else None
    parts = [_fetch_slice(conn, lo, hi, key_filter) for lo, hi in bounds]
    if reader is not None:
        earlier = reader.result()
        if earlier is None:  # its snapshot was not this one (a load or a prune came between)
            earlier = [_fetch_slice(conn, lo, hi, key_filter) for lo, hi in older]
        parts = earlier + parts
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


# Reading 8 days of 1.8M polls takes ~0.25 s of SQLite's own work (outside the GIL) and more of
# MariaDB's: two connections reading two halves use both cores. Below a day it is not worth a
# connection.
PARALLEL_MIN_SPAN_US = 86_400 * 1_000_000
PARALLEL_MIN_STORES = 1_000  # a per-store read of fewer stores is too short to share


def _has_other_connections(conn: Connection) -> bool:
    """A second connection sees the same database (not so for an in-memory SQLite one)."""
    return conn.engine.url.database not in (None, "", ":memory:")


def snapshot_marker(conn: Connection) -> tuple[int, int | None]:
    """What tells two snapshots' polls apart: every write of polls is a load (which makes a new
    data version) or a retention batch (which deletes the oldest instants, so moves the oldest
    poll). Equal markers, equal polls."""
    return data_version(conn), earliest_poll_us(conn)


class _SecondReader:
    """Reads slices of polls in a thread on a connection of its own, in a snapshot it checks
    against the caller's; `result()` is None when the snapshots differ or the read failed (the
    caller then reads those slices itself)."""

    def __init__(self, engine: Engine, marker: tuple[int, int | None], bounds: list[tuple[int, int]],
                 key_filter: Filter, by_store: bool = False) -> None:
        self._args = (engine, marker, bounds, key_filter)
        self._by_store = by_store
        self._parts: list[pd.DataFrame] | None = None
        self._thread = threading.Thread(target=self._run, name="polls-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        engine, marker, bounds, key_filter = self._args
        try:
            with read_tx(engine) as conn:
                if snapshot_marker(conn) != marker:
                    log.info("polls: the second reader's snapshot differs; read on one connection")
                    return
                _prepare_session(conn)
                self._parts = [_fetch_slice(conn, lo, hi, key_filter, self._by_store) for lo, hi in bounds]
        except Exception as exc:  # the caller's own connection reads them instead
            log.warning("polls: second reader failed (%s: %s); read on one connection", type(exc).__name__, exc)

    def result(self) -> list[pd.DataFrame] | None:
        self._thread.join()
        return self._parts


def read_hours(conn: Connection) -> pd.DataFrame:
    """Every business-hours row (store key, day, start_s, end_s), read packed like a report's."""
    _prepare_session(conn)
    return _fetch_hours(conn, ("", []))


def read_zones(conn: Connection) -> pd.DataFrame:
    """Every store's zone (store key, tz), fetched as plain tuples: pandas probes SQLAlchemy rows
    as mappings, which took 2.2 s for the 10× fleet's 134k zones (the live evaluator's first pass,
    with requests waiting on the interpreter lock meanwhile)."""
    return _fetch_frame(conn, "SELECT store_key, tz FROM store_timezones WHERE 1=1", ("", []), ["store", "tz"])


def read_polls(conn: Connection, lo_us: int, hi_us: int, parallel: bool = True) -> pd.DataFrame:
    """Every poll in [lo_us, hi_us] (store key, ts_us, active), read packed like a report's;
    `parallel=False` keeps to this connection (background work that leaves a core to requests)."""
    _prepare_session(conn)
    return _fetch_polls(conn, int(lo_us), int(hi_us), ("", []), parallel)


def _prepare_session(conn: Connection) -> None:
    """Once per connection that reads packed texts (the caller's, and each second reader's)."""
    if is_mysql(conn):
        # GROUP_CONCAT cuts at 1,024 bytes by default; a text still cut short (max_allowed_packet)
        # is read again in halves.
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 1073741824")


def _fetch_slice(conn: Connection, lo_us: int, hi_us: int, key_filter: Filter, by_store: bool = False) -> pd.DataFrame:
    """Polls in [lo_us, hi_us], a span below 2^40 µs, a few hours a query (`by_store`: a chunk
    of the filter's stores a query, through a per-store key): each query's text stays a few
    megabytes even for ten times the real stores."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    packed_expr = f"(store_key * {mark}) + ((ts_us - {mark}) * 2) + active"  # StoreTimeKey(lo, _TIME_BITS, flag)
    # One aggregate row a query (no GROUP BY: MariaDB would build a temporary table), with the
    # count that tells a whole text from one cut short.
    source, condition = poll_layout.store_read(conn, int(lo_us), int(hi_us)) if by_store else ("polls", "")
    sql = (f"SELECT COUNT(*), group_concat({packed_expr}) FROM {source} "
           f"WHERE ts_us >= {mark} AND ts_us <= {mark}{condition}")
    packing = (2 ** (_TIME_BITS + 1), int(lo_us))
    cursor = conn.connection.cursor()
    try:
        parts: list[np.ndarray] = []
        ranged = False  # a chunk was read as a key range: other stores' polls to drop
        if by_store:
            keys = sorted(key_filter[1])
            per_query = max(1, min(_MAX_STORES_PER_QUERY, _POLLS_PER_QUERY * _HOUR_US // max(1, hi_us - lo_us)))
            for first in range(0, len(keys), per_query):
                chunk = keys[first:first + per_query]
                if _dense(chunk):  # its key range, the other stores in it dropped below
                    chunk_sql, params = f"{sql} AND store_key >= {mark} AND store_key <= {mark}", [chunk[0], chunk[-1]]
                    ranged = True
                else:
                    chunk_sql, params = f"{sql} AND store_key IN ({placeholders(conn, len(chunk))})", chunk
                parts.extend(_read_span(cursor, chunk_sql, packing, int(lo_us), int(hi_us), params))
        elif is_mysql(conn):
            # The (store, time) key in day partitions (models/poll_layout.py): a query reads one
            # UTC day (one partition) for a range of store keys, so every row it scans is wanted.
            sql += f"{key_filter[0]} AND store_key >= {mark} AND store_key <= {mark}"
            top_key = int(conn.exec_driver_sql("SELECT MAX(id) FROM stores").scalar() or 0)
            per_query = _POLLS_PER_QUERY // 24  # stores poll about hourly
            for start in range(int(lo_us) // _DAY_US * _DAY_US, int(hi_us) + 1, _DAY_US):
                day = (max(start, int(lo_us)), min(start + _DAY_US - 1, int(hi_us)))
                for first_key in range(0, top_key + 1, per_query):
                    parts.extend(_read_span(cursor, sql, packing, *day, [*key_filter[1], first_key,
                                                                         first_key + per_query - 1]))
        else:
            sql += key_filter[0]
            top_key = int(conn.exec_driver_sql("SELECT MAX(id) FROM stores").scalar() or 0)
            span = max(_MIN_QUERY_SPAN_US, min(_QUERY_SPAN_US, _FLEET_POLLS_PER_QUERY * _HOUR_US // max(1, top_key)))
            for start in range(int(lo_us), int(hi_us) + 1, span):
                stop = min(start + span - 1, int(hi_us))
                parts.extend(_read_span(cursor, sql, packing, start, stop, key_filter[1]))
    finally:
        cursor.close()
    packed = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, dtype=np.int64)
    del parts
    store, ts_us, active = StoreTimeKey(int(lo_us), _TIME_BITS, flag=True).unpack(packed)
    if ranged:
        wanted = np.isin(store, np.asarray(key_filter[1], dtype=np.int64))
        if not wanted.all():
            store, ts_us, active = store[wanted], ts_us[wanted], active[wanted]
    return pd.DataFrame({"store": store, "ts_us": ts_us, "active": active})


def _read_span(cursor: Any, sql: str, packing: tuple[int, int], lo_us: int, hi_us: int,
               keys: list[int]) -> list[np.ndarray]:
    """The packed polls of [lo_us, hi_us]; read again in halves when the text came back cut
    (MySQL cuts a GROUP_CONCAT at group_concat_max_len and returns NULL beyond
    max_allowed_packet, each with a mere warning)."""
    cursor.execute(sql, (*packing, lo_us, hi_us, *keys))
    count, text = cursor.fetchone()
    values = _parse_packed([(text,)])
    # A text cut inside its last number still has `count` numbers: PyMySQL's warning count tells.
    if len(values) == int(count) and not getattr(cursor, "warning_count", 0):
        return [values]
    if hi_us <= lo_us:
        raise RuntimeError(f"the {count} polls of one instant do not fit in one query's result: "
                           "raise MySQL's max_allowed_packet")
    middle = (lo_us + hi_us) // 2
    return (_read_span(cursor, sql, packing, lo_us, middle, keys)
            + _read_span(cursor, sql, packing, middle + 1, hi_us, keys))


_QUERY_SPAN_US = 4 * 3600 * 1_000_000
# SQLite's fleet read: hours of every store a query, about this many polls (stores poll about
# hourly). Parsing a query's text holds the interpreter lock throughout: 4 hours of the 10×
# fleet (560k polls) held it ~60 ms at a time, and a request in another thread waits for each
# hold (one store's availability took up to 616 ms while the live evaluator read 8 days).
_FLEET_POLLS_PER_QUERY = 60_000
_MIN_QUERY_SPAN_US = 10 * 60 * 1_000_000
_HOUR_US = 3600 * 1_000_000
_DAY_US = 24 * _HOUR_US
# Per-store reads: stores poll about hourly, so a query over `span` hours of a chunk of stores
# returns about chunk × span polls; chunks keep that near _POLLS_PER_QUERY (a few MB of text).
_POLLS_PER_QUERY = 200_000
_MAX_STORES_PER_QUERY = 2_000
