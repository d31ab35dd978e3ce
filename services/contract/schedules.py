"""The body of `POST /schedules` (SPEC 7): a cron expression read in a time zone, the report's
parameters (the same model as `/trigger_report`'s, stored as its dump) and an optional webhook."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from services.contract import Contract
from services.contract.reports import ReportRequest
from services.schedules.cron import parse_zone, validate_cron


def _zone_name(value: Any) -> str:
    return str(parse_zone(value))


Cron = Annotated[str, BeforeValidator(validate_cron),
                 WithJsonSchema({"type": "string", "description": "5-field cron expression, e.g. `0 6 * * *`"})]
ZoneName = Annotated[str, BeforeValidator(_zone_name),
                     WithJsonSchema({"type": "string", "description": "IANA zone the cron is read in (default UTC)"})]


class ScheduleRequest(Contract):
    """A new schedule; every due time of `cron` in `timezone` starts one report of `params`."""

    cron: Cron
    timezone: ZoneName = "UTC"
    params: ReportRequest = Field(default_factory=ReportRequest,
                                  description="Parameters of /trigger_report (store_id, as_of, from, to, last_hours)")
    webhook_url: str = Field(None, description="Told by a signed POST when each report ends (SPEC 7)")

    @field_validator("params", mode="before")
    @classmethod
    def _params_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("params must be a JSON object of /trigger_report parameters")
        return value
