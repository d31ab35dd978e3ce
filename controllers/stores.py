"""One store's availability over a range (SPEC 5.2): totals, incidents and local days, at once."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from controllers.auth import current_principal
from controllers.errors import ApiError
from controllers.range_params import parse_range
from runtime import runtime_of
from services.reports.inputs import NoDataError
from services.reports.ranges import StoreNotFound, store_availability
from services.reports.spec import InvalidReport, ReportSpec

bp = Blueprint("stores", __name__)

MAX_STORE_ID_LENGTH = 255


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


@bp.get("/stores/<path:store_id>/availability")
def availability(store_id: str) -> Response:
    if not store_id.strip() or len(store_id) > MAX_STORE_ID_LENGTH:
        raise ApiError(400, "store_id must be 1 to 255 characters")
    if "as_of" in request.args:
        raise ApiError(400, "as_of is not a parameter of availability: use to")
    span = parse_range(lambda name: request.args.getlist(name) if name in request.args else None)
    runtime = runtime_of()
    try:
        answer = store_availability(runtime.engine, store_id.strip(), ReportSpec(**span).validate(),
                                    runtime.runner.context.cache, current_principal())
    except InvalidReport as exc:
        raise ApiError(400, str(exc)) from None
    except (StoreNotFound, NoDataError) as exc:
        raise ApiError(404, str(exc)) from None
    return jsonify(answer)
