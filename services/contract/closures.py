"""The closure requests of SPEC 9: `POST /stores/<id>/closures` and `GET /stores/<id>/closures`.

A closure's start and end are either the store's local wall-clock time (`YYYY-MM-DDTHH:MM[:SS]`,
no zone: converted with the store's zone like business hours) or an instant (the same with `Z`
or a UTC offset). Which one is decided here; the conversion, which needs the store's zone, is the
service's (services/closures/catalog.py).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from services.contract import Contract
from services.contract.reports import Instant, MAX_INSTANT_US, MIN_INSTANT_US
from services.errors import InvalidInput

MAX_REASON_CHARS = 200
DAY_S = 86_400
MAX_CLOSURE_S = 366 * DAY_S
_TIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?", re.ASCII | re.IGNORECASE)
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|z|[+-]\d{2}:?\d{2})?$"


@dataclass(frozen=True)
class ClosureTime:
    """A closure bound: `wall_s` (local wall seconds, as if they were UTC epoch seconds) when no
    zone was given, else `instant_us` (UTC epoch µs)."""

    text: str
    wall_s: int | None = None
    instant_us: int | None = None

    @property
    def is_local(self) -> bool:
        return self.wall_s is not None


def _closure_time(value: Any) -> ClosureTime:
    message = "expected YYYY-MM-DDTHH:MM[:SS] (the store's local time) or with Z / an offset (an instant)"
    if not isinstance(value, str):
        raise ValueError(message)
    text = value.strip()
    match = _TIME_RE.fullmatch(text[:40])
    if match is None:
        raise ValueError(f"{message}, not {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
    zone = match.group(7)
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date and time that exists on the calendar") from None
    wall_s = int((moment - dt.datetime(1970, 1, 1)).total_seconds())
    if zone is None:
        if not MIN_INSTANT_US <= wall_s * 1_000_000 < MAX_INSTANT_US:
            raise ValueError("must lie between 1970 and 2100")
        return ClosureTime(text, wall_s=wall_s)
    offset_s = 0
    if zone.upper() != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad UTC offset {zone!r}")
        offset_s = (hours * 3600 + minutes * 60) * (-1 if zone[0] == "-" else 1)
    instant_us = (wall_s - offset_s) * 1_000_000
    if not MIN_INSTANT_US <= instant_us < MAX_INSTANT_US:
        raise ValueError("must lie between 1970 and 2100")
    return ClosureTime(text, instant_us=instant_us)


Bound = Annotated[
    ClosureTime, BeforeValidator(_closure_time),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN,
                    "description": "The store's local wall-clock time (YYYY-MM-DDTHH:MM[:SS], no zone), or an "
                                   "instant (with Z or a UTC offset)",
                    "examples": ["2023-12-25T00:00", "2023-12-25T06:00:00Z"]}),
]


class NewClosure(Contract):
    """The body of POST /stores/<id>/closures: [start, end), at most 366 days."""

    start: Bound = Field(description="Start of the closure (included)")
    end: Bound = Field(description="End of the closure (excluded)")
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS,
                               description="Free text, at most 200 characters (null or empty: none)")

    @field_validator("reason", mode="before")
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _ordered(self) -> NewClosure:
        # Two bounds of the same kind are checked here; mixed kinds after the conversion.
        if self.start.is_local and self.end.is_local:
            _check_span((self.end.wall_s or 0) - (self.start.wall_s or 0))
        elif not self.start.is_local and not self.end.is_local:
            _check_span(((self.end.instant_us or 0) - (self.start.instant_us or 0)) / 1_000_000)
        return self

    @property
    def reason_text(self) -> str | None:
        return self.reason or None


def _check_span(seconds: float) -> None:
    if seconds <= 0:
        raise ValueError("end must be after start")
    if seconds > MAX_CLOSURE_S:
        raise ValueError("a closure may last at most 366 days")


def check_closure_span(start_us: int, end_us: int) -> None:
    """The same rule on converted instants (a local bound and an instant, or local times that a
    daylight-saving change brought together)."""
    try:
        _check_span((end_us - start_us) / 1_000_000)
    except ValueError as exc:
        raise InvalidInput(f"{exc} (after converting local times with the store's zone)") from None


class ClosureQuery(Contract):
    """GET /stores/<id>/closures: the closures overlapping [from, to) (each bound optional)."""

    from_: Instant = Field(None, validation_alias="from", serialization_alias="from",
                           description="Only closures ending after this instant")
    to: Instant = Field(None, description="Only closures starting before this instant")

    @model_validator(mode="after")
    def _ordered(self) -> ClosureQuery:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("'from' must be before 'to'")
        return self


CLOSURE_ID_RE = re.compile(r"[0-9a-f]{32}")
