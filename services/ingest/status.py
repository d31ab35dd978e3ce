"""Whether ingestion is healthy: `degraded` while the newest load refused a file or failed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from models import loads
from models.db import read_tx


@dataclass(frozen=True)
class IngestStatus:
    status: str  # ok | degraded
    reason: str | None = None


def ingest_status(engine: Engine, reload_error: str | None = None, reload_error_at: datetime | None = None) -> IngestStatus:
    """Judged on the newest load recorded by any process, and on this process's last reload
    error when that is newer (a load that failed before it could record anything)."""
    with read_tx(engine) as conn:
        newest = loads.newest_load(conn)
    if reload_error and (newest is None or reload_error_at is None or reload_error_at > newest.finished_at):
        return IngestStatus("degraded", f"the newest load failed: {reload_error}")
    if newest is None:
        return IngestStatus("ok")
    summary = loads.parse_summary(newest.summary)
    if summary["error"]:
        return IngestStatus("degraded", f"the newest load failed: {summary['error']}")
    refused = [f.get("message") or f"{f.get('kind')} file refused" for f in summary["files"] if f.get("status") == "refused"]
    if refused:
        return IngestStatus("degraded", "the newest load refused a file: " + "; ".join(refused))
    return IngestStatus("ok")
