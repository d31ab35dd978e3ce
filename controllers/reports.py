"""The report API of SPEC section 3: trigger a report, poll it, download its CSV."""
from __future__ import annotations

import io
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file, url_for
from werkzeug.datastructures import MultiDict

from controllers.auth import current_principal
from controllers.errors import ApiError
from controllers.range_params import RANGE_PARAMS, parse_range
from runtime import runtime_of
from services.access import reports as scoped_reports
from services.delivery.urls import WebhookUrlError, validate_webhook_url
from services.delivery.worker import delivery_view
from services.ingest.parsing import parse_instant
from services.jobs.runner import QueueUnavailable, ReportRequest
from services.jobs.status import ReportState, find_report, recent_reports
from services.reports.spec import InvalidReport
from services.reports.store_ids import InvalidStoreId, clean_store_ids

bp = Blueprint("reports", __name__)

# Every parameter /trigger_report reads (query string, form or JSON body). Anything else is a
# typo the client must hear about: add new parameters here.
TRIGGER_PARAMETERS = ("store_id", "store_ids", "as_of", *RANGE_PARAMS, "webhook_url")
# Those that shape the report itself: a schedule's `params` (SPEC 7).
REPORT_PARAMETERS = tuple(name for name in TRIGGER_PARAMETERS if name != "webhook_url")

REPORT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
RECENT_LIMIT_MAX = 200
# 1970-01-01 .. 2100-01-01: an as_of outside is a typo, not a question about the data.
AS_OF_MIN_US = 0
AS_OF_MAX_US = 4_102_444_800 * 1_000_000


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


