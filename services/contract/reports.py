"""The report request: one model for `/trigger_report` (query, form or JSON), a schedule's
`params`, `flask --app app report/incidents` and the stored params of a report job.

It owns the rules every interface used to write for itself: the store-id rule (`StoreId`), the
bounds on instants (1970 to 2100: an instant outside is a typo, not a question about the data),
`last_hours` (a whole number of hours, 1 to 366 × 24), and which parameters exclude each other
(`as_of` with `from`/`to`/`last_hours`; `from` with `last_hours`). Its dump (`stored()`) is what
report jobs and schedules keep, and what `ReportRequest.from_stored` reads back.

Instants are held as epoch microseconds (`as_of_us`, `from_us`, `to_us`) and written as UTC
ISO-8601 text, exact to the microsecond. Relative parts (`to` defaulting to now, `last_hours`)
are stored as asked and resolved when the report runs, against the data it reads.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Mapping

from pydantic import (
    AliasChoices, BeforeValidator, Field, PlainSerializer, ValidationInfo, WithJsonSchema, model_validator,
)

from services.contract import Contract, parse
from services.contract.store_ids import MAX_STORE_ID_LENGTH, MAX_STORE_IDS, clean_store_ids
from services.errors import InvalidInput
from services.ingest.parsing import format_instant, parse_instant

log = logging.getLogger(__name__)

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MAX_RANGE_US = 366 * DAY_US  # SPEC 5.1: 0 < to − from <= 366 days
MAX_LAST_HOURS = MAX_RANGE_US // HOUR_US  # 8784
DEFAULT_RANGE_US = 7 * DAY_US  # `to` alone: the week before it (as the availability endpoint)
# 1970-01-01 .. 2100-01-01: an instant outside is a typo, not a question about the data.
MIN_INSTANT_US, MAX_INSTANT_US = 0, 4_102_444_800 * 1_000_000
# Validation context under which instants may be given as epoch µs (Python callers, old rows).
MICROSECONDS = {"instants_as_us": True}


class InvalidRange(InvalidInput):
    """A range outside 0 < to − from <= 366 days (SPEC 5.1)."""


def check_range(from_us: int, to_us: int) -> None:
    if to_us <= from_us:
        raise InvalidRange("the range is empty: 'from' must be before 'to'")
    if to_us - from_us > MAX_RANGE_US:
        raise InvalidRange("the range is longer than 366 days")


def _instant(value: Any, info: ValidationInfo) -> int:
    name = (info.field_name or "instant").rstrip("_")
    if isinstance(value, int) and not isinstance(value, bool) and (info.context or {}).get("instants_as_us"):
        micros = value
    elif isinstance(value, str):
        micros = parse_instant(value[:64])  # its ValueError names the value and the expected form
    else:
        raise ValueError(f"{name} must be an ISO-8601 string such as 2023-01-25T18:00:00Z")
    if not MIN_INSTANT_US <= micros < MAX_INSTANT_US:
        raise ValueError(f"{name} must lie between 1970 and 2100")
    return micros


def _whole_hours(value: Any) -> int:
    """`last_hours`: a whole number of hours (24, 24.0 or "24"); fractions are refused, because
    the document has always said integer and a range is asked for in hours."""
    message = f"last_hours must be a whole number of hours from 1 to {MAX_LAST_HOURS} (366 days)"
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, str):
        try:
            value = float(value.strip()[:32])
        except ValueError:
            raise ValueError(message) from None
    if not isinstance(value, (int, float)) or not float(value).is_integer() or not 1 <= value <= MAX_LAST_HOURS:
        raise ValueError(message)  # NaN and infinities are not integers
    return int(value)


Instant = Annotated[
    int, BeforeValidator(_instant), PlainSerializer(format_instant, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": "ISO-8601 instant between 1970 and 2100, "
                                                     "e.g. 2023-01-25T18:00:00Z (no offset: UTC)"}),
]
LastHours = Annotated[int, BeforeValidator(_whole_hours),
                      WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LAST_HOURS})]
# Optional fields are typed without `| None`: None is only their default, an explicit null (a
# JSON body's `"as_of": null`) is refused like any other value that is not one.


class RangeRequest(Contract):
    """A range [from, to) of SPEC 5: `from` or `last_hours` (not both), `to` defaulting to now."""

    from_: Instant = Field(None, validation_alias="from", serialization_alias="from",
                           description="Range start (SPEC 5), ISO-8601 such as 2023-01-25T18:00:00Z "
                                       "(no offset: UTC), 1970 to 2100; not with `last_hours`")
    to: Instant = Field(None, description="Range end, excluded, ISO-8601 (default: now, the newest poll)")
    last_hours: LastHours = Field(None, description=f"The range is the N whole hours before `to` "
                                                   f"(1 to {MAX_LAST_HOURS}); not with `from`")

    @property
    def from_us(self) -> int | None:
        return self.from_

    @property
    def to_us(self) -> int | None:
        return self.to

    @property
    def is_range(self) -> bool:
        return self.from_ is not None or self.to is not None or self.last_hours is not None

    @model_validator(mode="after")
    def _exclusions(self) -> RangeRequest:
        if self.from_ is not None and self.last_hours is not None:
            raise ValueError("give either from or last_hours, not both")
        if self.from_ is not None and self.to is not None:
            check_range(self.from_, self.to)
        return self

    def resolve_range(self, now_us: int) -> tuple[int, int]:
        """[from, to) of a range whose data's now is `now_us`; InvalidRange when it is empty."""
        to_us = self.to if self.to is not None else now_us
        if self.from_ is not None:
            from_us = self.from_
        elif self.last_hours is not None:
            from_us = to_us - self.last_hours * HOUR_US
        else:
            from_us = to_us - DEFAULT_RANGE_US
        check_range(from_us, to_us)
        return from_us, to_us


