"""A deliberately plain, slow reference implementation of SPEC section 2 (report semantics).

Why it exists: the production engine (`services/report_engine.py`) is vectorised and therefore
hard to read; this module states the rules one store at a time with `datetime` + `zoneinfo`
and exact integer/`Fraction` arithmetic, so the property tests can compare the two.  Nothing
here is optimised — clarity first.  It has the same interface as
`services.reports.engine.compute_uptime`.

Conventions: every instant is an `int` of microseconds since the Unix epoch, UTC.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Hashable, Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

DEFAULT_TZ = "America/Chicago"  # SPEC 2.3

US_PER_S = 1_000_000
MINUTE_US = 60 * US_PER_S
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US
OBSERVATION_LOOKBACK_US = 8 * DAY_US  # SPEC 2.4: polls within [now - 8 x 24 h, now]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ONE_US = dt.timedelta(microseconds=1)

# "Always open" (SPEC 2.2, store without rows) as one interval far wider than any window.
ALWAYS_OPEN: tuple[int, int] = (-(2**62), 2**62)

COLUMNS = [
    "uptime_last_hour",
    "uptime_last_day",
    "uptime_last_week",
    "downtime_last_hour",
    "downtime_last_day",
    "downtime_last_week",
]

# (name, window length, output unit): hour in minutes, day and week in hours (SPEC 2.5).
WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("hour", HOUR_US, MINUTE_US),
    ("day", DAY_US, HOUR_US),
    ("week", WEEK_US, HOUR_US),
)

Interval = tuple[int, int]  # half-open [open_us, close_us)
HoursRow = tuple[int, int, int]  # (day 0=Mon..6=Sun, start_s, end_s), seconds since local midnight
Observation = tuple[int, bool]  # (ts_us, active)


# ---------------------------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------------------------

def resolve_zone(name: object) -> ZoneInfo:
    """SPEC 2.3: a missing or unknown zone name means America/Chicago."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return ZoneInfo(DEFAULT_TZ)


def datetime_to_us(value: dt.datetime) -> int:
    """An aware datetime as exact integer microseconds since the epoch (no float rounding)."""
    return (value.astimezone(dt.timezone.utc) - EPOCH) // ONE_US


def us_to_datetime(us: int) -> dt.datetime:
    """Integer epoch microseconds as an aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=int(us))


def local_to_utc_us(local_date: dt.date, seconds: int, tz: ZoneInfo) -> int:
    """Wall-clock time `seconds` after local midnight of `local_date` (86400 = 24:00 = next
    midnight), as a UTC instant.

    Uses fold=0, which is exactly SPEC 2.2: an ambiguous time takes its first occurrence, a
    nonexistent time uses the offset in force before the transition.
    """
    wall = dt.datetime.combine(local_date, dt.time()) + dt.timedelta(seconds=int(seconds))
    aware = dt.datetime(
        wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second, tzinfo=tz
    )  # fold=0
    return datetime_to_us(aware)


def local_date_of(us: int, tz: ZoneInfo) -> dt.date:
    """The local calendar date of a UTC instant in zone `tz`."""
    return us_to_datetime(us).astimezone(tz).date()


# ---------------------------------------------------------------------------------------------
# Business hours (SPEC 2.2)
# ---------------------------------------------------------------------------------------------

def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of half-open intervals, sorted; empty ones (close <= open) are dropped."""
    merged: list[list[int]] = []
    for open_us, close_us in sorted(i for i in intervals if i[1] > i[0]):
        if merged and open_us <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], close_us)
        else:
            merged.append([open_us, close_us])
    return [(a, b) for a, b in merged]


def business_intervals(
    rows: Sequence[HoursRow], tz: ZoneInfo, lo_us: int, hi_us: int
) -> list[Interval]:
    """The store's business hours as merged UTC intervals, complete for every instant in
    [lo_us, hi_us] (intervals further away may or may not be listed).

    A row opened on local date D closes at the latest on D+2 00:00 local, so the local dates
    from (date of lo) - 3 to (date of hi) + 2 are more than enough.
    """
    if not rows:
        return [ALWAYS_OPEN]
    first = local_date_of(lo_us, tz) - dt.timedelta(days=3)
    last = local_date_of(hi_us, tz) + dt.timedelta(days=2)
    intervals: list[Interval] = []
    day = first
    while day <= last:
        for weekday, start_s, end_s in rows:
            if day.weekday() != int(weekday):
                continue
            open_us = local_to_utc_us(day, start_s, tz)
            if end_s <= start_s:  # runs past midnight; start == end means 24 hours
                close_us = local_to_utc_us(day + dt.timedelta(days=1), end_s, tz)
            else:
                close_us = local_to_utc_us(day, end_s, tz)
            intervals.append((open_us, close_us))  # close <= open (DST) -> dropped as empty
        day += dt.timedelta(days=1)
    return merge_intervals(intervals)


