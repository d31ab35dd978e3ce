"""`/health` for load balancers and operators: database reachable, last load, row counts."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from models import store_data
from models.db import read_tx, redacted_url
from models.tables import DataLoad, Store
from runtime import runtime_of
from services.ingest.status import ingest_status

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[Response, int]:
    runtime = runtime_of()
    reload_state = runtime.scheduler.state
    body: dict = {
        "database": redacted_url(runtime.config.database_url).split("://", 1)[0],
        "reload": {
            "running": reload_state.running,
            "last_finished": reload_state.last_finished.isoformat() if reload_state.last_finished else None,
            "last_error": reload_state.last_error,
            "interval_seconds": runtime.config.reload_interval_seconds,
        },
    }
    try:
        runtime.ensure_schema()
        with read_tx(runtime.engine) as conn:
            last = conn.execute(DataLoad.__table__.select().order_by(DataLoad.id.desc()).limit(1)).first()
            latest = store_data.latest_poll_us(conn)
            body.update(
                status="ok",
                stores=int(conn.execute(select(func.count()).select_from(Store)).scalar_one()),
                polls=store_data.count_polls(conn),
                data_version=store_data.data_version(conn),
                latest_poll_us=latest,
                last_load=None if last is None else {
                    "finished_at": last.finished_at.isoformat(),
                    "rows_loaded": last.rows_loaded,
                    "rows_rejected": last.rows_rejected,
                    "changed": last.changed,
                },
            )
        ingest = ingest_status(runtime.engine, reload_state.last_error, reload_state.last_finished)
        if ingest.status != "ok":  # still serving, but the data may be stale or partial
            body.update(status=ingest.status, reason=ingest.reason)
        return jsonify(body), 200
    except DBAPIError as exc:
        body.update(status="unavailable", error=f"database unreachable: {type(exc.orig).__name__}")
        return jsonify(body), 503
