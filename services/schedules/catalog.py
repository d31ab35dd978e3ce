"""Create, list, describe and delete schedules; answers are plain dicts for the controllers."""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import Engine

from models import report_jobs
from models import schedules as schedule_rows
from services.access.principal import (
    ANONYMOUS, Principal, listing_key_filter, may_see_made_by, require, scope_store_ids,
)
from services.contract import parse
from services.errors import InvalidInput
from services.contract.reports import ReportRequest
from services.schedules.cron import next_due, parse_zone

_STATUS = {report_jobs.PENDING: "Running", report_jobs.RUNNING: "Running", report_jobs.COMPLETE: "Complete",
           report_jobs.FAILED: "Failed"}


def create(engine: Engine, *, cron: str, zone_name: str, params: ReportRequest | Mapping[str, Any],
           webhook_url: str | None, now: datetime, principal: Principal = ANONYMOUS) -> str:
    """Store a schedule (cron and zone already validated); its first run is the first due time
    after `now`. `params` is the report request, or its parameters (validated here).

    An owner's schedule is narrowed to its stores now (Forbidden for one outside them), so each
    of its runs reports on those stores only; the schedule records the key that made it."""
    require(principal, "schedules")
    request = params if isinstance(params, ReportRequest) else parse(ReportRequest, params)
    request = request.narrowed_to(scope_store_ids(principal, request.store_ids))
    schedule_id = secrets.token_urlsafe(12)
    schedule_rows.add(engine, schedule_rows.Schedule(
        id=schedule_id, cron=cron, timezone=zone_name, params=json.dumps(request.stored()), webhook_url=webhook_url,
        created_at=now, api_key_id=principal.key_id,
    ))
    return schedule_id


def _summary(schedule: schedule_rows.Schedule, now: datetime) -> dict[str, Any]:
    upcoming = next_due(schedule.cron, parse_zone(schedule.timezone), now)
    return {
        "schedule_id": schedule.id, "cron": schedule.cron, "timezone": schedule.timezone,
        "params": _params_view(json.loads(schedule.params)), "webhook_url": schedule.webhook_url,
        "created_at": schedule.created_at.isoformat(),
        "next_run": upcoming.isoformat() if upcoming else None,
    }


def _params_view(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters in today's form (a schedule of the last release stored `as_of_us`, …)."""
    try:
        return ReportRequest.from_stored(params).stored()
    except InvalidInput:
        return params


def list_all(engine: Engine, now: datetime, principal: Principal = ANONYMOUS) -> list[dict[str, Any]]:
    require(principal, "schedules")
    return [_summary(s, now) for s in schedule_rows.all_schedules(engine, listing_key_filter(principal))]


def _visible(engine: Engine, schedule_id: str, principal: Principal) -> schedule_rows.Schedule | None:
    """The schedule, or None when unknown or made with another key and asked for by an owner."""
    require(principal, "schedules")
    schedule = schedule_rows.get(engine, schedule_id)
    return schedule if schedule is not None and may_see_made_by(principal, schedule.api_key_id) else None


def describe(engine: Engine, schedule_id: str, now: datetime, principal: Principal = ANONYMOUS) -> dict[str, Any] | None:
    """A schedule with its next run, its last run (and that run's report) and recent reports."""
    schedule = _visible(engine, schedule_id, principal)
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


def delete(engine: Engine, schedule_id: str, principal: Principal = ANONYMOUS) -> bool:
    if _visible(engine, schedule_id, principal) is None:
        return False
    return schedule_rows.remove(engine, schedule_id)
