"""The schedules API of SPEC 7: create, list, show and delete cron schedules of reports."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from controllers.auth import current_principal
from controllers.errors import ApiError
from controllers.reports import REPORT_ID_RE, parse_report_request, parse_webhook_url
from runtime import runtime_of
from services.schedules import catalog
from services.schedules.cron import ScheduleError, parse_zone, validate_cron

bp = Blueprint("schedules", __name__)

_FIELDS = ("cron", "timezone", "params", "webhook_url")


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise ApiError(400, "send a JSON object: {\"cron\": \"0 6 * * *\", \"timezone\": …, \"params\": {…}}")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)[:200]}; expected {', '.join(_FIELDS)}")
    return body


def _params(raw: Any) -> dict[str, Any]:
    """Validated like /trigger_report's, stored in the runner's own form."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError(400, "params must be a JSON object of /trigger_report parameters")
    return parse_report_request(raw).to_params()


@bp.route("/schedules", methods=["GET", "POST"])
def schedules() -> Response | tuple[Response, int, dict[str, str]]:
    """One rule per URL, so a wrong method gets a 405 whose Allow header names every method."""
    return create_schedule() if request.method == "POST" else list_schedules()


@bp.route("/schedules/<path:schedule_id>", methods=["GET", "DELETE"])
def schedule(schedule_id: str) -> Response | tuple[Response, int]:
    return delete_schedule(schedule_id) if request.method == "DELETE" else show_schedule(schedule_id)


def create_schedule() -> tuple[Response, int, dict[str, str]]:
    body = _body()
    try:
        cron = validate_cron(body.get("cron"))
        zone_name = str(parse_zone(body.get("timezone", "UTC")))
    except ScheduleError as exc:
        raise ApiError(400, str(exc)) from None
    params = _params(body.get("params"))
    webhook = body.get("webhook_url")
    webhook_url = parse_webhook_url(webhook) if webhook is not None else None
    runtime = runtime_of()
    schedule_id = catalog.create(runtime.engine, cron=cron, zone_name=zone_name, params=params,
                                 webhook_url=webhook_url, now=runtime.clock(), principal=current_principal())
    location = url_for("schedules.schedule", schedule_id=schedule_id)
    return jsonify(schedule_id=schedule_id), 201, {"Location": location}


def list_schedules() -> Response:
    runtime = runtime_of()
    return jsonify(schedules=catalog.list_all(runtime.engine, runtime.clock(), current_principal()))


def _schedule_id(schedule_id: str) -> str:
    if not REPORT_ID_RE.fullmatch(schedule_id):
        raise ApiError(404, "unknown schedule_id")
    return schedule_id


def show_schedule(schedule_id: str) -> Response:
    runtime = runtime_of()
    view = catalog.describe(runtime.engine, _schedule_id(schedule_id), runtime.clock(), current_principal())
    if view is None:
        raise ApiError(404, "unknown schedule_id")
    return jsonify(view)


def delete_schedule(schedule_id: str) -> tuple[Response, int]:
    if not catalog.delete(runtime_of().engine, _schedule_id(schedule_id), current_principal()):
        raise ApiError(404, "unknown schedule_id")
    return jsonify(schedule_id=schedule_id, deleted=True), 200
