"""gunicorn's settings for this project (read from the working directory by default):
`gunicorn -w 4 -b 0.0.0.0:8000 "app:create_app()"`.

The master sets up the app's logging (LOG_FORMAT) for its workers. With PROMETHEUS_MULTIPROC_DIR
set (needed for /metrics to sum every worker), the master takes the directory first
(services/metrics.py empties what an earlier run left) and drops the live gauges of each worker
that exits.
"""
from __future__ import annotations

import os
from typing import Any


def on_starting(_server: Any) -> None:
    from config import Config
    from services.log_format import configure_logging

    # The app's own log lines (gunicorn configures only its own loggers); workers inherit it.
    configure_logging(Config.from_env().log_format)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import services.metrics  # noqa: F401  (claims and empties the directory before any worker)


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from services.metrics import process_exited

        process_exited(worker.pid)