def subtract_closures(intervals: Sequence[Interval], closures: Iterable[Interval]) -> list[Interval]:
    """SPEC 9: business time minus every closure [start, end), one closure at a time."""
    result = list(intervals)
    for closed_from, closed_to in closures:
        if closed_to <= closed_from:
            continue
        kept: list[Interval] = []
        for open_us, close_us in result:
            if closed_to <= open_us or closed_from >= close_us:
                kept.append((open_us, close_us))
                continue
            if open_us < closed_from:
                kept.append((open_us, closed_from))
            if closed_to < close_us:
                kept.append((closed_to, close_us))
        result = kept
    return merge_intervals(result)


def is_open(ts_us: int, intervals: Sequence[Interval]) -> bool:
    """Half-open membership: open at opening time, closed at closing time."""
    return any(open_us <= ts_us < close_us for open_us, close_us in intervals)


def business_time_us(intervals: Sequence[Interval], start_us: int, end_us: int) -> int:
    """Length of business time inside [start_us, end_us)."""
    total = 0
    for open_us, close_us in intervals:
        total += max(0, min(close_us, end_us) - max(open_us, start_us))
    return total


# ---------------------------------------------------------------------------------------------
# Observations and interpolation (SPEC 2.4)
# ---------------------------------------------------------------------------------------------

def observations(
    polls: Iterable[Observation], intervals: Sequence[Interval], now_us: int
) -> list[Observation]:
    """Polls inside business hours and within [now - 8 d, now] (closed range), one per
    instant (inactive wins a conflict), sorted by time."""
    by_instant: dict[int, bool] = {}
    for ts_us, active in polls:
        if not (now_us - OBSERVATION_LOOKBACK_US <= ts_us <= now_us):
            continue
        if not is_open(ts_us, intervals):
            continue
        by_instant[ts_us] = by_instant.get(ts_us, True) and active
    return sorted(by_instant.items())


def status_pieces(obs: Sequence[Observation]) -> list[tuple[Fraction | None, Fraction | None, bool]]:
    """The nearest-observation status as pieces (start, end, active); None = unbounded.

    Between consecutive observations the status switches at their midpoint (which may be a
    half microsecond, hence Fraction).  Which side owns the midpoint itself does not matter:
    a single instant has zero length.
    """
    pieces = []
    for i, (ts_us, active) in enumerate(obs):
        start = None if i == 0 else Fraction(obs[i - 1][0] + ts_us, 2)
        end = None if i == len(obs) - 1 else Fraction(ts_us + obs[i + 1][0], 2)
        pieces.append((start, end, active))
    return pieces


def up_down_us(
    obs: Sequence[Observation], intervals: Sequence[Interval], start_us: int, end_us: int
) -> tuple[Fraction, Fraction]:
    """Exact (uptime, downtime) in microseconds over business time in [start_us, end_us)."""
    up = Fraction(0)
    down = Fraction(0)
    if not obs:
        return up, down
    pieces = status_pieces(obs)
    for open_us, close_us in intervals:
        lo = max(open_us, start_us)
        hi = min(close_us, end_us)
        if lo >= hi:
            continue
        for piece_start, piece_end, active in pieces:
            a = Fraction(lo) if piece_start is None else max(Fraction(lo), piece_start)
            b = Fraction(hi) if piece_end is None else min(Fraction(hi), piece_end)
            if b > a:
                if active:
                    up += b - a
                else:
                    down += b - a
    return up, down


# ---------------------------------------------------------------------------------------------
# Per-store assembly
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreState:
    """Everything the report needs about one store; exposed for the property tests."""

    store: Hashable
    tz: ZoneInfo
    intervals: list[Interval]
    observations: list[Observation]


def _hours_by_store(hours: pd.DataFrame) -> dict[Hashable, list[HoursRow]]:
    result: dict[Hashable, list[HoursRow]] = {}
    for store, day, start_s, end_s in zip(hours["store"], hours["day"], hours["start_s"], hours["end_s"]):
        result.setdefault(store, []).append((int(day), int(start_s), int(end_s)))
    return result