class AvailabilityQuery(RangeRequest):
    """The query of `GET /stores/<store_id>/availability` (SPEC 5.2): a range, nothing else."""


def _merge_store_ids(data: Any) -> Any:
    """`store_id` and its other name `store_ids`, each a string or a list, as one list."""
    if not isinstance(data, Mapping) or ("store_id" not in data and "store_ids" not in data):
        return data
    merged: list[Any] = []
    for name in ("store_id", "store_ids"):
        if name in data:
            given = data[name]
            merged.extend(given if isinstance(given, (list, tuple)) else [given])
    rest = {k: v for k, v in data.items() if k not in ("store_id", "store_ids")}
    return {**rest, "store_id": merged}


_ONE_STORE_ID = {"type": "string", "minLength": 1, "maxLength": MAX_STORE_ID_LENGTH}
STORE_IDS_SCHEMA = {"anyOf": [
    _ONE_STORE_ID, {"type": "array", "items": _ONE_STORE_ID, "minItems": 1, "maxItems": MAX_STORE_IDS}]}


class ReportRequest(RangeRequest):
    """A report to run: the standard report of SPEC 2 (three windows ending at now or `as_of`),
    or, with `from`/`to`/`last_hours`, the range report of SPEC 5."""

    repeatable: ClassVar[frozenset[str]] = frozenset({"store_id", "store_ids"})

    # The store-id rule is applied to the whole list at once (`_one_store_list`: each id cleaned,
    # duplicates dropped, the count bounded), not again per item: 10,000 ids cost one pass.
    store_ids: Annotated[tuple[str, ...], WithJsonSchema(STORE_IDS_SCHEMA)] = Field(
        None, validation_alias=AliasChoices("store_id", "store_ids"), serialization_alias="store_ids",
        description="Only these stores (a string or a list; repeatable in a query); an owner key: only its own")
    as_of: Instant = Field(None, description="The report's now, ISO-8601 (default: the newest poll); "
                                             "not with from, to or last_hours")

    @model_validator(mode="before")
    @classmethod
    def _one_store_list(cls, data: Any, info: ValidationInfo) -> Any:
        data = _merge_store_ids(data)
        if isinstance(data, Mapping) and data.get("store_id") is not None:
            limit = (info.context or {}).get("max_store_ids", MAX_STORE_IDS)
            data = {**data, "store_id": clean_store_ids(data["store_id"], limit)}
        return data

    @model_validator(mode="after")
    def _as_of_alone(self) -> ReportRequest:
        if self.as_of is not None and self.is_range:
            raise ValueError("as_of cannot be combined with from, to or last_hours")
        return self

    @property
    def as_of_us(self) -> int | None:
        return self.as_of

    @classmethod
    def of(cls, *, store_ids: tuple[str, ...] | list[str] | None = None, as_of_us: int | None = None,
           from_us: int | None = None, to_us: int | None = None, last_hours: int | None = None) -> ReportRequest:
        """The request from Python values (instants in epoch µs), validated like any other."""
        given = {"store_ids": list(store_ids) if store_ids is not None else None, "as_of": as_of_us,
                 "from": from_us, "to": to_us, "last_hours": last_hours}
        return parse(cls, {k: v for k, v in given.items() if v is not None}, context=MICROSECONDS)

    def stored(self) -> dict[str, Any]:
        """What report jobs and schedules keep: the request's own names, instants as UTC text."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_stored(cls, params: Mapping[str, Any]) -> ReportRequest:
        """A stored request, also in the form of the last release (`as_of_us`, `from_us`, `to_us`,
        `kind`, fractional `last_hours`), validated again: a bad row fails its report."""
        params = dict(params)
        if {"as_of_us", "from_us", "to_us", "kind"} & set(params):
            params.pop("kind", None)
            for old, new in (("as_of_us", "as_of"), ("from_us", "from"), ("to_us", "to")):
                if old in params:
                    params[new] = params.pop(old)
            params = {k: v for k, v in params.items() if v is not None}
            hours = params.get("last_hours")
            if isinstance(hours, float) and not hours.is_integer():
                params["last_hours"] = max(1, round(hours))
                log.warning("stored last_hours %s read as %s (whole hours only)", hours, params["last_hours"])
        return parse(cls, params, context=MICROSECONDS)

    def narrowed_to(self, store_ids: tuple[str, ...] | None) -> ReportRequest:
        """The same request for these stores (already checked: an owner's scope, a shard)."""
        return self.model_copy(update={"store_ids": store_ids})

    def describe(self) -> str:
        stores = "all stores" if self.store_ids is None else f"{len(self.store_ids)} store(s)"
        what = stores + (f", as_of={format_instant(self.as_of)}" if self.as_of is not None else "")
        if self.is_range:
            stored = self.stored()
            what += f", range from={stored.get('from')} to={stored.get('to')} last_hours={self.last_hours}"
        return what


class TriggerRequest(ReportRequest):
    """`/trigger_report`'s parameters: a report request and where to tell when it ends."""

    webhook_url: str = Field(None, description="Told by a signed POST when the report ends (SPEC 7): "
                                               "http(s), a public address")

    def report(self) -> ReportRequest:
        """The report part, as validated already (not validated twice)."""
        fields = {name: getattr(self, name) for name in ReportRequest.model_fields}
        return ReportRequest.model_construct(_fields_set=self.model_fields_set - {"webhook_url"}, **fields)


class RecentReportsQuery(Contract):
    """The query of `GET /reports`: how many of the newest reports."""

    limit: int = Field(20, ge=1, le=200, description="How many, 1 to 200")
