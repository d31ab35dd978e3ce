"""What the API tells about report jobs: one job's state and file, the recent jobs.

Controllers ask here instead of reading the tables, so they deal in plain values only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models import report_jobs
from models.tables import Report
from services.access.principal import ANONYMOUS, Principal, listing_key_filter, may_see_made_by, require
from services.contract.reports import ReportRequest
from services.errors import InvalidInput
from services.ingest.parsing import format_instant
from services.jobs.runner import ReportRunner
from services.jobs.storage import StoredReport

_PUBLIC_STATUS = {"pending": "Running", "running": "Running", "complete": "Complete", "failed": "Failed"}


@dataclass(frozen=True)
class ReportState:
    report_id: str
    status: str  # the public status of SPEC 3: Running, Complete or Failed
    progress: float
    error: str | None
    stored: StoredReport | None  # the CSV of a complete report, None if it no longer exists
    summary: dict[str, Any]  # the JSON view of `/reports/<id>`


def find_report(runner: ReportRunner, report_id: str, principal: Principal = ANONYMOUS) -> ReportState | None:
    """None when unknown, or made with another key and asked for by an owner (SPEC 8: a 404)."""
    require(principal, "reports")
    report = report_jobs.get(runner.engine, report_id)
    if report is None or not may_see_made_by(principal, report.api_key_id):
        return None
    return _state(runner, report)


def recent_reports(runner: ReportRunner, limit: int, principal: Principal = ANONYMOUS) -> list[dict[str, Any]]:
    """The newest reports the principal may see (an owner: those made with its key)."""
    require(principal, "reports")
    reports = report_jobs.recent(runner.engine, limit, api_key_id=listing_key_filter(principal))
    return [_state(runner, r).summary for r in reports]


def _state(runner: ReportRunner, report: Report) -> ReportState:
    summary = report_summary(report, runner.progress(report.id))
    stored = runner.fetch(report) if report.status == report_jobs.COMPLETE else None
    return ReportState(
        report_id=report.id, status=summary["status"], progress=summary["progress"],
        error=report.error or ("unknown error" if report.status == report_jobs.FAILED else None),
        stored=stored, summary=summary,
    )


def report_summary(report: Report, progress: float | None) -> dict[str, Any]:
    """The JSON view of a report job (no file contents)."""
    params = json.loads(report.params)
    timings = json.loads(report.timings) if report.timings else None
    duration = (
        (report.finished_at - report.started_at).total_seconds()
        if report.finished_at and report.started_at else None
    )
    return {
        "report_id": report.id,
        "status": _PUBLIC_STATUS[report.status],
        "state": report.status,
        "progress": round(progress if progress is not None else report.progress, 3),
        **_request_view(params),
        "now": format_instant(report.now_us) if report.now_us else None,
        "created_at": report.created_at.isoformat() if report.created_at else None,
        "started_at": report.started_at.isoformat() if report.started_at else None,
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "duration_seconds": duration,
        "timings": timings,
        "row_count": report.row_count,
        "data_version": report.data_version,
        "warnings": json.loads(report.warnings) if report.warnings else [],
        "error": report.error,
    }


def _request_view(params: dict[str, Any]) -> dict[str, Any]:
    """The report's parameters as asked; a range report's range (SPEC 5.2) with `to` None
    meaning the latest poll."""
    try:
        request = ReportRequest.from_stored(params)
    except InvalidInput:  # a row no release could have written; its run fails with the reason
        return {"store_ids": None, "as_of": None}
    stored = request.stored()
    view: dict[str, Any] = {"store_ids": stored.get("store_ids"), "as_of": stored.get("as_of")}
    if request.is_range:
        view.update({"kind": "range", "from": stored.get("from"), "to": stored.get("to"),
                     "last_hours": request.last_hours})
    return view
