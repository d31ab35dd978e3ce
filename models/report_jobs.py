"""Queries on the reports table: the state a report id keeps across restarts and processes."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Engine, select, update

from models import report_tasks
from models.db import read_session, write_session, write_tx
from models.job_tables import COMPLETE, FAILED, PENDING, RUNNING, UNFINISHED, JobStatus
from models.tables import Report

__all__ = ["COMPLETE", "FAILED", "PENDING", "RUNNING", "UNFINISHED", "JobStatus"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(
    engine: Engine, report_id: str, params: dict[str, Any], shards: Sequence[Sequence[str] | None] = (None,),
    owner: str | None = None, lease_until_us: int | None = None, *, webhook_url: str | None = None,
    schedule_id: str | None = None, api_key_id: str | None = None,
) -> Report:
    """The report row and its shard tasks, in one transaction (a report never lacks its tasks)."""
    report = Report(id=report_id, status=PENDING, params=json.dumps(params), created_at=_now(), progress=0.0,
                    shards_total=len(shards), shards_done=0, webhook_url=webhook_url, schedule_id=schedule_id,
                    api_key_id=api_key_id)
    with write_session(engine) as s:
        s.add(report)
        s.flush()
        report_tasks.create_tasks(s.connection(), report_id, shards, owner, lease_until_us)
    return report


def delete(engine: Engine, report_id: str) -> None:
    """Forget a report nobody was told about (its work could not be queued)."""
    with write_tx(engine) as conn:
        report_tasks.delete_report_tasks(conn, report_id)
        conn.execute(Report.__table__.delete().where(Report.id == report_id))


def get(engine: Engine, report_id: str) -> Report | None:
    with read_session(engine) as s:
        return s.get(Report, report_id)


def recent(engine: Engine, limit: int = 20, api_key_id: str | None = None) -> Sequence[Report]:
    """The newest reports; only those made with `api_key_id` when it is given."""
    query = select(Report)
    if api_key_id is not None:
        query = query.where(Report.api_key_id == api_key_id)
    with read_session(engine) as s:
        return s.scalars(query.order_by(Report.created_at.desc()).limit(limit)).all()


def unfinished(engine: Engine) -> Sequence[Report]:
    with read_session(engine) as s:
        return s.scalars(select(Report).where(Report.status.in_(UNFINISHED)).order_by(Report.created_at)).all()


def find_cached(engine: Engine, cache_key: str) -> Report | None:
    """A finished report with the same parameters on the same data, if one exists."""
    with read_session(engine) as s:
        return s.scalars(
            select(Report)
            .where(Report.cache_key == cache_key, Report.status == COMPLETE)
            .order_by(Report.finished_at.desc())
            .limit(1)
        ).first()


def finish(engine: Engine, report_id: str, status: JobStatus, **values: Any) -> bool:
    """Move an unfinished report to its final status; False if it had already ended (another
    holder finished it first), so a report ends exactly once."""
    assert status in (JobStatus.COMPLETE, JobStatus.FAILED)
    if "timings" in values and not isinstance(values["timings"], str):
        values["timings"] = json.dumps(values["timings"])
    if "error" in values and values["error"] is not None:
        values["error"] = values["error"][:2000]
    progress = {"progress": 1.0} if status is JobStatus.COMPLETE else {}
    with write_tx(engine) as conn:
        ended = conn.execute(
            update(Report).where(Report.id == report_id, Report.status.in_(UNFINISHED))
            .values(status=status.value, finished_at=_now(), **progress, **values)
        ).rowcount == 1
        if ended:
            report_tasks.close_all(conn, report_id, status.value)
    return ended
