"""Authentication of every request (SPEC 8): find the key, check it, remember the principal.

The key is looked up in the database on every request (one indexed read): a revoked key is
refused by the very next request in every process, with no cache to expire.
"""
from __future__ import annotations

import logging

from flask import Flask, g, request

from runtime import runtime_of
from services.access import keys
from services.access.principal import ANONYMOUS, Principal, Unauthenticated

log = logging.getLogger(__name__)

# Reachable without a key even when AUTH_REQUIRED is true (besides static files).
PUBLIC_ENDPOINTS = frozenset({"health.health", "pages.index", "openapi.document", "openapi.docs"})


def presented_key() -> str | None:
    """The key of `Authorization: Bearer <key>` or `X-API-Key: <key>`, if any."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = request.headers.get("X-API-Key", "").strip()
    return api_key or None


def is_public_request() -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if request.endpoint == "metrics.metrics_text":
        return runtime_of().config.metrics_public  # else like any operator endpoint (controllers/observability.py)
    return request.endpoint == "static" or request.endpoint in PUBLIC_ENDPOINTS


def current_principal() -> Principal:
    """The caller of the current request (set by the before_request hook below)."""
    return g.get("principal") or ANONYMOUS


def register_auth(app: Flask) -> None:
    """Install the authentication hook and the JSON answers to access errors."""

    @app.before_request
    def _authenticate() -> None:
        key = presented_key()
        if key is None:
            if runtime_of().config.auth_is_required and not is_public_request():
                raise Unauthenticated("an API key is required: send 'Authorization: Bearer <key>'")
            g.principal = ANONYMOUS
            return
        if is_public_request():  # a public page answers whatever key a browser sends
            g.principal = ANONYMOUS
            return
        runtime = runtime_of()
        runtime.ensure_schema()
        principal = keys.authenticate(runtime.engine, key)
        if principal is None:
            raise Unauthenticated("unknown or revoked API key")
        g.principal = principal
