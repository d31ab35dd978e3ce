"""Read-only queries that describe the stored data for `/health`: counts, versions, last load."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from models import store_data
from models.db import read_tx
from models.tables import DataLoad, Store


def data_status(engine: Engine) -> dict[str, Any]:
    """Stores, polls, data version, newest poll and the last load, from one snapshot."""
    with read_tx(engine) as conn:
        last = conn.execute(DataLoad.__table__.select().order_by(DataLoad.id.desc()).limit(1)).first()
        return {
            "stores": int(conn.execute(select(func.count()).select_from(Store)).scalar_one()),
            "polls": store_data.count_polls(conn),
            "data_version": store_data.data_version(conn),
            "latest_poll_us": store_data.latest_poll_us(conn),
            "last_load": None if last is None else {
                "finished_at": last.finished_at.isoformat(),
                "rows_loaded": last.rows_loaded,
                "rows_rejected": last.rows_rejected,
                "changed": last.changed,
            },
        }
