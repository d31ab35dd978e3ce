"""`/health` for load balancers and operators: database reachable, last load, row counts."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from runtime import runtime_of
from services.health import health_status

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[Response, int]:
    runtime = runtime_of()
    body, reachable = health_status(runtime.engine, runtime.config.database_url, runtime.reload_loop,
                                    runtime.ensure_schema)
    return jsonify(body), 200 if reachable else 503
