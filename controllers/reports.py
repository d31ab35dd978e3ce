"""The report API of SPEC section 3: trigger a report, poll it, download its CSV."""
from __future__ import annotations

import io
import re

from flask import Blueprint, Response, jsonify, request, send_file, url_for

from controllers.auth import current_principal
from controllers.params import parse_request
from runtime import runtime_of
from services.access import reports as scoped_reports
from services.contract.reports import RecentReportsQuery, TriggerRequest
from services.delivery.urls import accept_webhook_url
from services.delivery.worker import delivery_view
from services.errors import Gone, InvalidInput, NotFound
from services.jobs.status import ReportState, find_report, recent_reports

bp = Blueprint("reports", __name__)

REPORT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@bp.before_request
def _schema() -> None:
    runtime_of().ensure_schema()


def checked_webhook_url(url: str | None) -> str | None:
    config = runtime_of().config
    return accept_webhook_url(url, config.webhook_secret, config.webhook_allow_private)


@bp.route("/trigger_report", methods=["GET", "POST"])
def trigger_report() -> tuple[Response, int, dict[str, str]]:
    trigger = parse_request(TriggerRequest)
    webhook_url = checked_webhook_url(trigger.webhook_url)
    report = scoped_reports.submit(runtime_of().runner, current_principal(), trigger.report(), webhook_url)
    location = url_for("reports.get_report_by_path", report_id=report.id)
    return jsonify(report_id=report.id, status="Running"), 202, {"Location": location}


def _find_report(report_id: str | None) -> ReportState:
    if report_id is None or report_id == "":
        raise InvalidInput("missing report_id")
    if not REPORT_ID_RE.fullmatch(report_id):
        raise NotFound("unknown report_id")
    report = find_report(runtime_of().runner, report_id, current_principal())
    if report is None:
        raise NotFound("unknown report_id")
    return report


def _report_answer(report: ReportState) -> Response:
    if report.status == "Running":
        return jsonify(report_id=report.report_id, status="Running", progress=report.progress)
    if report.status == "Failed":
        return jsonify(report_id=report.report_id, status="Failed", error=report.error)
    if report.stored is None:
        raise Gone("the report file no longer exists; trigger a new report")
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
    query = parse_request(RecentReportsQuery, body=False)
    return jsonify(reports=recent_reports(runtime_of().runner, query.limit, current_principal()))
