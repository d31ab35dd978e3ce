"""Read-only queries that describe the stored data for `/health`: counts, versions, last load."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, select

from models import live_queries, loads, store_data
from models.db import read_tx
from models.tables import Store


def _iso(us: int | None) -> str | None:
    """UTC ISO-8601 with `Z`, as every instant of the API is written."""
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def data_status(engine: Engine) -> dict[str, Any]:
    """Stores, polls, data version, oldest and newest poll and the last load, from one snapshot."""
    with read_tx(engine) as conn:
        last = loads.newest_load(conn)
        latest = store_data.latest_poll_us(conn)
        return {
            "stores": int(conn.execute(select(func.count()).select_from(Store)).scalar_one()),
            "polls": store_data.count_polls(conn),
            "data_version": store_data.data_version(conn),
            "latest_poll_us": latest,
            "oldest_poll": _iso(store_data.earliest_poll_us(conn)),
            "newest_poll": _iso(latest),
            # Live status (SPEC 10) follows a CSV load once the alert evaluator has folded it in:
            # after a load by another process (`flask load-data`) the service catches up on start.
            "live": {"caught_up": live_queries.cursor_load_version(conn) >= store_data.last_changed_load(conn)},
            "last_load": None if last is None else {
                "finished_at": last.finished_at.isoformat(),
                "rows_loaded": last.rows_loaded,
                "rows_rejected": last.rows_rejected,
                "changed": last.changed,
            },
        }
