"""The OpenAPI 3.1 description of SPEC sections 3, 5, 7 and 8, written once, as data.

`controllers/openapi.py` serves it trimmed to the routes the app really has, and
tests/test_openapi.py fails when a route is undocumented or a documented one is missing, so the
document and the code cannot drift apart.
"""
from __future__ import annotations

from typing import Any

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


RANGE_PARAMS = [
    _query("from", "Range start, ISO-8601 (SPEC 5); not with `as_of`", {"type": "string"}),
    _query("to", "Range end, ISO-8601 (default: now)", {"type": "string"}),
    _query("last_hours", "Range of the last N hours, instead of `from`", {"type": "integer", "minimum": 1}),
]
REPORT_PARAMS = [
    _query("store_id", "Only these stores (repeatable); an owner key: only its own",
           {"type": "array", "items": {"type": "string"}}, explode=True),
    _query("as_of", "The report's now, ISO-8601 (default: the latest poll)", {"type": "string"}),
    *RANGE_PARAMS,
    _query("webhook_url", "Told by a signed POST when the report ends (SPEC 7)", {"type": "string"}),
]
REPORT_BODY = {
    "type": "object",
    "properties": {
        "store_id": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "as_of": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
        "last_hours": {"type": "integer", "minimum": 1}, "webhook_url": {"type": "string"},
    },
}
TRIGGER = {
    "tags": ["reports"],
    "summary": "Start a report in the background (rate limited)",
    "parameters": REPORT_PARAMS,
    "responses": {
        "202": _json("Started", {"$ref": "#/components/schemas/ReportStarted"}),
        **errors("400", "401", "403", "413", "429", "503"),
    },
}
REPORT_ANSWER = {
    "description": "Running or Failed (JSON), or the finished report (CSV, `X-Report-Status: Complete`)",
    "content": {
        JSON: {"schema": {"$ref": "#/components/schemas/ReportState"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}
REPORT_ID_PATH = _path("report_id", "A report id from /trigger_report")
SCHEDULE_ID_PATH = _path("schedule_id", "A schedule id from POST /schedules")
SCHEDULE_BODY = {
    "type": "object",
    "required": ["cron"],
    "properties": {
        "cron": {"type": "string", "description": "5-field cron expression, e.g. `0 6 * * *`"},
        "timezone": {"type": "string", "description": "IANA zone the cron is read in (default UTC)"},
        "params": {"type": "object", "description": "Parameters of /trigger_report"},
        "webhook_url": {"type": "string"},
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/health": {"get": {
        "tags": ["service"], "summary": "Database reachable, last load, row counts", "security": [],
        "responses": {"200": _json("Healthy", {"type": "object", "required": ["status"]}),
                      "503": _json("Database unreachable", {"type": "object", "required": ["status"]})},
    }},
    "/metrics": {"get": {
        "tags": ["service"],
        "summary": "Prometheus metrics (text format); an admin key when AUTH_REQUIRED, unless METRICS_PUBLIC",
        "responses": {"200": {"description": "Prometheus text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      **errors("401", "403")},
    }},
    "/": {"get": {
        "tags": ["service"], "summary": "The web page", "security": [],
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }},
    "/openapi.json": {"get": {
        "tags": ["service"], "summary": "This document", "security": [],
        "responses": {"200": _json("OpenAPI 3.1 document", {"type": "object", "required": ["openapi", "paths"]})},
    }},
    "/docs": {"get": {
        "tags": ["service"], "summary": "This document as a page for people", "security": [],
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }},
    "/trigger_report": {
        "get": {**TRIGGER, "operationId": "triggerReportGet"},
        "post": {**TRIGGER, "operationId": "triggerReport", "requestBody": {"required": False, "content": {
            JSON: {"schema": REPORT_BODY}, "application/x-www-form-urlencoded": {"schema": REPORT_BODY}}}},
    },
    "/get_report": {"get": {
        "tags": ["reports"], "summary": "A report's state, or its CSV once finished",
        "parameters": [_query("report_id", "The report id", {"type": "string"}),
                       _query("repid", "Alias of report_id", {"type": "string"})],
        "responses": {"200": REPORT_ANSWER, **errors("400", "401", "404", "503"),
                      "410": _error("The finished report's file is gone")},
    }},
    "/get_report/{report_id}": {"get": {
        "tags": ["reports"], "summary": "Same as /get_report, id in the path",
        "parameters": [REPORT_ID_PATH],
        "responses": {"200": REPORT_ANSWER, **errors("401", "404", "503"),
                      "410": _error("The finished report's file is gone")},
    }},
    "/reports": {"get": {
        "tags": ["reports"], "summary": "Recent reports (an owner key: only its own)",
        "parameters": [_query("limit", "How many, 1-200 (default 20)", {"type": "integer"})],
        "responses": {"200": _json("Newest first", {"type": "object", "required": ["reports"], "properties": {
            "reports": {"type": "array", "items": {"$ref": "#/components/schemas/ReportSummary"}}}}),
            **errors("400", "401", "503")},
    }},
    "/reports/{report_id}": {"get": {
        "tags": ["reports"], "summary": "A report's parameters, timings and webhook deliveries",
        "parameters": [REPORT_ID_PATH],
        "responses": {"200": _json("The report", {"$ref": "#/components/schemas/ReportSummary"}),
                      **errors("401", "404", "503")},
    }},
    "/stores/{store_id}/availability": {"get": {
        "tags": ["availability"], "summary": "Totals, incidents and days of one store over a range (SPEC 5)",
        "parameters": [_path("store_id", "The store"), *RANGE_PARAMS],
        "responses": {"200": _json("Availability", {"$ref": "#/components/schemas/Availability"}),
                      **errors("400", "401", "404", "503")},
    }},
    "/schedules": {
        "get": {"tags": ["schedules"], "summary": "Schedules (an owner key: only its own)",
                "responses": {"200": _json("Schedules", {"type": "object", "required": ["schedules"], "properties": {
                    "schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}}}}),
                    **errors("401", "503")}},
        "post": {"tags": ["schedules"], "summary": "Create a schedule (rate limited, SPEC 7)",
                 "requestBody": {"required": True, "content": {JSON: {"schema": SCHEDULE_BODY}}},
                 "responses": {"201": _json("Created", {"type": "object", "required": ["schedule_id"],
                                                        "properties": {"schedule_id": {"type": "string"}}}),
                               **errors("400", "401", "403", "413", "429", "503")}},
    },
    "/schedules/{schedule_id}": {
        "get": {"tags": ["schedules"], "summary": "A schedule with its last and next run and recent reports",
                "parameters": [SCHEDULE_ID_PATH],
                "responses": {"200": _json("The schedule", {"$ref": "#/components/schemas/Schedule"}),
                              **errors("401", "404", "503")}},
        "delete": {"tags": ["schedules"], "summary": "Delete a schedule", "parameters": [SCHEDULE_ID_PATH],
                   "responses": {"200": _json("Deleted", {"type": "object", "required": ["schedule_id", "deleted"],
                                                          "properties": {"schedule_id": {"type": "string"},
                                                                         "deleted": {"const": True}}}),
                                 **errors("401", "404", "503")}},
    },
}
