"""The service's own health for `/health`: the database, the reload thread and the data held."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models.db import describe_database_error, redacted_url
from models.status import data_status
from services.ingest.status import ingest_status
from services.ingest.reload_loop import CsvReloadLoop


def health_status(
    engine: Engine, database_url: str, reload_loop: CsvReloadLoop, ensure_schema: Callable[[], None]
) -> tuple[dict[str, Any], bool]:
    """The health document and whether the database answered.

    status is `loading` while the first load of a started service runs (the API answers, but
    reports would see no data yet), `degraded` (with a `reason`) while the newest load refused a
    file or failed, `ok` otherwise, `unavailable` if the database fails.
    """
    state = reload_loop.state
    body: dict[str, Any] = {
        "database": redacted_url(database_url).split("://", 1)[0],
        "reload": {
            "running": state.running,
            "last_finished": state.last_finished.isoformat() if state.last_finished else None,
            "last_error": state.last_error,
            "interval_seconds": reload_loop.interval_seconds,
        },
    }
    try:
        ensure_schema()
        body.update(data_status(engine))
        ingest = ingest_status(engine, state.last_error, state.last_finished)
    except DBAPIError as exc:
        body.update(status="unavailable", error=describe_database_error(database_url, exc))
        return body, False
    body["status"] = "loading" if reload_loop.first_load_pending else "ok"
    if body["status"] == "ok" and ingest.status != "ok":  # still serving; data may be stale or partial
        body.update(status=ingest.status, reason=ingest.reason)
    return body, True
