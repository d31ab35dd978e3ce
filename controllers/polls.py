"""`POST /polls` (SPEC 10): live polls over HTTP, as a JSON array or NDJSON."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from controllers.auth import current_principal
from runtime import runtime_of
from services.errors import InvalidInput
from services.ingestion.receive import receive_polls

bp = Blueprint("polls", __name__)

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
# 10,000 polls with long store ids do not fit the service's 1 MB request limit; this route's own
# limit leaves ~800 bytes per poll (a poll is ~120 bytes of JSON, ~400 with a 255-character id).
MAX_POLLS_BODY_BYTES = 8 * 1024 * 1024


@bp.before_request
def _limits() -> None:
    request.max_content_length = MAX_POLLS_BODY_BYTES
    runtime_of().ensure_schema()


@bp.post("/polls")
def post_polls() -> Response:
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES and mimetype not in NDJSON_TYPES:
        raise InvalidInput("send polls as Content-Type: application/json (an array) "
                           "or application/x-ndjson (one per line)")
    runtime = runtime_of()
    answer = receive_polls(runtime.engine, current_principal(), request.get_data(cache=False),
                           ndjson=mimetype in NDJSON_TYPES, now=runtime.clock())
    return jsonify(answer)
