"""Queries on the report jobs table: the state a report id keeps across restarts."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Engine, select, update

from models.db import read_session, write_session
from models.tables import Report

PENDING, RUNNING, COMPLETE, FAILED = "pending", "running", "complete", "failed"
UNFINISHED = (PENDING, RUNNING)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create(engine: Engine, report_id: str, params: dict[str, Any], api_key_id: str | None = None) -> Report:
    report = Report(id=report_id, status=PENDING, params=json.dumps(params), created_at=_now(), progress=0.0,
                    api_key_id=api_key_id)
    with write_session(engine) as s:
        s.add(report)
    return report


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


def mark_running(engine: Engine, report_id: str) -> None:
    _update(engine, report_id, status=RUNNING, started_at=_now(), progress=0.05, error=None)


def mark_requeued(engine: Engine, report_id: str) -> None:
    _update(engine, report_id, status=PENDING, started_at=None, progress=0.0)


def mark_complete(
    engine: Engine, report_id: str, *, file_name: str, row_count: int, data_version: int, now_us: int,
    cache_key: str | None, timings: dict[str, Any],
) -> None:
    _update(
        engine, report_id, status=COMPLETE, finished_at=_now(), progress=1.0, file_name=file_name,
        row_count=row_count, data_version=data_version, now_us=now_us, cache_key=cache_key,
        timings=json.dumps(timings),
    )


def mark_failed(engine: Engine, report_id: str, error: str) -> None:
    _update(engine, report_id, status=FAILED, finished_at=_now(), error=error[:2000])


def _update(engine: Engine, report_id: str, **values: Any) -> None:
    with write_session(engine) as s:
        s.execute(update(Report).where(Report.id == report_id).values(**values))
