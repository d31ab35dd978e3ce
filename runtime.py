"""The long-lived objects of one running app: engine, report runner, reload scheduler.

Built by the app factory and kept in `app.extensions`, so nothing is created at import time
and every test can build its own isolated app.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from config import Config
from models.db import describe_database_error, init_schema, make_engine, redacted_url
from services.jobs.runner import ReportRunner
from services.reports.builder import InputsCache
from services.jobs.reload import ReloadScheduler
from services.delivery.worker import RETRY_DELAYS, DeliveryWorker
from services.schedules.scheduler import Clock, Scheduler, clock_from_setting, report_starter, tick_for_speed

log = logging.getLogger(__name__)

EXTENSION_KEY = "store_monitor"


@dataclass
class Runtime:
    config: Config
    engine: Engine
    runner: ReportRunner
    scheduler: ReloadScheduler
    clock: Clock  # the scheduler's "now" (SPEC 7); injectable for tests
    report_scheduler: Scheduler
    delivery_worker: DeliveryWorker
    schema_ready: bool = False
    _schema_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: Config) -> Runtime:
        engine = make_engine(config.database_url)
        try:
            config.report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # reports will fail with the reason; the API still answers
            log.error("REPORT_DIR %s is not usable: %s", config.report_dir, exc)
        runner = ReportRunner(engine, config.report_dir, config.report_workers, InputsCache())
        clock, speed = clock_from_setting(config.scheduler_clock)
        runtime = cls(
            config=config,
            engine=engine,
            runner=runner,
            scheduler=ReloadScheduler(engine, config.csv_dir, config.reload_interval_seconds),
            clock=clock,
            report_scheduler=Scheduler(engine, report_starter(runner), clock, tick_for_speed(speed)),
            delivery_worker=DeliveryWorker(
                engine, config.webhook_secret, config.webhook_allow_private,
                delays=[d * config.webhook_retry_scale for d in RETRY_DELAYS],
                poll_seconds=min(1.0, max(0.05, config.webhook_retry_scale)),
            ),
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
                init_schema(self.engine)
                self.schema_ready = True

    def start_background(self) -> None:
        """What `python app.py` adds to a plain app: crash recovery, the reload, schedule and webhook threads."""
        try:
            self.ensure_schema()
            self.runner.recover()
        except DBAPIError as exc:
            log.error("could not recover unfinished reports: %s", exc.orig)
        self.scheduler.start()
        self.report_scheduler.start()
        self.delivery_worker.start()

    def close(self) -> None:
        self.scheduler.stop()
        self.report_scheduler.stop()
        self.delivery_worker.stop()
        self.runner.shutdown()
        self.engine.dispose()


def runtime_of(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions[EXTENSION_KEY]
