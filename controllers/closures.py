"""The closures of one store (SPEC 9): add one, list them, remove one."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify

from controllers.auth import current_principal
from controllers.params import json_body, parse_request
from runtime import runtime_of
from services.closures.catalog import add_closure, list_closures, remove_closure
from services.contract import parse
from services.contract.closures import ClosureQuery, NewClosure

bp = Blueprint("closures", __name__)


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


@bp.post("/stores/<path:store_id>/closures")
def create(store_id: str) -> tuple[Response, int]:
    body = parse(NewClosure, json_body())
    return jsonify(add_closure(runtime_of().engine, current_principal(), store_id, body)), 201


@bp.get("/stores/<path:store_id>/closures")
def listing(store_id: str) -> Response:
    query = parse_request(ClosureQuery, body=False)
    return jsonify(list_closures(runtime_of().engine, current_principal(), store_id, query))


@bp.delete("/stores/<path:store_id>/closures/<closure_id>")
def delete(store_id: str, closure_id: str) -> tuple[str, int]:
    remove_closure(runtime_of().engine, current_principal(), store_id, closure_id)
    return "", 204
