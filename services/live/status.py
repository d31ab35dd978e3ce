"""Live status answers (SPEC 10): one store's status now, and the stores down or stale now.

Computed at request time on the service clock from the stores' live state (what the evaluator
folded in) and the cached business time, so an answer is exact to the instant even between two
evaluator passes. "since" keeps the instant the evaluator recorded when the status began, when it
is still the same status; otherwise the instant derived from the state (the run's first poll, the
opening, the last closing, or the latest poll + STALE_AFTER_MINUTES).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from models import live_queries
from models.db import read_tx
from models.live_state import STATUS_NAMES
from services.access.principal import Principal, may_see_store, require
from services.errors import NotFound
from services.live.opening import BusinessTimeCache
from services.live.state import DOWN, STALE, live_status
from services.live.timefmt import iso_z

STATUS_ACTION = "availability"  # the roles that may see a store's availability may see its status


def _statuses(states: pd.DataFrame, cache: BusinessTimeCache, conn: Any, now_us: int,
              stale_us: int) -> tuple[np.ndarray, np.ndarray]:
    business = cache.get(conn, now_us)
    computed = live_status(states, business.position(states["store"].to_numpy(np.int64), now_us), now_us, stale_us)
    recorded = states["status_since_us"].to_numpy(np.int64)
    keep = (states["status"].to_numpy(np.int64) == computed.status) & (recorded >= 0)
    return computed.status, np.where(keep, recorded, computed.since_us)


def store_status(engine: Engine, cache: BusinessTimeCache, store_id: str, principal: Principal, now_us: int,
                 stale_us: int) -> dict[str, Any]:
    """{store_id, status, since, last_poll}; 404 for a store the service does not know or the key
    may not see."""
    require(principal, STATUS_ACTION)
    if not may_see_store(principal, store_id):
        raise NotFound("unknown store_id")  # another tenant's store: like availability (SPEC 8)
    with read_tx(engine) as conn:
        key = live_queries.keys_of_store_ids(conn, [store_id]).get(store_id)
        if key is None:
            raise NotFound("unknown store_id")
        states = live_queries.read_states(conn, [key])
        if states.empty:
            return {"store_id": store_id, "status": "unknown", "since": None, "last_poll": None}
        status, since = _statuses(states, cache, conn, now_us, stale_us)
    return {"store_id": store_id, "status": STATUS_NAMES[int(status[0])],
            "since": iso_z(int(since[0])) if since[0] >= 0 else None,
            "last_poll": iso_z(int(states["last_ts_us"].iloc[0]))}


def problem_stores(engine: Engine, cache: BusinessTimeCache, principal: Principal, now_us: int, stale_us: int,
                   limit: int) -> dict[str, Any]:
    """The stores the key may see that are down or stale now, longest first (an unknown start
    counts as longest), at most `limit` of them, with their total count."""
    require(principal, STATUS_ACTION)
    with read_tx(engine) as conn:
        keys = None
        if principal.is_owner:
            keys = list(live_queries.keys_of_store_ids(conn, sorted(principal.store_ids or ())).values())
        states = live_queries.read_states(conn, keys)
        if states.empty:
            return {"as_of": iso_z(now_us), "count": 0, "stores": []}
        status, since = _statuses(states, cache, conn, now_us, stale_us)
        bad = (status == DOWN) | (status == STALE)
        picked = pd.DataFrame({"store": states["store"].to_numpy(np.int64)[bad], "status": status[bad],
                               "since": since[bad], "last": states["last_ts_us"].to_numpy(np.int64)[bad]})
        picked = picked.sort_values(["since", "store"], kind="stable").head(limit)
        names = live_queries.store_ids_of(conn, picked["store"].tolist())
    stores = [
        {"store_id": names.get(int(k), ""), "status": STATUS_NAMES[int(s)],
         "since": iso_z(int(b)) if b >= 0 else None, "last_poll": iso_z(int(last))}
        for k, s, b, last in picked[["store", "status", "since", "last"]].itertuples(index=False, name=None)
    ]
    return {"as_of": iso_z(now_us), "count": int(bad.sum()), "stores": stores}
