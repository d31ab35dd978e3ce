"""Queue a finished report's webhook and send queued ones, retrying with growing delays.

`report_finished` is called wherever a report reaches its final status (any process, any
backend); it only writes the delivery row. Every API process runs a `DeliveryWorker` that
leases due deliveries from the database, so a pending retry survives a restart and is sent by
whichever process is up.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models import deliveries, report_jobs
from services.delivery.sender import TIMEOUT_SECONDS, send
from services.delivery.urls import Resolver, system_resolver
from services.metrics import WEBHOOK_DELIVERIES
from services.periodic import Periodic

log = logging.getLogger(__name__)

# Seconds after each failed attempt: the first retry within 10 s, then growing, ~3.7 hours in all.
RETRY_DELAYS: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 3600, 3600)
_FINAL = {report_jobs.COMPLETE: "Complete", report_jobs.FAILED: "Failed"}
# How far back a finished report whose webhook could not be queued is still announced.
UNANNOUNCED_LOOKBACK = timedelta(days=1)
_wake = threading.Event()  # set when this process queued a delivery: send it now, not at the next poll


def _subject(key: str) -> str:
    """What a delivery announces, for the log: `report <id>` or `alert event <id>` (SPEC 10)."""
    return f"alert event {key[6:]}" if key.startswith("alert:") else f"report {key}"


def wake_delivery_worker() -> None:
    """Send what this process just queued (alert events) now, not at the worker's next poll."""
    _wake.set()


def webhook_body(report_id: str, status: str, schedule_id: str | None) -> str:
    """The JSON of SPEC 7, compact and ASCII, so the stored text is the exact bytes sent."""
    payload = {
        "event": "report.finished", "report_id": report_id, "status": status, "schedule_id": schedule_id,
        "url": f"/get_report?report_id={report_id}",
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True)


def report_finished(engine: Engine, report_id: str) -> None:
    """Queue the webhook of a report that just ended, if it has one; never raises into the caller."""
    try:
        report = report_jobs.get(engine, report_id)
        if report is None or not report.webhook_url or report.status not in _FINAL:
            return
        body = webhook_body(report.id, _FINAL[report.status], report.schedule_id)
        if deliveries.enqueue(engine, report.id, report.webhook_url, body, datetime.now(timezone.utc)):
            log.info("report %s: webhook queued", report_id)
            _wake.set()
    except DBAPIError as exc:  # the database is away: the delivery worker queues it once it is back
        log.error("report %s: could not queue its webhook now (database error: %s); it is queued when the "
                  "database answers again", report_id, exc.orig)
    except Exception:  # the report itself is done; a lost webhook is logged, not a failed report
        log.exception("report %s: could not queue its webhook", report_id)


class DeliveryWorker:
    """A thread that sends due deliveries; `run_once` is the unit the tests drive directly."""

    def __init__(
        self, engine: Engine, secret: str | None, allow_private: bool, *,
        delays: Sequence[float] = RETRY_DELAYS, poll_seconds: float = 1.0, timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), resolve: Resolver = system_resolver,
    ) -> None:
        self.engine = engine
        self.secret = secret
        self.allow_private = allow_private
        self.delays = tuple(delays)
        self.poll_seconds = poll_seconds
        self.timeout = timeout
        self.clock = clock
        self.resolve = resolve
        self.lease = timedelta(seconds=timeout * 5 + 30)
        # Woken when this process queues a delivery: sent at once, not at the next poll.
        self._thread = Periodic("webhook-delivery", self.run_once, lambda: self.poll_seconds, wake=_wake)

    def run_once(self) -> int:
        """Queue the webhooks that reports could not queue when they ended, then attempt every
        delivery due now; returns how many were attempted."""
        now = self.clock()
        for report_id in deliveries.unannounced_reports(self.engine, list(_FINAL), now - UNANNOUNCED_LOOKBACK):
            report_finished(self.engine, report_id)
        # The clock again: the deliveries just queued are due from the moment they were queued.
        due = deliveries.claim_due(self.engine, self.clock(), self.lease)
        for delivery in due:
            self._attempt(delivery)
        return len(due)

    def _attempt(self, delivery: deliveries.Delivery) -> None:
        attempted_at = self.clock()
        if not self.secret:
            status, error, seconds = None, "WEBHOOK_SECRET is not configured", 0.0
        else:
            outcome = send(delivery.url, delivery.body.encode("ascii"), self.secret, allow_private=self.allow_private,
                           timeout=self.timeout, resolve=self.resolve,
                           extra_headers={"X-Delivery-Attempt": str(delivery.attempts + 1)})
            status, error, seconds = outcome.http_status, outcome.error, outcome.seconds
        delivered = error is None and status is not None and 200 <= status < 300
        retry_index = delivery.attempts  # attempts made before this one
        next_at = None
        if not delivered and retry_index < len(self.delays):
            next_at = self.clock() + timedelta(seconds=self.delays[retry_index])
        deliveries.record_attempt(
            self.engine, delivery, attempted_at=attempted_at, http_status=status, error=error,
            duration_ms=int(seconds * 1000), next_attempt_at=next_at, delivered=delivered,
        )
        WEBHOOK_DELIVERIES.labels("delivered" if delivered else "retry" if next_at is not None else "failed").inc()
        if delivered:
            log.info("%s: webhook delivered (HTTP %s)", _subject(delivery.report_id), status)
        elif next_at is not None:
            log.warning("%s: webhook attempt %d failed (%s); retry at %s", _subject(delivery.report_id),
                        delivery.attempts + 1, error, next_at.isoformat())
        else:
            log.error("%s: webhook given up after %d attempts (%s)", _subject(delivery.report_id),
                      delivery.attempts + 1, error)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop(timeout=self.timeout + 5)


def delivery_view(engine: Engine, report_id: str) -> dict[str, object]:
    """For GET /reports/<id>: every attempt under `deliveries` (oldest first) and the webhook's state."""
    delivery, attempts = deliveries.of_report(engine, report_id)
    listed = [
        {"attempt": n, "attempted_at": a.attempted_at.isoformat(), "http_status": a.http_status,
         "error": a.error, "duration_ms": a.duration_ms, "delivered": a.error is None}
        for n, a in enumerate(attempts, start=1)
    ]
    state = None if delivery is None else {
        "status": delivery.status,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
    }
    return {"deliveries": listed, "webhook": state}
