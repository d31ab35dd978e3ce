"""Report jobs: queue a report's shards, serve their progress, take over work whose lease expired.

All state lives in the database (models.report_jobs, models.report_tasks), so every process of a
deployment sees every report, and a report id outlives the process that created it. The
queue (threads or Celery) only carries (report_id, shard) to whoever runs `run_report_task`.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Sequence

import numpy as np
from sqlalchemy import Engine

from models import report_jobs, report_tasks, store_data
from models.db import read_tx
from models.report_jobs import JobStatus
from models.tables import Report
from services.jobs.leases import Leases, now_us
from services.jobs.outcome import report_finished
from services.jobs.queues import CeleryQueue, JobQueue, QueueUnavailable, ThreadQueue
from services.jobs.storage import ReportStore, StoredReport
from services.metrics import LEASE_TAKEOVERS
from services.jobs.tasks import MAX_ATTEMPTS, JobContext, run_report_task
from services.contract.reports import ReportRequest
from services.reports.builder import InputsCache
from services.periodic import Periodic

log = logging.getLogger(__name__)

# A task waiting in the broker is sent again after this many leases: a lost message (a broker
# restarted without persistence) cannot leave a report Running forever; a duplicate is harmless.
BROKER_LEASE_FACTOR = 5

__all__ = ["QueueUnavailable", "ReportRequest", "ReportRunner"]


def new_report_id() -> str:
    """A random URL-safe id that never begins with "-" (it would read as an option in a shell)."""
    while True:
        report_id = secrets.token_urlsafe(16)
        if not report_id.startswith("-"):
            return report_id


class ReportRunner:
    def __init__(
        self, engine: Engine, store: ReportStore, *, lease_seconds: int, shards: int = 1, workers: int = 4,
        cache: InputsCache | None = None, celery_app: Any = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.shards = shards
        self.lease_seconds = lease_seconds
        self.context = JobContext(engine, store, Leases(engine, lease_seconds), cache or InputsCache())
        self.queue: JobQueue = (
            CeleryQueue(celery_app) if celery_app is not None else ThreadQueue(workers, self.run_task)
        )
        self.context.leases_hold_queued = self.queue.local
        self._sweeper = Periodic("lease-sweep", self.sweep, lambda: self.context.leases.sweep_interval)

    @property
    def cache(self) -> InputsCache:
        """The last full read kept in memory; synchronous reads (availability) share it."""
        return self.context.cache

    # -- API side ------------------------------------------------------------------------------
    def submit(self, request: ReportRequest, *, webhook_url: str | None = None,
               schedule_id: str | None = None, api_key_id: str | None = None) -> Report:
        """Record the report and its shards, then queue them; QueueUnavailable leaves nothing behind."""
        report_id = new_report_id()
        shards = self._plan(request)
        owner, lease_until = self._queued_lease()
        report = report_jobs.create(self.engine, report_id, request.stored(), shards, owner, lease_until,
                                    webhook_url=webhook_url, schedule_id=schedule_id, api_key_id=api_key_id)
        try:
            for shard in range(len(shards)):
                self.queue.enqueue(report_id, shard)
        except QueueUnavailable:
            report_jobs.delete(self.engine, report_id)
            raise
        log.info("report %s queued in %d shard(s) (%s)", report_id, len(shards), request.describe())
        return report

    def _plan(self, request: ReportRequest) -> list[list[str] | None]:
        """Split the report's stores into ranges of store keys, so that each shard's read is a
        range of the polls' (store, time) key (models/report_inputs._dense); the merge puts the
        rows in store_id order."""
        if self.shards <= 1:
            return [None]
        with read_tx(self.engine) as conn:
            ids = store_data.store_keys(conn, request.store_ids).sort_values(kind="stable").index.tolist()
        if not ids:
            return [None]
        count = min(self.shards, len(ids))
        shards = [list(part) for part in np.array_split(np.array(ids, dtype=object), count)]
        if request.store_ids is not None:
            # Ids the database has never seen belong to no range; the first shard carries them so
            # that the report still warns about them (they add no rows).
            shards[0] += sorted(set(request.store_ids) - set(ids))
        return shards

    def _queued_lease(self) -> tuple[str | None, int]:
        if self.queue.local:  # waits in this process's pool: this process's heartbeat keeps it
            return self.context.leases.owner, self.context.leases.until()
        return None, now_us() + BROKER_LEASE_FACTOR * self.context.leases.lease_us

    def progress(self, report_id: str) -> float | None:
        return report_tasks.progress_of(self.engine, [report_id]).get(report_id)

    def progress_many(self, report_ids: Sequence[str]) -> dict[str, float]:
        return report_tasks.progress_of(self.engine, report_ids)

    def fetch(self, report: Report) -> StoredReport | None:
        return self.store.fetch(report.file_name) if report.file_name else None

    # -- worker side ---------------------------------------------------------------------------
    def run_task(self, report_id: str, shard: int) -> None:
        run_report_task(self.context, report_id, shard)

    # -- lease sweep -----------------------------------------------------------------------------
    def sweep(self) -> int:
        """Take over unfinished tasks whose lease expired (their holder died or gave them back);
        fail the report of a task that used up its attempts. Returns how many were re-queued."""
        now = now_us()
        requeued = 0
        for task in report_tasks.expired(self.engine, now):
            if task.attempts >= MAX_ATTEMPTS:
                reason = task.error or "the process running it stopped responding"
                report_finished(self.engine, task.report_id, JobStatus.FAILED,
                                error=f"gave up after {task.attempts} attempts: {reason}")
                continue
            owner, lease_until = self._queued_lease()
            if not report_tasks.take_over(self.engine, task.id, task.status, now, owner, lease_until):
                continue  # another sweeper was first
            try:
                self.queue.enqueue(task.report_id, task.shard)
                requeued += 1
                LEASE_TAKEOVERS.inc()
                log.warning("report %s shard %d: lease expired (%s), re-queued", task.report_id, task.shard,
                            task.status)
            except QueueUnavailable as exc:  # the lease runs out again; the next sweep retries
                log.error("report %s shard %d: cannot re-queue: %s", task.report_id, task.shard, exc)
        return requeued

    def start(self) -> None:
        """Start the sweep thread; its first pass is the start-up recovery."""
        self._sweeper.start()

    def shutdown(self) -> None:
        self._sweeper.stop(timeout=0)
        self.context.leases.stop()
        self.queue.close()