def _zone_by_store(zones: pd.DataFrame) -> dict[Hashable, object]:
    # If a store had several rows, the last one would win (the database keeps one per store).
    return {store: tz for store, tz in zip(zones["store"], zones["tz"])}


def _closures_by_store(closures: pd.DataFrame | None) -> dict[Hashable, list[Interval]]:
    result: dict[Hashable, list[Interval]] = {}
    if closures is None:
        return result
    for store, start_us, end_us in zip(closures["store"], closures["start_us"], closures["end_us"]):
        result.setdefault(store, []).append((int(start_us), int(end_us)))
    return result


def _polls_by_store(polls: pd.DataFrame) -> dict[Hashable, list[Observation]]:
    result: dict[Hashable, list[Observation]] = {}
    for store, ts_us, active in zip(polls["store"], polls["ts_us"], polls["active"]):
        result.setdefault(store, []).append((int(ts_us), bool(active)))
    return result


def store_states(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    now_us: int,
    stores: Sequence | None = None,
    closures: pd.DataFrame | None = None,
) -> dict[Hashable, StoreState]:
    """Per-store zone, business intervals (complete over [now - 8 d, now], closures taken out)
    and observations, for exactly the stores that get a report row."""
    now_us = int(now_us)
    closures_of = _closures_by_store(closures)
    polls_of = _polls_by_store(polls)
    hours_of = _hours_by_store(hours)
    zone_of = _zone_by_store(zones)
    if stores is None:
        wanted = {s for s, ps in polls_of.items() if any(ts <= now_us for ts, _ in ps)}
    else:
        wanted = set(stores)
    states: dict[Hashable, StoreState] = {}
    for store in _sorted(wanted):
        tz = resolve_zone(zone_of.get(store))
        intervals = subtract_closures(business_intervals(
            hours_of.get(store, []), tz, now_us - OBSERVATION_LOOKBACK_US, now_us
        ), closures_of.get(store, []))
        obs = observations(polls_of.get(store, []), intervals, now_us)
        states[store] = StoreState(store, tz, intervals, obs)
    return states


def _sorted(values: Iterable[Hashable]) -> list[Hashable]:
    values = list(values)
    try:
        return sorted(values)
    except TypeError:  # mixed types: any stable order will do, the index is compared as a set
        return sorted(values, key=repr)


