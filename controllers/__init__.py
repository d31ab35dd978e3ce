"""HTTP and CLI entry points: parse and validate input, call a service, shape the answer."""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("store_monitor.http")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:",
}


def register_blueprints(app: Flask) -> None:
    from controllers.closures import bp as closures_bp
    from controllers.health import bp as health_bp
    from controllers.live import bp as live_bp
    from controllers.openapi import bp as openapi_bp
    from controllers.pages import bp as pages_bp
    from controllers.polls import bp as polls_bp
    from controllers.reports import bp as reports_bp
    from controllers.schedules import bp as schedules_bp
    from controllers.stores import bp as stores_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(schedules_bp)
    app.register_blueprint(stores_bp)
    app.register_blueprint(closures_bp)
    app.register_blueprint(live_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(polls_bp)
    # "/get_report//x" is a 404, not a redirect to "/get_report/x" with werkzeug's HTML body.
    app.url_map.merge_slashes = False

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        started = g.get("request_started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        log.info("%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed_ms)
        return response
