"""What the report, availability and schedule endpoints answer, as models: the OpenAPI document's
response schemas are generated from these (controllers/openapi_routes.py).

Answers allow fields beyond those listed (a client must ignore what it does not know), so a
feature that adds a field to an answer never makes the document wrong; the listed ones are
always there when marked required.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


Instant = str  # UTC ISO-8601 with Z


class ReportStarted(Answer):
    report_id: str
    status: Literal["Running"]


class ReportState(Answer):
    """A report still running, or failed (a finished one is its CSV)."""

    report_id: str
    status: Literal["Running", "Failed"]
    progress: float = Field(None, ge=0, le=1, description="Fraction done (Running)")
    error: str = Field(None, description="Why it failed (Failed)")


class Delivery(Answer):
    attempt: int
    attempted_at: Instant
    http_status: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    delivered: bool


class WebhookState(Answer):
    status: str
    next_attempt_at: Instant | None = None


class ReportSummary(Answer):
    """A report job: its parameters as asked, its state, timings and webhook deliveries."""

    report_id: str
    status: Literal["Running", "Complete", "Failed"]
    state: str = Field(None, description="pending, running, complete or failed")
    progress: float = Field(None, ge=0, le=1)
    store_ids: list[str] | None = Field(None, description="The stores asked for (None: every store)")
    as_of: Instant | None = None
    kind: Literal["range"] = Field(None, description="Present for a range report (SPEC 5)")
    from_: Instant | None = Field(None, alias="from", description="A range report's from, as asked")
    to: Instant | None = Field(None, description="A range report's to, as asked (None: the newest poll)")
    last_hours: int | None = None
    now: Instant | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    timings: dict[str, Any] | None = None
    row_count: int | None = None
    data_version: int | None = None
    error: str | None = None
    warnings: list[str] = Field(None)
    deliveries: list[Delivery] = Field(None, description="Webhook attempts, oldest first (SPEC 7)")
    webhook: WebhookState | None = None


class ReportList(Answer):
    reports: list[ReportSummary]


class Incident(Answer):
    start: Instant
    end: Instant
    minutes: float


class LocalDay(Answer):
    date: str = Field(description="YYYY-MM-DD, the store's local date")
    business_hours: float
    uptime_hours: float
    downtime_hours: float


class ClosedSpan(Answer):
    start: Instant
    end: Instant
    reason: str | None


class Availability(Answer):
    """One store over [from, to) (SPEC 5.2)."""

    store_id: str
    timezone: str
    from_: Instant = Field(alias="from")
    to: Instant
    business_hours: float
    uptime_hours: float
    downtime_hours: float
    uptime_percent: float | None
    incidents: list[Incident]
    days: list[LocalDay]
    closed_hours: float = Field(None, description="Business hours that closures took out of the range (SPEC 9)")
    closures: list[ClosedSpan] = Field(None, description="The store's closures, clipped to the range (SPEC 9)")


class LastRun(Answer):
    due_at: Instant
    report_id: str | None
    status: str | None


class ScheduledReport(Answer):
    report_id: str
    status: str
    created_at: str | None = None
    finished_at: str | None = None


class Schedule(Answer):
    schedule_id: str
    cron: str
    timezone: str
    params: dict[str, Any] = Field(description="The report request as stored: store_ids, as_of, from, to, "
                                               "last_hours (instants as UTC text)")
    webhook_url: str | None = None
    created_at: str = Field(None)
    next_run: Instant | None = None
    last_run: LastRun | None = Field(None, description="Only in GET /schedules/{schedule_id}")
    recent_reports: list[ScheduledReport] = Field(None, description="Only in GET /schedules/{schedule_id}")


class ScheduleList(Answer):
    schedules: list[Schedule]


class ScheduleCreated(Answer):
    schedule_id: str


class ScheduleDeleted(Answer):
    schedule_id: str
    deleted: Literal[True]
