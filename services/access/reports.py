"""Starting a report as a principal may (SPEC 8): an owner's report only ever covers its own
stores, and every report records the key that made it. Reading reports is scoped in
services/jobs/status.py (`find_report`, `recent_reports` take the principal)."""
from __future__ import annotations

from models.tables import Report
from services.access.principal import Principal, require, scope_store_ids
from services.contract.reports import ReportRequest
from services.jobs.runner import ReportRunner


def scope_request(principal: Principal, request: ReportRequest) -> ReportRequest:
    """The request narrowed to the principal's stores; Forbidden for a store outside them."""
    require(principal, "reports")
    return request.narrowed_to(scope_store_ids(principal, request.store_ids))


def submit(runner: ReportRunner, principal: Principal, request: ReportRequest,
           webhook_url: str | None = None, schedule_id: str | None = None) -> Report:
    """Start a report for the principal, narrowed to its stores and recording its key."""
    return runner.submit(scope_request(principal, request), webhook_url=webhook_url, schedule_id=schedule_id,
                         api_key_id=principal.key_id)
