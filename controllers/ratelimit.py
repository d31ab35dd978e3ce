"""Rate limits on the requests that start work (SPEC 8), with Flask-Limiter.

`/trigger_report` and `POST /schedules` share one budget of TRIGGER_RATE_LIMIT per API key (per
client address when no key is used), counted in a moving window in RATE_LIMIT_STORAGE_URL: with
Redis there, every process of the deployment draws on the same count.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse as parse_limit

from config import ConfigError
from controllers.auth import current_principal
from controllers.errors import error_response

log = logging.getLogger(__name__)

# (rule, method) pairs that start work; matched on the route, so renaming a view cannot drop one.
RATE_LIMITED = frozenset({("/trigger_report", "GET"), ("/trigger_report", "POST"), ("/schedules", "POST")})
EXTENSION_KEY = "store_monitor_limiter"


def is_rate_limited_request() -> bool:
    rule = request.url_rule.rule if request.url_rule is not None else None
    return (rule, request.method) in RATE_LIMITED


def rate_limit_key() -> str:
    """Per key when one was presented, else per client address (AUTH_REQUIRED false)."""
    principal = current_principal()
    return f"key:{principal.key_id}" if principal.key_id else f"addr:{get_remote_address()}"


def register_rate_limits(app: Flask, limit: str, storage_url: str) -> Limiter:
    """Attach a limiter of its own to this app (tests build many apps; none share counts in memory).

    Must be called after the authentication hook is registered: the key is known only then.
    """
    try:
        parse_limit(limit)
    except ValueError:
        raise ConfigError(f"TRIGGER_RATE_LIMIT must look like '30/minute', got {limit!r}") from None
    limiter = Limiter(
        rate_limit_key,
        app=app,
        application_limits=[limit],
        application_limits_exempt_when=lambda: not is_rate_limited_request(),
        storage_uri=storage_url,
        strategy="moving-window",
        key_prefix="store-monitor",
        # Storage down: let the request through (and log) rather than refuse every trigger.
        swallow_errors=True,
        headers_enabled=False,
    )
    app.extensions[EXTENSION_KEY] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> tuple[Response, int]:
        current = limiter.current_limit
        wait = math.ceil(current.reset_at - time.time()) if current is not None else 60
        response, status = error_response(429, f"rate limit exceeded ({exc.description}); retry later")
        response.headers["Retry-After"] = str(max(wait, 1))
        return response, status

    return limiter
