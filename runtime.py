"""The long-lived objects of one running app: engine, report runner, CSV reload loop, report scheduler.

Built by the app factory and kept in `app.extensions`, so nothing is created at import time
and every test can build its own isolated app.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from config import Config
from models.db import describe_database_error, init_schema, make_engine, redacted_url
from services.jobs.queues import CeleryQueue, check_broker
from services.jobs.runner import ReportRunner
from services.jobs.storage import DatabaseStore, FileStore
from services.reports.builder import InputsCache
from services.reports.answers import AnswerCache
from services.ingest.reload_loop import CsvReloadLoop
from services.delivery.worker import RETRY_DELAYS, DeliveryWorker, wake_delivery_worker
from services.live.evaluator import LiveEvaluator
from services.priority import report_priority
from services.schedules.scheduler import Clock, ReportScheduler, clock_from_setting, report_starter, tick_for_speed

log = logging.getLogger(__name__)

EXTENSION_KEY = "store_monitor"


@dataclass
class Runtime:
    config: Config
    engine: Engine
    runner: ReportRunner
    reload_loop: CsvReloadLoop  # CSV_DIR reloads (SPEC 4)
    clock: Clock  # the report scheduler's "now" (SPEC 7); injectable for tests
    report_scheduler: ReportScheduler
    delivery_worker: DeliveryWorker
    live: LiveEvaluator  # SPEC 10: live status, store transitions and alert events
    answers: AnswerCache = field(default_factory=AnswerCache)  # one store's availability (SPEC 5.2)
    schema_ready: bool = False
    schema_revisions: tuple[str | None, str] | None = None  # what this process's start-up migration did
    _schema_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: Config, celery_app: Any = None) -> Runtime:
        """`celery_app` (REPORT_BACKEND=celery) sends report tasks to workers; else a thread pool."""
        engine = make_engine(config.database_url)
        try:
            config.report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # reports will fail with the reason; the API still answers
            log.error("REPORT_DIR %s is not usable: %s", config.report_dir, exc)
        runner = ReportRunner(
            engine,
            DatabaseStore(engine) if celery_app is not None else FileStore(config.report_dir),
            lease_seconds=config.job_lease_seconds,
            shards=config.report_shards if celery_app is not None else 1,
            workers=config.report_workers,
            cache=InputsCache(),
            celery_app=celery_app,
        )
        report_priority.configure(config.live_share_while_reporting)
        clock, speed = clock_from_setting(config.scheduler_clock)
        runtime = cls(
            config=config,
            engine=engine,
            runner=runner,
            reload_loop=CsvReloadLoop(
                engine, config.csv_dir, config.reload_interval_seconds, config.load_settle_seconds,
                retention_days=config.poll_retention_days,
            ),
            clock=clock,
            report_scheduler=ReportScheduler(engine, report_starter(runner), clock, tick_for_speed(speed)),
            delivery_worker=DeliveryWorker(
                engine, config.webhook_secret, config.webhook_allow_private,
                delays=[d * config.webhook_retry_scale for d in RETRY_DELAYS],
                poll_seconds=min(1.0, max(0.05, config.webhook_retry_scale)),
            ),
            live=LiveEvaluator(engine, config.stale_after_minutes, on_delivery_queued=wake_delivery_worker),
        )
        try:
            runtime.ensure_schema()
        except DBAPIError as exc:
            # Start anyway: the API answers 503 until the database is back.
            log.error("database %s unreachable at start-up: %s (%s)", redacted_url(config.database_url),
                      describe_database_error(config.database_url, exc), exc.orig)
        return runtime

    def ensure_schema(self) -> None:
        if self.schema_ready:
            return
        with self._schema_lock:
            if not self.schema_ready:
                self.schema_revisions = init_schema(self.engine)
                self.schema_ready = True

    def start_background(self) -> None:
        """What `python app.py` adds to a plain app: the lease sweep (which also recovers work
        a dead process left behind), the reload, schedule and webhook threads. Raises
        QueueUnavailable if the Celery broker does not answer."""
        if isinstance(self.runner.queue, CeleryQueue):
            check_broker(self.runner.queue.celery_app)
        try:
            self.ensure_schema()
        except DBAPIError as exc:
            log.error("database unreachable at start-up: %s", exc.orig)
        self.runner.start()
        self.reload_loop.start()
        self.report_scheduler.start()
        self.delivery_worker.start()
        self.live.start()

    def close(self) -> None:
        self.reload_loop.stop()
        self.report_scheduler.stop()
        self.live.stop()
        self.delivery_worker.stop()
        self.runner.shutdown()
        self.engine.dispose()


def runtime_of(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions[EXTENSION_KEY]
