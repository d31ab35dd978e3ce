"""What a report computes, as plain JSON-serialisable parameters (stored with a report job).

Two kinds: the standard report of SPEC section 2 (three windows ending at now or `as_of`) and
the range report of section 5 (one window [from, to), given by `from`, `to` and/or
`last_hours`). Relative parts (`to` defaulting to now, `last_hours`) are stored as asked and
resolved when the report runs, against the data it reads.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from services.reports.availability import MAX_RANGE_US, InvalidRange, check_range
from services.reports.engine import DAY_US, HOUR_US

DEFAULT_RANGE_US = 7 * DAY_US  # `to` alone: the week before it (as the availability endpoint)


class InvalidReport(ValueError):
    """Parameters that describe no report; the message says why, for a 400 or a CLI error."""


@dataclass(frozen=True)
class ReportSpec:
    store_ids: tuple[str, ...] | None = None
    as_of_us: int | None = None
    from_us: int | None = None
    to_us: int | None = None
    last_hours: float | None = None

    @property
    def is_range(self) -> bool:
        return self.from_us is not None or self.to_us is not None or self.last_hours is not None

    def validate(self) -> ReportSpec:
        """Check what can be checked before the data is read; returns self."""
        if self.as_of_us is not None and self.is_range:
            raise InvalidReport("as_of cannot be combined with from, to or last_hours")
        if self.from_us is not None and self.last_hours is not None:
            raise InvalidReport("give either from or last_hours, not both")
        if self.last_hours is not None:
            hours = self.last_hours
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not hours == hours:
                raise InvalidReport("last_hours must be a number of hours")
            if not 0 < hours * HOUR_US <= MAX_RANGE_US:
                raise InvalidReport("last_hours must be above 0 and at most 366 × 24 = 8784")
        if self.from_us is not None and self.to_us is not None:
            try:
                check_range(self.from_us, self.to_us)
            except InvalidRange as exc:
                raise InvalidReport(str(exc)) from None
        return self

    def resolve_range(self, now_us: int) -> tuple[int, int]:
        """[from, to) of a range report whose data's now is `now_us`."""
        to_us = self.to_us if self.to_us is not None else now_us
        if self.from_us is not None:
            from_us = self.from_us
        elif self.last_hours is not None:
            from_us = to_us - round(self.last_hours * HOUR_US)
        else:
            from_us = to_us - DEFAULT_RANGE_US
        try:
            check_range(from_us, to_us)
        except InvalidRange as exc:
            raise InvalidReport(str(exc)) from None
        return from_us, to_us

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "store_ids": list(self.store_ids) if self.store_ids is not None else None,
            "as_of_us": self.as_of_us,
        }
        if self.is_range:
            params.update(kind="range", from_us=self.from_us, to_us=self.to_us, last_hours=self.last_hours)
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ReportSpec:
        ids = params.get("store_ids")
        return cls(
            store_ids=tuple(ids) if ids is not None else None,
            as_of_us=params.get("as_of_us"),
            from_us=params.get("from_us"),
            to_us=params.get("to_us"),
            last_hours=params.get("last_hours"),
        )
