"""Parsing the range parameters of SPEC 5.2 (from, to, last_hours) from one request."""
from __future__ import annotations

import math
from typing import Any, Callable

from controllers.errors import ApiError
from services.ingest.parsing import parse_instant

RANGE_PARAMS = ("from", "to", "last_hours")
# 1970-01-01 .. 2100-01-01: an instant outside is a typo, not a question about the data.
_MIN_US, _MAX_US = 0, 4_102_444_800 * 1_000_000


def parse_range(values_of: Callable[[str], list[Any] | None]) -> dict[str, Any]:
    """from_us, to_us, last_hours (each None when absent) from `values_of(name)`, the list of
    values given for a name or None. A malformed value is an ApiError(400) naming it."""
    parsed: dict[str, Any] = {"from_us": None, "to_us": None, "last_hours": None}
    for name in RANGE_PARAMS:
        values = values_of(name)
        if values is None:
            continue
        if len(values) != 1:
            raise ApiError(400, f"{name} must be given once")
        value = values[0]
        if name == "last_hours":
            parsed["last_hours"] = _hours(value)
            continue
        if not isinstance(value, str):
            raise ApiError(400, f"{name} must be an ISO-8601 string")
        try:
            instant = parse_instant(value[:64])
        except ValueError as exc:
            raise ApiError(400, f"{name}: {exc}") from None
        if not _MIN_US <= instant < _MAX_US:
            raise ApiError(400, f"{name} must lie between 1970 and 2100")
        parsed[f"{name}_us"] = instant
    return parsed


def _hours(value: Any) -> float:
    if isinstance(value, bool):
        raise ApiError(400, "last_hours must be a number of hours")
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ApiError(400, "last_hours must be a number of hours") from None
    if not math.isfinite(hours):
        raise ApiError(400, "last_hours must be a number of hours")
    return int(hours) if hours.is_integer() else hours
