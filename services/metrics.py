"""Prometheus metrics of the service: what an operator graphs and alerts on (`GET /metrics`).

One process (waitress, `python app.py`) keeps them in memory. Under several processes
(gunicorn workers, Celery prefork children) each process writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and a scrape of any of them sums every process's files. That
directory must be set in the environment before the process starts and must not hold files of
an earlier run: the first process to start empties it (a lock file decides who is first, see
`_claim_multiprocess_dir`). Labels never name a store or a path: one series per store would
grow without bound.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LOCK_NAME = ".store-monitor-processes.lock"
_dir_lock: IO[bytes] | None = None  # held (shared) for the life of the process and its forks


def _claim_multiprocess_dir(directory: str) -> None:
    """Empty `directory` if no live process uses it; then mark this process (and its forks) as a user.

    Every process holds a shared lock on one file for its whole life. A process that can take the
    lock exclusively is alone: the files there belong to dead processes (a previous run), and it
    deletes them before any metric of its own exists. A gunicorn worker restarted while others
    live, or a Celery child forked from its parent, finds the lock held and keeps the files.
    """
    global _dir_lock
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    handle = open(path / _LOCK_NAME, "ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pass  # others are alive: their files are current
    else:
        stale = list(path.glob("*.db"))
        for file in stale:
            file.unlink(missing_ok=True)
        if stale:
            log.info("%s: removed %d metric files of an earlier run", directory, len(stale))
    fcntl.flock(handle, fcntl.LOCK_SH)  # converts the exclusive lock, or waits for the one emptying
    _dir_lock = handle


MULTIPROCESS_DIR = os.environ.get(MULTIPROC_ENV) or None
if MULTIPROCESS_DIR:
    _claim_multiprocess_dir(MULTIPROCESS_DIR)

# Imported after the directory is ready: the library decides at import time where values live.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

# Seconds: from a fast API answer to a fleet report of minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REPORT_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "store_monitor_http_requests_total", "HTTP requests answered, by method, URL rule and status.",
    ["method", "endpoint", "status"],
)
HTTP_LATENCY = Histogram(
    "store_monitor_http_request_duration_seconds", "Time to answer an HTTP request, by method and URL rule.",
    ["method", "endpoint"], buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "store_monitor_http_requests_in_progress", "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
REPORTS_FINISHED = Counter(
    "store_monitor_reports_total", "Reports that reached a final status, by status.", ["status"],
)
REPORT_DURATION = Histogram(
    "store_monitor_report_duration_seconds", "Seconds from a report's trigger to its final status, by status.",
    ["status"], buckets=REPORT_BUCKETS,
)
LOADS = Counter(
    "store_monitor_loads_total", "CSV loads run, by outcome (changed, unchanged, failed).", ["outcome"],
)
LOAD_DURATION = Histogram(
    "store_monitor_load_duration_seconds", "Seconds a CSV load took.", buckets=REPORT_BUCKETS,
)
ROWS_LOADED = Counter(
    "store_monitor_rows_loaded_total", "CSV rows stored by loads, by file kind.", ["kind"],
)
ROWS_REJECTED = Counter(
    "store_monitor_rows_rejected_total", "CSV rows rejected by loads (SPEC 1), by file kind.", ["kind"],
)
POLLS_INGESTED = Counter(
    "store_monitor_polls_ingested_total", "Live polls committed (POST /polls and the broker consumer).",
)
WEBHOOK_DELIVERIES = Counter(
    "store_monitor_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered, retry, failed).", ["outcome"],
)
LEASE_TAKEOVERS = Counter(
    "store_monitor_lease_takeovers_total",
    "Report shards taken over after their holder's lease expired.",
)


def _registry() -> CollectorRegistry:
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()  # a fresh one per scrape, as the library's documentation says
    multiprocess.MultiProcessCollector(registry)  # sums the files of every process
    return registry


def exposition() -> tuple[bytes, str]:
    """The text format of every metric of this deployment's processes, and its content type."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Drop the live gauges of a process that ended (gunicorn's `child_exit` hook)."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(pid)


def serve_metrics(host: str, port: int) -> int:
    """Serve `exposition()` on its own port from a daemon thread (a process without the HTTP
    API: `flask --app app background`); returns the port listened on (for port 0)."""
    server, _thread = start_http_server(port, addr=host, registry=_registry())
    return int(server.server_port)