def reference_uptime(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    now_us: int,
    stores: Sequence | None = None,
    closures: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Same contract as `services.reports.engine.compute_uptime`, computed plainly per store.

    Returns a float DataFrame indexed by 'store' with the six report columns, unrounded
    (hour values in minutes, day/week values in hours).  Stores listed in `stores` get a row
    even without polls (the interface says `stores` chooses the rows; dropping stores without
    polls, SPEC 2.5, is the caller's job).
    """
    now_us = int(now_us)
    records: list[list[float]] = []
    index: list[Hashable] = []
    for store, state in store_states(polls, hours, zones, now_us, stores, closures).items():
        ups: list[float] = []
        downs: list[float] = []
        for _name, length_us, unit_us in WINDOWS:
            up, down = up_down_us(state.observations, state.intervals, now_us - length_us, now_us)
            ups.append(float(up / unit_us))
            downs.append(float(down / unit_us))
        records.append(ups + downs)
        index.append(store)
    frame = pd.DataFrame(records, columns=COLUMNS, dtype=float)
    frame.index = pd.Index(index, name="store", dtype=object)
    return frame


def input_frames(
    polls: Sequence[tuple[Hashable, int, bool]],
    hours: Sequence[tuple[Hashable, int, int, int]] = (),
    zones: Sequence[tuple[Hashable, str]] = (),
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three input frames of `reference_uptime` / `compute_uptime` from plain row tuples:
    polls (store, ts_us, active), hours (store, day, start_s, end_s), zones (store, tz)."""

    def frame(rows: Sequence[tuple], columns: dict[str, object]) -> pd.DataFrame:
        return pd.DataFrame(
            {name: pd.Series([r[i] for r in rows], dtype=dtype) for i, (name, dtype) in enumerate(columns.items())}
        )

    return (
        frame(polls, {"store": object, "ts_us": "int64", "active": bool}),
        frame(hours, {"store": object, "day": "int64", "start_s": "int64", "end_s": "int64"}),
        frame(zones, {"store": object, "tz": object}),
    )


# ---------------------------------------------------------------------------------------------
# Ranges (SPEC 5.1): totals, incidents and local days over [from, to)
# ---------------------------------------------------------------------------------------------

RANGE_LOOKBACK_US = DAY_US  # observations within [from - 24 h, to]


@dataclass(frozen=True)
class RangeAnswer:
    """One store's range result, exact: µs as Fractions (midpoints may be half µs)."""

    business_us: int
    up_us: Fraction
    down_us: Fraction
    incidents: list[tuple[Fraction, Fraction]]  # [start, end) in epoch µs
    days: list[tuple[dt.date, int, Fraction, Fraction]]  # date, business, up, down (µs)
    closed_us: int = 0  # business time that closures took out of [from, to) (SPEC 9)


def range_observations(
    polls: Iterable[Observation], intervals: Sequence[Interval], lo_us: int, hi_us: int
) -> list[Observation]:
    """In-hours polls within [lo_us, hi_us] (closed), one per instant, inactive winning."""
    by_instant: dict[int, bool] = {}
    for ts_us, active in polls:
        if lo_us <= ts_us <= hi_us and is_open(ts_us, intervals):
            by_instant[ts_us] = by_instant.get(ts_us, True) and active
    return sorted(by_instant.items())


def down_intervals(
    obs: Sequence[Observation], intervals: Sequence[Interval], start_us: int, end_us: int
) -> list[tuple[Fraction, Fraction]]:
    """Maximal inactive business intervals inside [start_us, end_us): every inactive piece of
    every business interval, then pieces that touch joined (a closed gap keeps them apart)."""
    found: list[tuple[Fraction, Fraction]] = []
    if not obs:
        return found
    for open_us, close_us in intervals:
        lo, hi = Fraction(max(open_us, start_us)), Fraction(min(close_us, end_us))
        for piece_start, piece_end, active in status_pieces(obs):
            a = lo if piece_start is None else max(lo, piece_start)
            b = hi if piece_end is None else min(hi, piece_end)
            if b > a and not active:
                found.append((a, b))
    found.sort()
    joined: list[list[Fraction]] = []
    for a, b in found:
        if joined and a == joined[-1][1]:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    return [(a, b) for a, b in joined]


def local_days(tz: ZoneInfo, start_us: int, end_us: int) -> list[tuple[dt.date, int, int]]:
    """Every local date whose [midnight, next midnight) (SPEC 2.2 conversion) overlaps
    [start_us, end_us), with those two instants."""
    day = local_date_of(start_us, tz) - dt.timedelta(days=2)
    last = local_date_of(end_us, tz) + dt.timedelta(days=2)
    result = []
    while day <= last:
        lo = local_to_utc_us(day, 0, tz)
        hi = local_to_utc_us(day + dt.timedelta(days=1), 0, tz)
        if hi > lo and hi > start_us and lo < end_us:
            result.append((day, lo, hi))
        day += dt.timedelta(days=1)
    return result


def reference_range(
    polls: pd.DataFrame,
    hours: pd.DataFrame,
    zones: pd.DataFrame,
    from_us: int,
    to_us: int,
    stores: Sequence | None = None,
    closures: pd.DataFrame | None = None,
) -> dict[Hashable, RangeAnswer]:
    """SPEC 5.1 for each store with a poll not after `to` (or each of `stores`), plainly;
    `closures` (store, start_us, end_us) are taken out of business time (SPEC 9)."""
    closures_of = _closures_by_store(closures)
    polls_of = _polls_by_store(polls)
    hours_of = _hours_by_store(hours)
    zone_of = _zone_by_store(zones)
    if stores is None:
        wanted = {s for s, ps in polls_of.items() if any(ts <= to_us for ts, _ in ps)}
    else:
        wanted = set(stores)
    answers: dict[Hashable, RangeAnswer] = {}
    for store in _sorted(wanted):
        tz = resolve_zone(zone_of.get(store))
        plain = business_intervals(hours_of.get(store, []), tz, from_us - RANGE_LOOKBACK_US, to_us)
        intervals = subtract_closures(plain, closures_of.get(store, []))
        obs = range_observations(polls_of.get(store, []), intervals, from_us - RANGE_LOOKBACK_US, to_us)
        up, down = up_down_us(obs, intervals, from_us, to_us)
        days = []
        for day, lo, hi in local_days(tz, from_us, to_us):
            a, b = max(lo, from_us), min(hi, to_us)
            day_up, day_down = up_down_us(obs, intervals, a, b)
            days.append((day, business_time_us(intervals, a, b), day_up, day_down))
        business = business_time_us(intervals, from_us, to_us)
        answers[store] = RangeAnswer(
            business, up, down, down_intervals(obs, intervals, from_us, to_us), days,
            business_time_us(plain, from_us, to_us) - business,
        )
    return answers
