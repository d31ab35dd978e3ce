"""One store's availability over a range (SPEC 5.2): totals, incidents and local days, at once."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from controllers.auth import current_principal
from controllers.params import parse_request
from runtime import runtime_of
from services.contract.reports import AvailabilityQuery
from services.reports.ranges import store_availability

bp = Blueprint("stores", __name__)


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


@bp.get("/stores/<path:store_id>/availability")
def availability(store_id: str) -> Response:
    query = parse_request(AvailabilityQuery, body=False)
    runtime = runtime_of()
    return jsonify(store_availability(runtime.engine, store_id, query, runtime.runner.context.cache,
                                      current_principal(), runtime.answers))
