"""Alerts (SPEC 10): create, list, show (with the webhooks sent) and delete, scoped to the key.

An alert watches the stores it names, or every store its key may see (admin and reporter keys:
every store, present and future; owner keys: their own stores). It reports the transitions that
happen after it is created: the evaluator records the state of its stores at creation (a store
already down raises nothing then: `GET /stores/status` lists it), then announces each change.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from models import deliveries, live_queries
from models.db import read_tx, write_tx
from models.live_state import Alert
from services.access.principal import Principal, listing_key_filter, may_see_made_by, require, scope_store_ids
from services.contract.alerts import AlertRequest
from services.delivery.urls import Resolver, WebhookUrlError, system_resolver, validate_webhook_url
from services.errors import InvalidInput, NotFound
from services.live.evaluator import ALERT_DELIVERY_PREFIX
from services.live.timefmt import iso_z

# Alerts are a kind of scheduled telling: the roles that may use schedules may use alerts (SPEC 8
# roles; an ingest key may not).
ALERTS_ACTION = "schedules"


def create_alert(engine: Engine, request: AlertRequest, principal: Principal, now: datetime, *,
                 allow_private: bool, secret_configured: bool, resolve: Resolver = system_resolver) -> str:
    """Store a new alert and return its id; InvalidInput for a URL that may not be used, Forbidden
    for an owner naming another's store."""
    require(principal, ALERTS_ACTION)
    scope = scope_store_ids(principal, request.store_ids())
    if not secret_configured:
        raise InvalidInput("webhooks are disabled: set WEBHOOK_SECRET so that they can be signed")
    try:
        url = validate_webhook_url(request.webhook_url, allow_private, resolve)
    except WebhookUrlError as exc:
        raise InvalidInput(str(exc)) from None
    alert_id = uuid.uuid4().hex
    with write_tx(engine) as conn:
        live_queries.insert_alert(conn, Alert(
            id=alert_id, webhook_url=url, store_ids=None if scope is None else json.dumps(list(scope)),
            confirm_polls=request.confirm_polls, recover_polls=request.recover_polls, created_at=now,
            api_key_id=principal.key_id,
        ))
    return alert_id


def _view(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id, "webhook_url": alert.webhook_url, "store_id": live_queries.alert_scope(alert),
        "confirm_polls": alert.confirm_polls, "recover_polls": alert.recover_polls,
        "created_at": iso_z(int(alert.created_at.timestamp() * 1_000_000)),
    }


def list_alerts(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    require(principal, ALERTS_ACTION)
    only = listing_key_filter(principal)
    with read_tx(engine) as conn:
        alerts = live_queries.list_alerts(conn, only, only_key=only is not None)
    return [_view(a) for a in alerts]


def _visible(conn: Any, alert_id: str, principal: Principal) -> Alert:
    require(principal, ALERTS_ACTION)
    alert = live_queries.get_alert(conn, alert_id)
    if alert is None or not may_see_made_by(principal, alert.api_key_id):
        raise NotFound("unknown alert_id")  # another key's alert: answered like a missing one
    return alert


def describe_alert(engine: Engine, alert_id: str, principal: Principal, limit: int = 100) -> dict[str, Any]:
    """The alert, its latest events (newest first) and every webhook attempt of each."""
    with read_tx(engine) as conn:
        alert = _visible(conn, alert_id, principal)
        events = live_queries.events_of_alert(conn, alert_id, limit)
    keys = [ALERT_DELIVERY_PREFIX + e[0] for e in events]
    found, attempts = deliveries.of_subjects(engine, keys)
    listed = []
    for event_id, store_id, name, at, since, last, created in events:
        key = ALERT_DELIVERY_PREFIX + event_id
        delivery = found.get(key)
        listed.append({
            "event_id": event_id, "event": name, "store_id": store_id, "at": iso_z(at),
            "since": iso_z(since) if since is not None else None,
            "last_poll": iso_z(last) if last is not None else None, "raised_at": iso_z(created),
            "webhook": None if delivery is None else {
                "status": delivery.status,
                "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None},
            "attempts": [
                {"attempt": n, "attempted_at": a.attempted_at.isoformat(), "http_status": a.http_status,
                 "error": a.error, "duration_ms": a.duration_ms, "delivered": a.error is None}
                for n, a in enumerate(attempts.get(key, []), start=1)],
        })
    # Every attempt of every event, oldest first: SPEC 10's `deliveries` of GET /alerts/<id>.
    flat = sorted(({"event_id": e["event_id"], **a} for e in listed for a in e["attempts"]),
                  key=lambda a: a["attempted_at"])
    return {**_view(alert), "events": listed, "deliveries": flat}


def delete_alert(engine: Engine, alert_id: str, principal: Principal) -> None:
    with write_tx(engine) as conn:
        _visible(conn, alert_id, principal)
        live_queries.delete_alert(conn, alert_id)
