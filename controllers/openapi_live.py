"""OpenAPI entries of the live API (SPEC 10): store status, alerts and the event stream.

Merged into controllers/openapi_spec.PATHS; bodies and parameters come from the contract models.
"""
from __future__ import annotations

from typing import Any

from controllers.openapi_spec import JSON, NULLABLE_STR, _json, _path, _query, errors, model_ref
from services.contract.alerts import AlertRequest

INSTANT = {"type": "string", "description": "UTC, ISO-8601 with Z"}
NULLABLE_INSTANT = {"type": ["string", "null"], "description": "UTC, ISO-8601 with Z"}
STATUS = {"enum": ["up", "down", "stale", "closed", "unknown"]}
STORE_STATUS = {"type": "object", "required": ["store_id", "status", "since", "last_poll"], "properties": {
    "store_id": {"type": "string"}, "status": STATUS,
    "since": {**NULLABLE_INSTANT, "description": "When this status began (null: not known, or no poll yet)"},
    "last_poll": {**NULLABLE_INSTANT, "description": "The store's latest poll"}}}
ATTEMPT = {"type": "object", "properties": {
    "attempt": {"type": "integer"}, "attempted_at": {"type": "string"}, "http_status": {"type": ["integer", "null"]},
    "error": NULLABLE_STR, "duration_ms": {"type": ["number", "null"]}, "delivered": {"type": "boolean"}}}
ALERT = {"type": "object", "required": ["alert_id", "webhook_url", "store_id", "confirm_polls", "recover_polls"],
         "properties": {
             "alert_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "webhook_url": {"type": "string"},
             "store_id": {"type": ["array", "null"], "items": {"type": "string"},
                          "description": "null: every store (admin and reporter keys)"},
             "confirm_polls": {"type": "integer"}, "recover_polls": {"type": "integer"},
             "created_at": INSTANT}}
ALERT_DETAIL = {"allOf": [ALERT, {"type": "object", "properties": {
    "events": {"type": "array", "description": "The latest 100 transitions announced, newest first", "items": {
        "type": "object", "properties": {
            "event_id": {"type": "string"}, "event": {"enum": ["store.down", "store.up", "store.stale"]},
            "store_id": {"type": "string"}, "at": INSTANT, "since": NULLABLE_INSTANT, "last_poll": NULLABLE_INSTANT,
            "raised_at": INSTANT,
            "webhook": {"type": ["object", "null"], "properties": {"status": {"type": "string"},
                                                                  "next_attempt_at": NULLABLE_STR}},
            "attempts": {"type": "array", "items": ATTEMPT}}}},
    "deliveries": {"type": "array", "description": "Every webhook attempt of those events, oldest first (SPEC 7)",
                   "items": {"allOf": [ATTEMPT, {"type": "object", "properties": {"event_id": {"type": "string"}}}]}},
}}]}
ALERT_ID = _path("alert_id", "An id returned by POST /alerts")

LIVE_PATHS: dict[str, dict[str, Any]] = {
    "/stores/{store_id}/status": {"get": {
        "tags": ["live"],
        "summary": "A store's live status now (SPEC 10), on the service clock",
        "description": (
            "`closed` outside business time (hours minus closures); when open, `stale` if no poll for "
            "STALE_AFTER_MINUTES, else `up`/`down` by the latest poll; `unknown` without any poll. "
            "Owner keys: only their stores (404 otherwise)."),
        "parameters": [_path("store_id", "The store")],
        "responses": {"200": _json("The status", STORE_STATUS), **errors("400", "401", "403", "404", "503")},
    }},
    "/stores/status": {"get": {
        "tags": ["live"],
        "summary": "The stores down or stale now that the key may see, longest first",
        "parameters": [_query("limit", "At most this many stores (default 1000)",
                              {"type": "integer", "minimum": 1, "maximum": 10000})],
        "responses": {"200": _json("Down and stale stores", {
            "type": "object", "required": ["as_of", "count", "stores"], "properties": {
                "as_of": INSTANT, "count": {"type": "integer", "description": "All of them, beyond `limit` too"},
                "stores": {"type": "array", "items": STORE_STATUS}}}),
            **errors("400", "401", "403", "503")},
    }},
    "/alerts": {
        "post": {
            "tags": ["live"],
            "summary": "Watch stores: a signed webhook for each store.down / store.up / store.stale",
            "description": (
                "Body `{event, alert_id, store_id, at, since, last_poll}` signed as SPEC 7 (X-Signature), "
                "retried, each transition delivered once per alert across processes. No event while a store "
                "is closed; a store still down when it opens raises store.down at opening. The states of "
                "the stores when the alert is made raise nothing."),
            "requestBody": {"required": True, "content": {JSON: {"schema": model_ref(AlertRequest)}}},
            "responses": {"201": {**_json("Created", {"type": "object", "required": ["alert_id"],
                                                      "properties": {"alert_id": {"type": "string"}}}),
                                  "headers": {"Location": {"description": "The alert's URL",
                                                           "schema": {"type": "string"}}}},
                          **errors("400", "401", "403", "413", "503")},
        },
        "get": {
            "tags": ["live"],
            "summary": "The alerts the key may see (owner keys: the ones they made)",
            "responses": {"200": _json("Alerts, oldest first", {
                "type": "object", "required": ["alerts"], "properties": {"alerts": {"type": "array", "items": ALERT}}}),
                **errors("401", "403", "503")},
        },
    },
    "/alerts/{alert_id}": {
        "get": {
            "tags": ["live"], "summary": "An alert with its latest events and their webhook deliveries",
            "parameters": [ALERT_ID],
            "responses": {"200": _json("The alert", ALERT_DETAIL), **errors("401", "403", "404", "503")},
        },
        "delete": {
            "tags": ["live"], "summary": "Stop an alert (webhooks already queued are still sent)",
            "parameters": [ALERT_ID],
            "responses": {"204": {"description": "Deleted"}, **errors("401", "403", "404", "503")},
        },
    },
    "/events": {"get": {
        "tags": ["live"],
        "summary": "Server-Sent Events: store status transitions, scoped to the key",
        "description": (
            "`event: store.<status>` (up, down, stale, closed), `id:` the transition's number (send it back as "
            "`Last-Event-ID` to resume), `data:` JSON `{store_id, status, at, since, last_poll}`. A comment "
            "line every 5 s; the stream ends after 5 minutes (clients reconnect). At most EVENT_STREAMS_MAX "
            "streams per process at once: beyond, 503."),
        "parameters": [{"name": "Last-Event-ID", "in": "header", "required": False,
                        "description": "Resume after this transition", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The stream",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      **errors("401", "403", "503")},
    }},
}
