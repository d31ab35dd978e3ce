"""Store Monitor: uptime/downtime reports of restaurant stores, served over HTTP.

`python app.py` serves the API with waitress, loading CSV_DIR in the background at start and
every RELOAD_INTERVAL_SECONDS; `flask --app app load-data` and `flask --app app report` run the
same services from the command line.
"""
from __future__ import annotations

import logging
import signal
import socket
import sys
from typing import Any

from flask import Flask
from sqlalchemy.exc import DBAPIError

from config import PROJECT_ROOT, Config, ConfigError
from controllers import register_blueprints
from controllers.auth import register_auth
from controllers.cli import register_cli
from controllers.cli_background import background as background_cli
from controllers.cli_db import db_cli
from controllers.cli_consumer import register_consumer_cli
from controllers.cli_keys import register_key_cli
from controllers.ratelimit import register_rate_limits
from controllers.errors import register_error_handlers
from controllers.observability import register_observability
from models.db import redacted_url
from services.log_format import configure_logging
from services.access.keys import has_active_keys
from runtime import EXTENSION_KEY, Runtime
from services.jobs.queues import QueueUnavailable

log = logging.getLogger("store_monitor")


def create_app(config: Config | None = None) -> Flask:
    """The application factory (tests pass `Config(...)` or `config.with_changes(...)`)."""
    config = config or Config.from_env()
    app = Flask(__name__, static_folder=str(PROJECT_ROOT / "static"), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=config.max_request_bytes)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keys in the order the answer builds them
    celery_app = None
    if config.report_backend == "celery":
        # Imported only here: Celery and kombu cost every other process (the CLI's fresh-process
        # report above all) a noticeable share of its start-up.
        from celery_init import celery_init_app

        celery_app = celery_init_app(app, config)
    app.extensions[EXTENSION_KEY] = Runtime.build(config, celery_app)
    register_error_handlers(app)
    register_observability(app)  # first before_request hook: every request is counted and has an id
    register_blueprints(app)
    register_auth(app)  # before the rate limits: they count per key
    register_rate_limits(app, config.trigger_rate_limit, config.rate_limit_storage_url)
    register_cli(app)
    register_key_cli(app)
    register_consumer_cli(app)
    app.cli.add_command(db_cli)
    app.cli.add_command(background_cli)
    return app


def warn_if_no_key(runtime: Runtime) -> None:
    """Secure by default (SPEC 8): say how to get in when a key is required and none exists."""
    if not runtime.config.auth_is_required:
        return
    try:
        if has_active_keys(runtime.engine):
            return
    except DBAPIError:
        return  # the database error is logged elsewhere
    log.warning(
        "AUTH_REQUIRED is on (HOST %s) and no API key exists yet: every API request will get 401. "
        "Create one with: flask --app app api-key create --role admin --name operator",
        runtime.config.host,
    )


def port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (already in use...), or None if it can."""
    if port == 0:
        return None
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def main() -> int:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        configure_logging()
        log.error("configuration error: %s", exc)
        return 2
    configure_logging(config.log_format)
    # Before the database is touched: a second copy started by mistake must not recover reports.
    problem = port_taken(config.host, config.port)
    if problem:
        log.error("cannot listen on %s:%s: %s (is the service already running? set PORT)",
                  config.host, config.port, problem)
        return 1
    from waitress import create_server

    app = create_app(config)
    runtime: Runtime = app.extensions[EXTENSION_KEY]
    try:
        runtime.start_background()
    except QueueUnavailable as exc:
        log.error("REPORT_BACKEND=celery: %s (BROKER_URL %s)", exc, config.broker_url)
        runtime.close()
        return 2
    warn_if_no_key(runtime)
    # channel_request_lookahead: a connection stays readable while its request runs, so a client
    # that leaves a GET /events stream is noticed at once and its stream slot is given back.
    server = create_server(app, host=config.host, port=config.port, threads=8, ident="store-monitor",
                           channel_request_lookahead=1)
    log.info(
        "store-monitor listening on http://%s:%s (database %s, CSV_DIR %s, %s)",
        config.host, server.effective_port, redacted_url(config.database_url), config.csv_dir,
        f"reload every {config.reload_interval_seconds}s" if config.reload_interval_seconds else "no periodic reload",
    )

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds server.run() into the clean shutdown below

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
        log.info("store-monitor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
