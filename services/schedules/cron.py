"""Due times of a 5-field cron expression evaluated in an IANA zone, with SPEC 7's DST rules.

croniter walks naive local wall-clock times; each wall time is then mapped to one UTC instant:
a repeated (autumn) wall time takes its first occurrence, a skipped (spring) one the first
instant after the gap. The mapping never decreases, so equal instants collapse into one due
time and "the latest due time not after now" is the first candidate, walking back, that is.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from services.errors import InvalidInput

# Walk this far past "now" in wall time: covers any zone's DST shift (at most 2 hours).
_WALL_MARGIN = timedelta(hours=3)
_MAX_EXPRESSION_LENGTH = 200


class ScheduleError(InvalidInput):
    """A cron expression or zone the service cannot schedule; the message is meant for the client."""


def parse_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError("timezone must be an IANA zone name such as 'America/Chicago'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name.strip()[:64]!r}") from None


def validate_cron(expression: object) -> str:
    """The expression, normalised to single spaces; only standard 5-field expressions pass."""
    if not isinstance(expression, str) or len(expression) > _MAX_EXPRESSION_LENGTH:
        raise ScheduleError("cron must be a 5-field cron expression such as '0 6 * * *'")
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"cron must have 5 fields (minute hour day month weekday), got {len(fields)}")
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise ScheduleError(f"invalid cron expression {normalised!r}")
    try:
        croniter(normalised, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, CroniterError):
        raise ScheduleError(f"cron expression {normalised!r} never fires") from None
    return normalised


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive local wall time stands for under SPEC 7's DST rules."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists (for a repeated time, fold=0 is its first occurrence)
    # Skipped: the gap lies between the two readings; find its end, the first instant whose
    # local wall time is past `wall`, to the second.
    second = wall.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    low, high = sorted((int(first.timestamp()), int(second.timestamp())))
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, timezone.utc)


def _walls(expression: str, start: datetime, backwards: bool) -> Iterator[datetime]:
    walker = croniter(expression, start)
    step = walker.get_prev if backwards else walker.get_next
    try:
        while True:
            yield step(datetime)
    except CroniterBadDateError:
        return


def latest_due(expression: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The most recent due instant not after `now` (UTC), or None if there is none."""
    wall_now = now.astimezone(zone).replace(tzinfo=None)
    for wall in _walls(expression, wall_now + _WALL_MARGIN, backwards=True):
        instant = wall_to_instant(wall, zone)
        if instant <= now:
            return instant
    return None


def next_due(expression: str, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first due instant strictly after `after` (UTC), or None if there is none."""
    wall_after = after.astimezone(zone).replace(tzinfo=None)
    for wall in _walls(expression, wall_after - _WALL_MARGIN, backwards=False):
        instant = wall_to_instant(wall, zone)
        if instant > after:
            return instant
    return None


def due_between(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every distinct due instant in (start, end]: what a clock running through that span sees."""
    found: list[datetime] = []
    cursor = start
    while (instant := next_due(expression, zone, cursor)) is not None and instant <= end:
        found.append(instant)
        cursor = instant
    return found

