"""Component schemas of the OpenAPI document (see controllers/openapi_spec.py)."""
from __future__ import annotations

from typing import Any

from controllers.openapi_spec import ERROR_SCHEMA, ERRORS, NULLABLE_STR, NUMBER

NULLABLE_NUMBER = {"type": ["number", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": ERROR_SCHEMA,
    "ReportStarted": {"type": "object", "required": ["report_id", "status"], "properties": {
        "report_id": {"type": "string"}, "status": {"const": "Running"}}},
    "ReportState": {"type": "object", "required": ["report_id", "status"], "properties": {
        "report_id": {"type": "string"},
        "status": {"enum": ["Running", "Failed"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "error": {"type": "string"}}},
    "ReportSummary": {"type": "object", "required": ["report_id", "status"], "properties": {
        "report_id": {"type": "string"},
        "status": {"enum": ["Running", "Complete", "Failed"]},
        "state": {"type": "string"},
        "progress": NUMBER,
        "store_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "as_of": NULLABLE_STR, "now": NULLABLE_STR,
        "created_at": NULLABLE_STR, "started_at": NULLABLE_STR, "finished_at": NULLABLE_STR,
        "duration_seconds": NULLABLE_NUMBER,
        "timings": {"type": ["object", "null"]},
        "row_count": {"type": ["integer", "null"]},
        "data_version": {"type": ["integer", "null"]},
        "error": NULLABLE_STR,
        "warnings": {"type": "array"},
        "deliveries": {"type": "array", "description": "Webhook attempts, oldest first (SPEC 7)", "items": {
            "type": "object", "properties": {
                "attempt": {"type": "integer"}, "attempted_at": {"type": "string"},
                "http_status": {"type": ["integer", "null"]}, "error": NULLABLE_STR,
                "duration_ms": {"type": ["number", "null"]}, "delivered": {"type": "boolean"}}}},
        "webhook": {"type": ["object", "null"], "properties": {
            "status": {"type": "string"}, "next_attempt_at": NULLABLE_STR}}}},
    "Availability": {"type": "object", "required": [
        "store_id", "timezone", "from", "to", "business_hours", "uptime_hours", "downtime_hours",
        "uptime_percent", "incidents", "days"], "properties": {
        "store_id": {"type": "string"}, "timezone": {"type": "string"},
        "from": {"type": "string"}, "to": {"type": "string"},
        "business_hours": NUMBER, "uptime_hours": NUMBER, "downtime_hours": NUMBER,
        "uptime_percent": NULLABLE_NUMBER,
        "incidents": {"type": "array", "items": {"type": "object", "required": ["start", "end", "minutes"],
                                                 "properties": {"start": {"type": "string"}, "end": {"type": "string"},
                                                                "minutes": NUMBER}}},
        "days": {"type": "array", "items": {"type": "object", "required": [
            "date", "business_hours", "uptime_hours", "downtime_hours"], "properties": {
            "date": {"type": "string"}, "business_hours": NUMBER, "uptime_hours": NUMBER,
            "downtime_hours": NUMBER}}},
        "closed_hours": {"type": "number", "description": "Business hours that closures took out of the range (SPEC 9)"},
        "closures": {"type": "array", "description": "The store's closures, clipped to the range (SPEC 9)",
                     "items": {"type": "object", "required": ["start", "end", "reason"], "properties": {
                         "start": {"type": "string"}, "end": {"type": "string"}, "reason": NULLABLE_STR}}}}},
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
    "Schedule": {"type": "object", "required": ["schedule_id", "cron", "timezone", "params"], "properties": {
        "schedule_id": {"type": "string"}, "cron": {"type": "string"}, "timezone": {"type": "string"},
        "params": {"type": "object"}, "webhook_url": NULLABLE_STR, "created_at": {"type": "string"},
        "next_run": NULLABLE_STR,
        "last_run": {"type": ["object", "null"], "description": "Only in GET /schedules/{schedule_id}",
                     "properties": {"due_at": {"type": "string"}, "report_id": NULLABLE_STR, "status": NULLABLE_STR}},
        "recent_reports": {"type": "array", "description": "Only in GET /schedules/{schedule_id}",
                           "items": {"type": "object", "properties": {
                               "report_id": {"type": "string"}, "status": {"type": "string"},
                               "created_at": NULLABLE_STR, "finished_at": NULLABLE_STR}}}}},
}

COMPONENTS: dict[str, Any] = {
    "schemas": SCHEMAS,
    "responses": {f"E{code}": answer for code, answer in ERRORS.items()},
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer <key>`"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    },
}
