"""The report API of SPEC section 3: trigger a report, poll it, download its CSV."""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file, url_for

from controllers.auth import current_principal
from controllers.errors import ApiError
from models import report_jobs
from models.tables import Report
from services.access import reports as scoped_reports
from services.jobs.runner import ReportRequest
from services.ingest.parsing import format_instant, parse_instant
from runtime import runtime_of

bp = Blueprint("reports", __name__)

REPORT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")
# 1970-01-01 .. 2100-01-01: an as_of outside is a typo, not a question about the data.
AS_OF_MIN_US = 0
AS_OF_MAX_US = 4_102_444_800 * 1_000_000


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


def _json_body() -> dict[str, Any]:
    if not request.data or not request.is_json:
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


def _collect(name: str, body: dict[str, Any]) -> list[Any] | None:
    """Every value given for `name` in the query string, the form and the JSON body."""
    values: list[Any] = request.args.getlist(name) + request.form.getlist(name)
    if name in body:
        given = body[name]
        values.extend(given if isinstance(given, list) else [given])
    return values if (name in request.args or name in request.form or name in body) else None


def parse_report_request() -> ReportRequest:
    limits = runtime_of().config
    body = _json_body()
    raw_ids = _collect("store_id", body)
    plural = _collect("store_ids", body)
    if plural is not None:
        raw_ids = (raw_ids or []) + plural
    store_ids: tuple[str, ...] | None = None
    if raw_ids is not None:
        if len(raw_ids) > limits.max_store_ids:
            raise ApiError(400, f"too many store_id values: at most {limits.max_store_ids} per report")
        cleaned: list[str] = []
        for value in raw_ids:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise ApiError(400, "store_id values must be strings")
            text = str(value).strip()
            if not text:
                raise ApiError(400, "store_id must not be empty")
            if len(text) > limits.max_store_id_length:
                raise ApiError(400, f"store_id longer than {limits.max_store_id_length} characters")
            if CONTROL_CHARS_RE.search(text):
                raise ApiError(400, "store_id must not contain control characters")
            cleaned.append(text)
        store_ids = tuple(dict.fromkeys(cleaned))
    as_of_values = _collect("as_of", body)
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
    return ReportRequest(store_ids=store_ids, as_of_us=as_of_us)


@bp.route("/trigger_report", methods=["GET", "POST"])
def trigger_report() -> tuple[Response, int, dict[str, str]]:
    report = scoped_reports.submit(runtime_of().runner, current_principal(), parse_report_request())
    location = url_for("reports.get_report_by_path", report_id=report.id)
    return jsonify(report_id=report.id, status="Running"), 202, {"Location": location}


def _find_report(report_id: str | None) -> Report:
    if report_id is None or report_id == "":
        raise ApiError(400, "missing report_id")
    if not REPORT_ID_RE.fullmatch(report_id):
        raise ApiError(404, "unknown report_id")
    try:
        return scoped_reports.find(runtime_of().engine, current_principal(), report_id)
    except scoped_reports.ReportNotFound:
        raise ApiError(404, "unknown report_id") from None


def _report_answer(report: Report) -> Response:
    runtime = runtime_of()
    if report.status in report_jobs.UNFINISHED:
        progress = runtime.runner.progress(report.id)
        return jsonify(report_id=report.id, status="Running",
                       progress=round(progress if progress is not None else report.progress, 3))
    if report.status == report_jobs.FAILED:
        return jsonify(report_id=report.id, status="Failed", error=report.error or "unknown error")
    report_dir = runtime.config.report_dir.resolve()
    path = (report_dir / (report.file_name or "")).resolve()
    if path.parent != report_dir or not path.is_file():
        raise ApiError(410, "the report file no longer exists; trigger a new report")
    response = send_file(
        path, mimetype="text/csv", as_attachment=True, download_name=f"report_{report.id}.csv", max_age=0
    )
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
    report = _find_report(report_id)
    return jsonify(report_summary(report, runtime_of().runner.progress(report.id)))


@bp.get("/reports")
def recent_reports() -> Response:
    try:
        limit = min(max(int(request.args.get("limit", "20")), 1), 200)
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    runner = runtime_of().runner
    reports = scoped_reports.recent(runtime_of().engine, current_principal(), limit)
    return jsonify(reports=[report_summary(r, runner.progress(r.id)) for r in reports])


_PUBLIC_STATUS = {"pending": "Running", "running": "Running", "complete": "Complete", "failed": "Failed"}


def report_summary(report: Report, progress: float | None) -> dict[str, Any]:
    """The JSON view of a report job (no file contents)."""
    params = json.loads(report.params)
    timings = json.loads(report.timings) if report.timings else None
    duration = (
        (report.finished_at - report.started_at).total_seconds()
        if report.finished_at and report.started_at else None
    )
    return {
        "report_id": report.id,
        "status": _PUBLIC_STATUS[report.status],
        "state": report.status,
        "progress": round(progress if progress is not None else report.progress, 3),
        "store_ids": params.get("store_ids"),
        "as_of": format_instant(params["as_of_us"]) if params.get("as_of_us") is not None else None,
        "now": format_instant(report.now_us) if report.now_us else None,
        "created_at": report.created_at.isoformat() if report.created_at else None,
        "started_at": report.started_at.isoformat() if report.started_at else None,
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "duration_seconds": duration,
        "timings": timings,
        "row_count": report.row_count,
        "data_version": report.data_version,
        "error": report.error,
    }
