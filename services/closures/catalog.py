"""The closure API of SPEC 9: add, list and remove one store's closures.

Roles as SPEC 8: an owner key only for its own stores (another store is answered exactly like a
store that does not exist: 404), reporter and admin for every store. Adding a closure to a store
the service has not seen yet adds the store (without polls), as a load of its business hours
would, so that a closure can be declared before the store's data arrives. Every change is
counted as a change of the data (models.closures.record_change): the data version moves and no
report cache serves the old business time.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from models import closures as closure_rows
from models.db import read_tx, write_tx
from services.access.principal import Principal, may_see_store, require
from services.closures.local_time import local_to_utc_us, zone_names_of
from services.contract.closures import CLOSURE_ID_RE, ClosureQuery, ClosureTime, NewClosure, check_closure_span
from services.contract.store_ids import clean_store_id
from services.errors import InvalidInput, NotFound
from services.ingest.parsing import format_instant

log = logging.getLogger(__name__)


def add_closure(engine: Engine, principal: Principal, store_id: str, body: NewClosure) -> dict[str, Any]:
    """Store one closure; its local bounds use the store's zone. Returns the 201 answer."""
    store_id = _visible_store_id(principal, store_id)
    with write_tx(engine) as conn:
        key = closure_rows.ensure_store(conn, store_id)
        zone = _zone_of(conn, key)
        start_us, end_us = _instant(body.start, zone), _instant(body.end, zone)
        check_closure_span(start_us, end_us)
        closure_id = closure_rows.insert_closure(conn, key, start_us, end_us, body.reason_text, principal.key_id)
        closure_rows.record_change(conn, f"closure {closure_id} added to store {store_id}")
    log.info("closure %s added to store %s: %s to %s", closure_id, store_id, format_instant(start_us),
             format_instant(end_us))
    return {"closure_id": closure_id, "start": _z(start_us), "end": _z(end_us), "reason": body.reason_text}


def list_closures(engine: Engine, principal: Principal, store_id: str, query: ClosureQuery) -> dict[str, Any]:
    """The store's closures overlapping [from, to), by start, in UTC and in the store's local time."""
    store_id = _visible_store_id(principal, store_id)
    with read_tx(engine) as conn:
        key = _existing_key(conn, store_id)
        zone = _zone_of(conn, key)
        frame = closure_rows.closures_of_store(conn, key, query.from_, query.to)
        sources = closure_rows.sources_of(conn, frame["closure_id"].tolist())
    tz = ZoneInfo(zone)
    return {
        "store_id": store_id,
        "timezone": zone,
        "closures": [
            {"closure_id": cid, "start": _z(start), "end": _z(end),
             "reason": reason if isinstance(reason, str) else None,
             "start_local": _local(start, tz), "end_local": _local(end, tz), "source": sources.get(cid)}
            for cid, start, end, reason in zip(frame["closure_id"], frame["start_us"].tolist(),
                                               frame["end_us"].tolist(), frame["reason"])
        ],
    }


def remove_closure(engine: Engine, principal: Principal, store_id: str, closure_id: str) -> None:
    """Delete one closure of the store (one of closures.csv comes back only if that file changes)."""
    store_id = _visible_store_id(principal, store_id)
    if not CLOSURE_ID_RE.fullmatch(closure_id):
        raise InvalidInput("closure_id must be the 32 hexadecimal digits a closure was given")
    with write_tx(engine) as conn:
        key = _existing_key(conn, store_id)
        if not closure_rows.delete_closure(conn, key, closure_id):
            raise NotFound(f"store {store_id} has no closure {closure_id}")
        closure_rows.record_change(conn, f"closure {closure_id} removed from store {store_id}")
    log.info("closure %s removed from store %s", closure_id, store_id)


def _visible_store_id(principal: Principal, store_id: str) -> str:
    require(principal, "closures")
    store_id = clean_store_id(store_id)
    if not may_see_store(principal, store_id):
        raise NotFound(f"store {store_id} not found")  # the same answer as an unknown store
    return store_id


def _existing_key(conn: Any, store_id: str) -> int:
    key = closure_rows.store_key_of(conn, store_id)
    if key is None:
        raise NotFound(f"store {store_id} not found")
    return int(key)


def _zone_of(conn: Any, key: int) -> str:
    return str(zone_names_of(np.array([key]), closure_rows.store_zones(conn, [key]))[0])


def _instant(bound: ClosureTime, zone: str) -> int:
    if bound.instant_us is not None:
        return bound.instant_us
    return int(local_to_utc_us(np.array([zone], dtype=object), np.array([bound.wall_s], dtype=np.int64))[0])


def _z(us: int) -> str:
    return dt.datetime.fromtimestamp(us // 1_000_000, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(us: int, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(us // 1_000_000, tz=tz).strftime("%Y-%m-%dT%H:%M:%S")
