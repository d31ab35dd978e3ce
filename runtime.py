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
from models.db import init_schema, make_engine, redacted_url
from services.jobs.runner import ReportRunner
from services.reports.builder import InputsCache
from services.jobs.reload import ReloadScheduler

log = logging.getLogger(__name__)

EXTENSION_KEY = "store_monitor"


@dataclass
class Runtime:
    config: Config
    engine: Engine
    runner: ReportRunner
    scheduler: ReloadScheduler
    schema_ready: bool = False
    _schema_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: Config) -> Runtime:
        engine = make_engine(config.database_url)
        try:
            config.report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # reports will fail with the reason; the API still answers
            log.error("REPORT_DIR %s is not usable: %s", config.report_dir, exc)
        runtime = cls(
            config=config,
            engine=engine,
            runner=ReportRunner(engine, config.report_dir, config.report_workers, InputsCache()),
            scheduler=ReloadScheduler(
                engine, config.csv_dir, config.reload_interval_seconds, config.load_settle_seconds
            ),
        )
        try:
            runtime.ensure_schema()
        except DBAPIError as exc:
            # Start anyway: the API answers 503 until the database is back.
            log.error("database %s unreachable at start-up: %s", redacted_url(config.database_url), exc.orig)
        return runtime

    def ensure_schema(self) -> None:
        if self.schema_ready:
            return
        with self._schema_lock:
            if not self.schema_ready:
                init_schema(self.engine)
                self.schema_ready = True

    def start_background(self) -> None:
        """What `python app.py` adds to a plain app: crash recovery and the reload thread."""
        try:
            self.ensure_schema()
            self.runner.recover()
        except DBAPIError as exc:
            log.error("could not recover unfinished reports: %s", exc.orig)
        self.scheduler.start()

    def close(self) -> None:
        self.scheduler.stop()
        self.runner.shutdown()
        self.engine.dispose()


def runtime_of(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions[EXTENSION_KEY]