def _json_body() -> dict[str, Any]:
    """The JSON object sent, {} if none; a body the API would not read is an error, not ignored."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not request.is_json:
        mimetype = request.mimetype or "none"
        if mimetype not in FORM_TYPES:
            raise ApiError(400, f"the request body has Content-Type {mimetype}: send JSON with "
                                "Content-Type: application/json, or a form")
        if mimetype == FORM_TYPES[0] and raw.lstrip()[:1] in (b"{", b"["):
            raise ApiError(400, "the request body looks like JSON but was sent as a form "
                                f"({mimetype}): send it with Content-Type: application/json")
        return {}
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json.loads on deeply nested arrays/objects; not a ValueError
        raise ApiError(400, "the JSON body is nested too deeply") from None
    if body is None:
        raise ApiError(400, "the request body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "the JSON body must be an object")
    return body


def _reject_unknown_parameters(given: set[str], known: tuple[str, ...]) -> None:
    unknown = sorted(str(name) for name in given.difference(known))
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:10])
        raise ApiError(400, f"unknown parameter{'s' if len(unknown) > 1 else ''} {names}: "
                            f"known are {', '.join(known)}")


def _collect(name: str, body: dict[str, Any], from_request: bool = True) -> list[Any] | None:
    """Every value given for `name` in the query string, the form and the JSON body."""
    args, form = (request.args, request.form) if from_request else (MultiDict(), MultiDict())
    values: list[Any] = args.getlist(name) + form.getlist(name)
    if name in body:
        given = body[name]
        values.extend(given if isinstance(given, list) else [given])
    return values if (name in args or name in form or name in body) else None


def parse_report_request(params: dict[str, Any] | None = None) -> ReportRequest:
    """The request's report parameters, or those of `params` alone (a schedule's) when given."""
    limits = runtime_of().config
    http = params is None
    if params is None:
        body = _json_body()
        _reject_unknown_parameters(set(request.args) | set(request.form) | set(body), TRIGGER_PARAMETERS)
    else:
        body = params
        _reject_unknown_parameters(set(body), REPORT_PARAMETERS)
    raw_ids = _collect("store_id", body, http)
    plural = _collect("store_ids", body, http)
    if plural is not None:
        raw_ids = (raw_ids or []) + plural
    store_ids: tuple[str, ...] | None = None
    if raw_ids is not None:
        try:
            store_ids = clean_store_ids(raw_ids, limits.max_store_ids, limits.max_store_id_length)
        except InvalidStoreId as exc:
            raise ApiError(400, str(exc)) from None
    as_of_values = _collect("as_of", body, http)
    as_of_us: int | None = None
    if as_of_values is not None:
        if len(as_of_values) != 1 or not isinstance(as_of_values[0], str):
            raise ApiError(400, "as_of must be given once, as an ISO-8601 string")
        try:
            as_of_us = parse_instant(as_of_values[0][:64])
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if not AS_OF_MIN_US <= as_of_us < AS_OF_MAX_US:
            raise ApiError(400, "as_of must lie between 1970 and 2100")
    span = parse_range(lambda name: _collect(name, body, http))
    try:
        return ReportRequest(store_ids=store_ids, as_of_us=as_of_us, **span).validate()
    except InvalidReport as exc:
        raise ApiError(400, str(exc)) from None


def parse_webhook_url(value: Any) -> str:
    """A webhook URL the service may send to (SPEC 7), or a 400 saying why not."""
    config = runtime_of().config
    if not config.webhook_secret:
        raise ApiError(400, "webhooks are disabled: WEBHOOK_SECRET is not configured on the service")
    try:
        return validate_webhook_url(value, config.webhook_allow_private)
    except WebhookUrlError as exc:
        raise ApiError(400, str(exc)) from None


@bp.route("/trigger_report", methods=["GET", "POST"])
def trigger_report() -> tuple[Response, int, dict[str, str]]:
    report_request = parse_report_request()
    hooks = _collect("webhook_url", _json_body())
    if hooks is not None and len(hooks) != 1:
        raise ApiError(400, "webhook_url must be given once")
    webhook_url = parse_webhook_url(hooks[0]) if hooks else None
    try:
        report = scoped_reports.submit(runtime_of().runner, current_principal(), report_request, webhook_url)
    except QueueUnavailable as exc:
        raise ApiError(503, f"reports cannot be started right now: {exc}") from None
    location = url_for("reports.get_report_by_path", report_id=report.id)
    return jsonify(report_id=report.id, status="Running"), 202, {"Location": location}


def _find_report(report_id: str | None) -> ReportState:
    if report_id is None or report_id == "":
        raise ApiError(400, "missing report_id")
    if not REPORT_ID_RE.fullmatch(report_id):
        raise ApiError(404, "unknown report_id")
    report = find_report(runtime_of().runner, report_id, current_principal())
    if report is None:
        raise ApiError(404, "unknown report_id")
    return report


def _report_answer(report: ReportState) -> Response:
    if report.status == "Running":
        return jsonify(report_id=report.report_id, status="Running", progress=report.progress)
    if report.status == "Failed":
        return jsonify(report_id=report.report_id, status="Failed", error=report.error)
    if report.stored is None:
        raise ApiError(410, "the report file no longer exists; trigger a new report")
    source = report.stored.path if report.stored.path is not None else io.BytesIO(report.stored.content or b"")
    response = send_file(source, mimetype="text/csv", as_attachment=True,
                         download_name=f"report_{report.report_id}.csv", max_age=0)
    response.headers["X-Report-Status"] = "Complete"
    return response


@bp.get("/get_report")
def get_report() -> Response:
    report_id = request.args.get("report_id")
    if report_id is None:
        report_id = request.args.get("repid")
    return _report_answer(_find_report(report_id))


@bp.get("/get_report/<path:report_id>")
def get_report_by_path(report_id: str) -> Response:
    return _report_answer(_find_report(report_id))


@bp.get("/reports/<path:report_id>")
def report_status(report_id: str) -> Response:
    return jsonify({**_find_report(report_id).summary, **delivery_view(runtime_of().engine, report_id)})


@bp.get("/reports")
def recent() -> Response:
    text = request.args.get("limit", "20")
    try:
        limit = int(text)
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    if not 1 <= limit <= RECENT_LIMIT_MAX:
        raise ApiError(400, f"limit must lie between 1 and {RECENT_LIMIT_MAX}, got {limit}")
    return jsonify(reports=recent_reports(runtime_of().runner, limit, current_principal()))
