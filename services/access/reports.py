"""The report operations of SPEC 3 as a principal may use them (SPEC 8).

An owner's report only ever covers its own stores, and a report made with another key is
"unknown" to it, whichever id it guesses; admin and reporter keys see every report.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from sqlalchemy import Engine

from models import report_jobs
from models.tables import Report
from services.access.principal import Principal, listing_key_filter, require, require_made_by_visible, scope_store_ids
from services.jobs.runner import ReportRequest, ReportRunner


class ReportNotFound(LookupError):
    """No report with that id (for this principal)."""


def submit(runner: ReportRunner, principal: Principal, request: ReportRequest) -> Report:
    """Start a report for the principal, narrowed to its stores and recording its key."""
    require(principal, "reports")
    scoped = replace(request, store_ids=scope_store_ids(principal, request.store_ids))
    return runner.submit(scoped, api_key_id=principal.key_id)


def find(engine: Engine, principal: Principal, report_id: str) -> Report:
    """The report, if it exists and the principal may see it; NotVisible for another tenant's."""
    require(principal, "reports")
    report = report_jobs.get(engine, report_id)
    if report is None:
        raise ReportNotFound("unknown report_id")
    require_made_by_visible(principal, report.api_key_id, "report_id")
    return report


def recent(engine: Engine, principal: Principal, limit: int) -> Sequence[Report]:
    require(principal, "reports")
    return report_jobs.recent(engine, limit, api_key_id=listing_key_filter(principal))
