"""The live API of SPEC 10: store status, alerts and the event stream. Parse, call, answer."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for

from controllers.auth import current_principal
from runtime import Runtime, runtime_of
from services.contract import parse
from services.contract.alerts import AlertRequest
from services.contract.live import ProblemStoresQuery
from services.contract.store_ids import clean_store_id
from services.errors import InvalidInput, NotFound
from services.live import alerts, events, status

bp = Blueprint("live", __name__)

_ALERT_ID_RE = re.compile(r"[0-9a-f]{32}")


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


def _stale_us(runtime: Runtime) -> int:
    return runtime.config.stale_after_minutes * 60 * 1_000_000


@bp.get("/stores/<path:store_id>/status")
def store_status(store_id: str) -> Response:
    runtime = runtime_of()
    answer = status.store_status(runtime.engine, runtime.live.business, clean_store_id(store_id), current_principal(),
                                 runtime.live.clock(), _stale_us(runtime))
    return jsonify(answer)


@bp.get("/stores/status")
def problem_stores() -> Response:
    query = parse(ProblemStoresQuery, request.args.to_dict(flat=True))
    runtime = runtime_of()
    return jsonify(status.problem_stores(runtime.engine, runtime.live.business, current_principal(),
                                         runtime.live.clock(), _stale_us(runtime), query.limit))


@bp.route("/alerts", methods=["GET", "POST"])
def alerts_collection() -> Response | tuple[Response, int, dict[str, str]]:
    return create_alert() if request.method == "POST" else jsonify(
        alerts=alerts.list_alerts(runtime_of().engine, current_principal()))


def create_alert() -> tuple[Response, int, dict[str, str]]:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise InvalidInput('send a JSON object: {"webhook_url": "https://…", "store_id": [...], "confirm_polls": 1}')
    alert_request = parse(AlertRequest, body)
    runtime = runtime_of()
    alert_id = alerts.create_alert(
        runtime.engine, alert_request, current_principal(), datetime.now(timezone.utc),
        allow_private=runtime.config.webhook_allow_private, secret_configured=bool(runtime.config.webhook_secret))
    runtime.live.wake()
    return jsonify(alert_id=alert_id), 201, {"Location": url_for("live.alert", alert_id=alert_id)}


def _alert_id(alert_id: str) -> str:
    if not _ALERT_ID_RE.fullmatch(alert_id):
        raise NotFound("unknown alert_id")
    return alert_id


@bp.route("/alerts/<path:alert_id>", methods=["GET", "DELETE"])
def alert(alert_id: str) -> Response | tuple[str, int]:
    engine = runtime_of().engine
    if request.method == "DELETE":
        alerts.delete_alert(engine, _alert_id(alert_id), current_principal())
        return "", 204
    return jsonify(alerts.describe_alert(engine, _alert_id(alert_id), current_principal()))


@bp.get("/events")
def event_stream() -> Response:
    runtime = runtime_of()
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    frames = events.open_stream(runtime.engine, current_principal(), last_id, runtime.config.event_streams_max)
    return Response(stream_with_context(frames), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
