"""`flask --app app background`: the background loops without the HTTP server.

Everything `python app.py` runs beside its API (Runtime.start_background: the lease sweep that
recovers work of dead processes, the CSV reload, schedules, webhook deliveries and whatever
else is periodic) runs here alone, so a deployment whose API is served by gunicorn (which
starts no loop) still recovers work. Any number may run: each loop is safe to run in several
processes (leases, claims and the reload lock decide who does what). Stops on SIGTERM/SIGINT.
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from runtime import runtime_of
from services.jobs.queues import QueueUnavailable
from services.log_format import configure_logging
from services.metrics import serve_metrics

log = logging.getLogger("store_monitor.background")


@click.command("background")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Also serve this process's metrics (Prometheus text) on this port (default METRICS_PORT).")
@click.option("--metrics-host", default=None, help="Address of --metrics-port (default HOST).")
def background(metrics_port: int | None, metrics_host: str | None) -> None:
    """Run the background loops (lease sweep, reload, schedules, deliveries) until SIGTERM/SIGINT."""
    runtime = runtime_of()
    if not logging.getLogger().handlers:
        configure_logging(runtime.config.log_format)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        runtime.start_background()
    except QueueUnavailable as exc:
        runtime.close()
        raise click.ClickException(f"REPORT_BACKEND=celery: {exc} (BROKER_URL {runtime.config.broker_url})") from exc
    if metrics_port is None and runtime.config.metrics_port:
        metrics_port = runtime.config.metrics_port
    if metrics_port is not None:
        host = metrics_host or runtime.config.host
        log.info("metrics on http://%s:%d/metrics", host, serve_metrics(host, metrics_port))
    log.info("background loops running (no HTTP API); SIGTERM or Ctrl-C stops them")
    try:
        stop.wait()
    finally:
        runtime.close()
        log.info("background loops stopped")
