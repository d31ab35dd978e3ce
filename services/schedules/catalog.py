"""Create, list, describe and delete schedules; answers are plain dicts for the controllers."""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from models import report_jobs
from models import schedules as schedule_rows
from services.schedules.cron import next_due, parse_zone

_STATUS = {report_jobs.PENDING: "Running", report_jobs.RUNNING: "Running", report_jobs.COMPLETE: "Complete",
           report_jobs.FAILED: "Failed"}


def create(engine: Engine, *, cron: str, zone_name: str, params: dict[str, Any], webhook_url: str | None,
           now: datetime) -> str:
    """Store an already validated schedule; its first run is the first due time after `now`."""
    schedule_id = secrets.token_urlsafe(12)
    schedule_rows.add(engine, schedule_rows.Schedule(
        id=schedule_id, cron=cron, timezone=zone_name, params=json.dumps(params), webhook_url=webhook_url,
        created_at=now,
    ))
    return schedule_id


def _summary(schedule: schedule_rows.Schedule, now: datetime) -> dict[str, Any]:
    upcoming = next_due(schedule.cron, parse_zone(schedule.timezone), now)
    return {
        "schedule_id": schedule.id, "cron": schedule.cron, "timezone": schedule.timezone,
        "params": json.loads(schedule.params), "webhook_url": schedule.webhook_url,
        "created_at": schedule.created_at.isoformat(),
        "next_run": upcoming.isoformat() if upcoming else None,
    }


def list_all(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    return [_summary(s, now) for s in schedule_rows.all_schedules(engine)]


def describe(engine: Engine, schedule_id: str, now: datetime) -> dict[str, Any] | None:
    """A schedule with its next run, its last run (and that run's report) and recent reports."""
    schedule = schedule_rows.get(engine, schedule_id)
    if schedule is None:
        return None
    reports = schedule_rows.recent_reports(engine, schedule_id)
    statuses = {r.id: _STATUS.get(r.status, r.status) for r in reports}
    last = schedule_rows.last_run(engine, schedule_id)
    last_view = None
    if last is not None:
        status = statuses.get(last.report_id) if last.report_id else None
        if last.report_id and status is None:
            report = report_jobs.get(engine, last.report_id)
            status = _STATUS.get(report.status) if report else None
        last_view = {"due_at": last.due_at.isoformat(), "report_id": last.report_id, "status": status}
    return {
        **_summary(schedule, now),
        "last_run": last_view,
        "recent_reports": [
            {"report_id": r.id, "status": statuses[r.id],
             "created_at": r.created_at.isoformat() if r.created_at else None,
             "finished_at": r.finished_at.isoformat() if r.finished_at else None}
            for r in reports
        ],
    }


def delete(engine: Engine, schedule_id: str) -> bool:
    return schedule_rows.remove(engine, schedule_id)
