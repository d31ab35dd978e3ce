"""The schedules API of SPEC 7: create, list, show and delete cron schedules of reports."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from controllers.auth import current_principal
from controllers.params import limits
from controllers.reports import REPORT_ID_RE, checked_webhook_url
from runtime import runtime_of
from services.contract import parse
from services.contract.schedules import ScheduleRequest
from services.errors import InvalidInput, NotFound
from services.schedules import catalog

bp = Blueprint("schedules", __name__)


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


@bp.route("/schedules", methods=["GET", "POST"])
def schedules() -> Response | tuple[Response, int, dict[str, str]]:
    """One rule per URL, so a wrong method gets a 405 whose Allow header names every method."""
    return create_schedule() if request.method == "POST" else list_schedules()


@bp.route("/schedules/<path:schedule_id>", methods=["GET", "DELETE"])
def schedule(schedule_id: str) -> Response | tuple[Response, int]:
    return delete_schedule(schedule_id) if request.method == "DELETE" else show_schedule(schedule_id)


def create_schedule() -> tuple[Response, int, dict[str, str]]:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object: {\"cron\": \"0 6 * * *\", \"timezone\": …, \"params\": {…}}")
    schedule = parse(ScheduleRequest, body, context=limits())
    webhook_url = checked_webhook_url(schedule.webhook_url)
    runtime = runtime_of()
    schedule_id = catalog.create(runtime.engine, cron=schedule.cron, zone_name=schedule.timezone,
                                 params=schedule.params, webhook_url=webhook_url, now=runtime.clock(),
                                 principal=current_principal())
    location = url_for("schedules.schedule", schedule_id=schedule_id)
    return jsonify(schedule_id=schedule_id), 201, {"Location": location}


def list_schedules() -> Response:
    runtime = runtime_of()
    return jsonify(schedules=catalog.list_all(runtime.engine, runtime.clock(), current_principal()))


def _schedule_id(schedule_id: str) -> str:
    if not REPORT_ID_RE.fullmatch(schedule_id):
        raise NotFound("unknown schedule_id")
    return schedule_id


def show_schedule(schedule_id: str) -> Response:
    runtime = runtime_of()
    view = catalog.describe(runtime.engine, _schedule_id(schedule_id), runtime.clock(), current_principal())
    if view is None:
        raise NotFound("unknown schedule_id")
    return jsonify(view)


def delete_schedule(schedule_id: str) -> tuple[Response, int]:
    if not catalog.delete(runtime_of().engine, _schedule_id(schedule_id), current_principal()):
        raise NotFound("unknown schedule_id")
    return jsonify(schedule_id=schedule_id, deleted=True), 200
