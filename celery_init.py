"""Celery wired into the Flask app, the pattern of Flask's "Background Tasks with Celery".

`create_app` calls `celery_init_app` when REPORT_BACKEND=celery: API processes use the Celery
app to send report tasks, and `celery -A make_celery worker` runs them inside the app context.
"""
from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.signals import setup_logging, worker_init, worker_process_init
from flask import Flask

from config import Config
from runtime import runtime_of
from services.jobs.queues import TASK_NAME, celery_settings


def celery_init_app(app: Flask, config: Config) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    @celery_app.task(name=TASK_NAME, ignore_result=True)
    def run_report_task(report_id: str, shard: int) -> None:
        """One shard of one report; all its state is in the database."""
        runtime_of().runner.run_task(report_id, shard)

    if config.log_format == "json":
        @setup_logging.connect(weak=False)
        def _json_logs(**_kwargs: Any) -> None:
            # Connected, this replaces Celery's own logging set-up: one JSON object per line.
            from services.log_format import configure_logging

            configure_logging("json")

    @worker_init.connect(weak=False)
    def _serve_metrics(**_kwargs: Any) -> None:
        # The main process of a prefork worker runs no task: it serves the sum of its children's
        # metrics (PROMETHEUS_MULTIPROC_DIR) on METRICS_PORT.
        if config.metrics_port:
            from services.metrics import serve_metrics

            serve_metrics(config.host, config.metrics_port)

    @worker_process_init.connect(weak=False)
    def _fresh_connections(**_kwargs: Any) -> None:
        # A forked pool process must not share the parent's database connections.
        runtime_of(app).engine.dispose(close=False)

    return celery_app
