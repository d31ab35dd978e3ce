"""Hand-written component schemas of the OpenAPI document (see controllers/openapi_spec.py); the
answers of the report, availability and schedule routes are generated from
services/contract/answers.py instead."""
from __future__ import annotations

from typing import Any

from controllers.openapi_spec import ERROR_SCHEMA, ERRORS, NULLABLE_STR


SCHEMAS: dict[str, Any] = {
    "Error": ERROR_SCHEMA,
    "Closure": {"type": "object", "required": ["closure_id", "start", "end", "reason"], "properties": {
        "closure_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "start": {"type": "string", "description": "UTC, ISO-8601 with Z"},
        "end": {"type": "string", "description": "UTC, ISO-8601 with Z (excluded)"},
        "reason": NULLABLE_STR}},
    "ClosureList": {"type": "object", "required": ["store_id", "timezone", "closures"], "properties": {
        "store_id": {"type": "string"}, "timezone": {"type": "string"},
        "closures": {"type": "array", "items": {"type": "object", "required": [
            "closure_id", "start", "end", "reason", "start_local", "end_local", "source"], "properties": {
            "closure_id": {"type": "string"}, "start": {"type": "string"}, "end": {"type": "string"},
            "reason": NULLABLE_STR,
            "start_local": {"type": "string", "description": "The store's local wall-clock time"},
            "end_local": {"type": "string"},
            "source": {"enum": ["csv", "api"], "description": "closures.csv, or made through the API"}}}}}},
}

COMPONENTS: dict[str, Any] = {
    "schemas": SCHEMAS,
    "responses": {f"E{code}": answer for code, answer in ERRORS.items()},
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    },
}
