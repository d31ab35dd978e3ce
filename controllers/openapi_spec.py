"""Hand-written parts of the OpenAPI 3.1 document, and the helpers to write them.

The routes of SPEC 3, 5, 7 and 8 are described in controllers/openapi_routes.py and generated
from the contract models; a route written only here is served as written (controllers/openapi.py
merges both). tests/test_openapi.py fails when a route is undocumented or a documented one is
missing, so the document and the code cannot drift apart.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JSON = "application/json"
NULLABLE_STR = {"type": ["string", "null"]}
NUMBER = {"type": "number"}
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        answer["headers"] = headers
    return answer


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any], explode: bool = False) -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if explode:
        param.update(style="form", explode=True)
    return param


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


ERRORS = {
    "400": _error("Invalid parameters; nothing was created"),
    "401": _error("Missing, unknown or revoked API key",
                  {"WWW-Authenticate": {"description": "Always `Bearer`", "schema": {"type": "string"}}}),
    "403": _error("The key's role or stores do not cover this request"),
    "404": _error("Unknown (or another tenant's) resource"),
    "413": _error("Request body too large"),
    "429": _error("Rate limit (TRIGGER_RATE_LIMIT) exceeded", RETRY_AFTER),
    "503": _error("Database unavailable, try again shortly", RETRY_AFTER),
}


def errors(*codes: str) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


# Pydantic models named by hand-written entries; their schemas go to components/schemas.
SCHEMA_MODELS: list[type[BaseModel]] = []


def model_ref(model: type[BaseModel]) -> dict[str, str]:
    """A reference to `model`'s schema (generated from the model, placed under components).
    An entry may also inline `model.model_json_schema()`: its `$defs` are moved there too."""
    if model not in SCHEMA_MODELS:
        SCHEMA_MODELS.append(model)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


from services.contract.polls import MAX_POLLS_PER_REQUEST, PollBatch, PollsAnswer  # noqa: E402

PATHS: dict[str, dict[str, Any]] = {
    "/polls": {"post": {
        "tags": ["live"],
        "summary": "Send live polls (SPEC 10); needs an ingest or admin key when AUTH_REQUIRED",
        "description": (
            f"At most {MAX_POLLS_PER_REQUEST:,} polls, values as in store_status.csv (SPEC 1). The valid polls "
            "are committed in one transaction; the same poll twice adds nothing and conflicting statuses for "
            "one instant keep `inactive`. Each invalid poll is listed with its index (NDJSON: its line, "
            "0-based) and reason; the others are still taken. A body that is not JSON, not an array, "
            f"over {MAX_POLLS_PER_REQUEST:,} polls or not UTF-8 is refused whole (400); over 8 MB, 413."),
        "requestBody": {"required": True, "content": {
            JSON: {"schema": model_ref(PollBatch)},
            "application/x-ndjson": {"schema": {
                "type": "string", "description": "One poll object (PollIn) per line; blank lines are skipped"}},
        }},
        "responses": {"200": _json("What was taken: accepted + duplicates + rejected = the polls sent",
                                   model_ref(PollsAnswer)),
                      **errors("400", "401", "403", "413", "503")},
    }},
    "/metrics": {"get": {
        "tags": ["service"],
        "summary": "Prometheus metrics (text format); an admin key when AUTH_REQUIRED, unless METRICS_PUBLIC",
        "responses": {"200": {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **errors("401", "403")},
    }},
}

from controllers.openapi_live import LIVE_PATHS  # noqa: E402  (SPEC 10: status, alerts, events)

PATHS.update(LIVE_PATHS)
