"""The one place where a report reaches its final status (complete or failed).

Everything that must happen once per finished report (a notification, a metric) belongs in
`report_finished`, after the conditional update that guarantees it runs exactly once.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from models import report_jobs
from models.report_jobs import JobStatus
from services.delivery import worker as delivery
from services.metrics import REPORT_DURATION, REPORTS_FINISHED

log = logging.getLogger(__name__)


def report_finished(engine: Engine, report_id: str, status: JobStatus, **values: Any) -> bool:
    """End the report with `status` (COMPLETE or FAILED, with `error`); False if it had already
    ended elsewhere, in which case nothing else is done."""
    if not report_jobs.finish(engine, report_id, status, **values):
        return False
    _count(engine, report_id, status)
    if status is JobStatus.FAILED:
        log.error("report %s failed: %s", report_id, values.get("error"))
    else:
        log.info("report %s complete (%s rows)", report_id, values.get("row_count"))
    delivery.report_finished(engine, report_id)
    return True


def _count(engine: Engine, report_id: str, status: JobStatus) -> None:
    REPORTS_FINISHED.labels(status.value).inc()
    report = report_jobs.get(engine, report_id)
    if report is not None and report.finished_at is not None:
        REPORT_DURATION.labels(status.value).observe((report.finished_at - report.created_at).total_seconds())
