"""Checks the slow reference implementation (tests/reference_report.py) against SPEC section 2.

Why: the property test of the fast engine is only as good as its oracle, so the oracle is
pinned down here on the spec's worked examples and on hand-computed edge cases (DST gaps and
overlaps, overnight hours, 24:00, split hours, duplicate polls, interval and look-back edges,
unknown zones).
"""
from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from reference_report import (
    input_frames,
    COLUMNS,
    DAY_US,
    business_intervals,
    is_open,
    local_to_utc_us,
    reference_uptime,
    resolve_zone,
    up_down_us,
)
from spec_examples import example_folders, load_example, parse_local_seconds

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> int:
    """A UTC wall time as epoch microseconds."""
    value = dt.datetime(y, mo, d, h, mi, s, us, tzinfo=dt.timezone.utc)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def frames(
    polls: list[tuple[str, int, bool]],
    hours: list[tuple[str, int, str, str]] = (),
    zones: list[tuple[str, str]] = (),
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Build the three input frames from short literal lists (hours as 'HH:MM')."""
    seconds = [(h[0], h[1], parse_local_seconds(h[2]), parse_local_seconds(h[3])) for h in hours]
    return input_frames(polls, seconds, zones)


def row(result: pd.DataFrame, store: str) -> list[float]:
    return [float(result.loc[store, c]) for c in COLUMNS]


def assert_row(result: pd.DataFrame, store: str, up: tuple, down: tuple) -> None:
    """up/down = (hour in minutes, day in hours, week in hours)."""
    assert row(result, store) == pytest.approx(list(up) + list(down), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# The worked examples of SPEC 2.6
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", example_folders(), ids=lambda p: p.name)
def test_spec_examples(folder: Path) -> None:
    example = load_example(folder)
    result = reference_uptime(example.polls, example.hours, example.zones, example.now_us)
    assert list(result.index) == list(example.expected.index)
    assert list(result.columns) == COLUMNS
    for store in example.expected.index:
        for column in COLUMNS:
            assert abs(result.loc[store, column] - example.expected.loc[store, column]) <= 0.01, (
                folder.name, store, column)


def test_there_are_six_examples() -> None:
    assert len(example_folders()) >= 6


# ---------------------------------------------------------------------------------------------
# Local time -> UTC, SPEC 2.2 (fold=0)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "zone, local_date, local_time, expected",
    [
        # Spring-forward gaps: the offset before the transition.
        ("America/Chicago", dt.date(2023, 3, 12), "02:30", utc(2023, 3, 12, 8, 30)),
        ("America/Chicago", dt.date(2023, 3, 12), "02:00", utc(2023, 3, 12, 8, 0)),
        ("America/Chicago", dt.date(2023, 3, 12), "03:00", utc(2023, 3, 12, 8, 0)),
        ("Europe/London", dt.date(2023, 3, 26), "01:30", utc(2023, 3, 26, 1, 30)),
        ("Australia/Sydney", dt.date(2023, 10, 1), "02:30", utc(2023, 9, 30, 16, 30)),
        # Autumn overlaps: the first occurrence.
        ("America/Chicago", dt.date(2023, 11, 5), "01:30", utc(2023, 11, 5, 6, 30)),
        ("America/Chicago", dt.date(2023, 11, 5), "02:00", utc(2023, 11, 5, 8, 0)),
        ("Europe/London", dt.date(2023, 10, 29), "01:30", utc(2023, 10, 29, 0, 30)),
        ("Australia/Sydney", dt.date(2023, 4, 2), "02:30", utc(2023, 4, 1, 15, 30)),
        ("Australia/Lord_Howe", dt.date(2023, 4, 2), "01:45", utc(2023, 4, 1, 14, 45)),
        # 24:00 is the next local midnight.
        ("America/Chicago", dt.date(2023, 3, 11), "24:00", utc(2023, 3, 12, 6, 0)),
        ("Asia/Kathmandu", dt.date(2023, 1, 23), "00:00", utc(2023, 1, 22, 18, 15)),
    ],
)
def test_local_to_utc(zone: str, local_date: dt.date, local_time: str, expected: int) -> None:
    assert local_to_utc_us(local_date, parse_local_seconds(local_time), ZoneInfo(zone)) == expected


def test_unknown_or_missing_zone_is_chicago() -> None:
    for name in ["Mars/Olympus_Mons", "", None, float("nan"), "America", "../etc/passwd"]:
        assert resolve_zone(name) == ZoneInfo("America/Chicago")
    assert resolve_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")


# ---------------------------------------------------------------------------------------------
# Business intervals
# ---------------------------------------------------------------------------------------------

def test_spring_forward_interval_inside_the_gap_is_empty() -> None:
    # Sun 02:30-03:30 Chicago: on 2023-03-12 02:30 -> 08:30 UTC and 03:30 CDT -> 08:30 UTC.
    tz = ZoneInfo("America/Chicago")
    intervals = business_intervals([(6, 9000, 12600)], tz, utc(2023, 3, 4), utc(2023, 3, 13))
    assert (utc(2023, 3, 5, 8, 30), utc(2023, 3, 5, 9, 30)) in intervals  # a normal Sunday
    assert not any(utc(2023, 3, 12) <= a < utc(2023, 3, 13) for a, _ in intervals)
    assert not is_open(utc(2023, 3, 12, 8, 30), intervals)
    # Sun 02:00-03:00 collapses the same way (08:00 .. 08:00 UTC).
    intervals = business_intervals([(6, 7200, 10800)], tz, utc(2023, 3, 11), utc(2023, 3, 13))
    assert not any(utc(2023, 3, 12) <= a < utc(2023, 3, 13) for a, _ in intervals)


def test_overlapping_rows_are_a_union() -> None:
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 23, 10), True)],
        [("s", 0, "09:00", "12:00"), ("s", 0, "11:00", "13:00")],
        [("s", "UTC")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 14))
    assert_row(result, "s", (0, 4, 4), (0, 0, 0))


# ---------------------------------------------------------------------------------------------
# Hand-computed reports around DST
# ---------------------------------------------------------------------------------------------

def test_chicago_spring_forward_open_in_gap() -> None:
    # Sun 02:30-05:00 on 2023-03-12: 08:30 UTC (gap, CST offset) to 10:00 UTC (CDT) = 1.5 h.
    polls, hours, zones = frames(
        [("s", utc(2023, 3, 12, 9), True)], [("s", 6, "02:30", "05:00")], [("s", "America/Chicago")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 3, 12, 12))
    # Week starts Sun 03-05 12:00 UTC, after that Sunday's 08:30-11:00 UTC.
    assert_row(result, "s", (0, 1.5, 1.5), (0, 0, 0))


def test_chicago_fall_back_ambiguous_hour() -> None:
    # Sun 01:00-02:00 on 2023-11-05: 01:00 CDT = 06:00 UTC .. 02:00 CST = 08:00 UTC = 2 h.
    polls, hours, zones = frames(
        [("s", utc(2023, 11, 5, 6, 10), True), ("s", utc(2023, 11, 5, 7, 50), False)],
        [("s", 6, "01:00", "02:00")],
        [("s", "America/Chicago")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 11, 5, 12))
    assert_row(result, "s", (0, 1, 1), (0, 1, 1))  # switch at 07:00 UTC


def test_chicago_ambiguous_hours_use_first_occurrence() -> None:
    # Sun 01:30-01:45 = 06:30-06:45 UTC (CDT); 07:40 UTC is 01:40 CST, the repeat: closed.
    now = utc(2023, 11, 5, 12)
    polls, hours, zones = frames(
        [("late", utc(2023, 11, 5, 7, 40), True), ("early", utc(2023, 11, 5, 6, 40), True)],
        [("late", 6, "01:30", "01:45"), ("early", 6, "01:30", "01:45")],
        [("late", "America/Chicago"), ("early", "America/Chicago")],
    )
    result = reference_uptime(polls, hours, zones, now)
    assert_row(result, "late", (0, 0, 0), (0, 0, 0))
    assert_row(result, "early", (0, 0.25, 0.25), (0, 0, 0))


def test_london_fall_back() -> None:
    # Sun 01:00-02:00 on 2023-10-29: 01:00 BST = 00:00 UTC .. 02:00 GMT = 02:00 UTC.
    polls, hours, zones = frames(
        [("s", utc(2023, 10, 29, 1), True)], [("s", 6, "01:00", "02:00")], [("s", "Europe/London")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 10, 29, 3))
    assert_row(result, "s", (0, 2, 2), (0, 0, 0))


def test_london_spring_forward() -> None:
    # Sun 01:30-03:00 on 2023-03-26: 01:30 (gap, GMT) = 01:30 UTC .. 03:00 BST = 02:00 UTC.
    polls, hours, zones = frames(
        [("s", utc(2023, 3, 26, 1, 45), False)], [("s", 6, "01:30", "03:00")], [("s", "Europe/London")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 3, 26, 6))
    assert_row(result, "s", (0, 0, 0), (0, 0.5, 0.5))


def test_overnight_hours_across_spring_forward() -> None:
    # Sat 23:00-03:00 Chicago: Sat 03-11 23:00 CST = 05:00 UTC .. Sun 03:00 CDT = 08:00 UTC.
    # The previous Saturday: 03-05 05:00-09:00 UTC, of which 08:00-09:00 is in the week.
    polls, hours, zones = frames(
        [("s", utc(2023, 3, 12, 6), True)], [("s", 5, "23:00", "03:00")], [("s", "America/Chicago")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 3, 12, 8))
    assert_row(result, "s", (60, 3, 4), (0, 0, 0))


def test_overnight_hours_across_fall_back() -> None:
    # Sat 23:00-03:00 Chicago: Sat 11-04 23:00 CDT = 04:00 UTC .. Sun 03:00 CST = 09:00 UTC.
    polls, hours, zones = frames(
        [("s", utc(2023, 11, 5, 4), False)], [("s", 5, "23:00", "03:00")], [("s", "America/Chicago")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 11, 5, 10))
    # Week starts Sun 10-29 10:00 UTC, after the previous Saturday's 04:00-08:00 UTC.
    assert_row(result, "s", (0, 0, 0), (0, 5, 5))


# ---------------------------------------------------------------------------------------------
# Other hand-computed reports
# ---------------------------------------------------------------------------------------------

def test_end_24_00() -> None:
    # Mon 18:00-24:00 UTC; a poll exactly at 24:00 (Tue 00:00) is outside.
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 23, 20), True), ("s", utc(2023, 1, 24), False)],
        [("s", 0, "18:00", "24:00")],
        [("s", "UTC")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 24, 1))
    # The week starts Tue 17th 01:00, after Mon 16th 18:00-24:00.
    assert_row(result, "s", (0, 6, 6), (0, 0, 0))


def test_whole_day_00_to_24() -> None:
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 23, 5), False)], [("s", 0, "00:00", "24:00")], [("s", "UTC")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 24, 6))
    # Day [Mon 06:00, Tue 06:00): Mon 06:00-24:00 = 18 h; week [Tue 17th 06:00, ...): all of
    # Mon 23rd = 24 h (Mon 16th ends before the week starts).
    assert_row(result, "s", (0, 0, 0), (0, 18, 24))


def test_start_equals_end_is_24_hours() -> None:
    # Mon 09:00-09:00 UTC = Mon 09:00 .. Tue 09:00; a poll at Tue 09:00 (closing) is outside.
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 24, 8, 59), False), ("s", utc(2023, 1, 24, 9), True)],
        [("s", 0, "09:00", "09:00")],
        [("s", "UTC")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 24, 10))
    # Day [Mon 10:00, Tue 10:00): Mon 10:00 .. Tue 09:00 = 23 h; week [Tue 17th 10:00, ...):
    # all of Mon 23rd 09:00 .. Tue 24th 09:00 = 24 h (the 16th-17th interval ends before).
    assert_row(result, "s", (0, 0, 0), (0, 23, 24))


def test_split_hours_switch_in_closed_time() -> None:
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 23, 11), True), ("s", utc(2023, 1, 23, 15), False)],
        [("s", 0, "09:00", "12:00"), ("s", 0, "14:00", "18:00")],
        [("s", "UTC")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 18))
    assert_row(result, "s", (0, 3, 3), (60, 4, 4))  # midpoint 13:00 is in closed time


def test_closed_on_days_without_rows() -> None:
    # Only Tuesday rows: Monday is closed, so a Monday poll is ignored.
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 23, 10), True)], [("s", 1, "09:00", "17:00")], [("s", "UTC")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 12))
    assert_row(result, "s", (0, 0, 0), (0, 0, 0))


@pytest.mark.parametrize("order", [(True, False), (False, True)])
def test_duplicate_conflicting_polls_count_inactive(order: tuple[bool, bool]) -> None:
    t = utc(2023, 1, 23, 10)
    polls, hours, zones = frames([("s", t, order[0]), ("s", t, order[1])], [], [("s", "UTC")])
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 12))
    assert_row(result, "s", (0, 0, 0), (60, 24, 168))


def test_duplicate_agreeing_polls() -> None:
    t = utc(2023, 1, 23, 10)
    polls, hours, zones = frames([("s", t, True), ("s", t, True)], [], [("s", "UTC")])
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 12))
    assert_row(result, "s", (60, 24, 168), (0, 0, 0))


def test_poll_at_closing_is_outside_and_at_opening_inside() -> None:
    polls, hours, zones = frames(
        [
            ("closing", utc(2023, 1, 23, 12), True),
            ("both", utc(2023, 1, 23, 9), False),
            ("both", utc(2023, 1, 23, 12), True),
        ],
        [("closing", 0, "09:00", "12:00"), ("both", 0, "09:00", "12:00")],
        [("closing", "UTC"), ("both", "UTC")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 13))
    assert list(result.index) == ["both", "closing"]
    assert_row(result, "closing", (0, 0, 0), (0, 0, 0))
    assert_row(result, "both", (0, 0, 0), (0, 3, 3))


def test_poll_exactly_eight_days_old_is_included() -> None:
    now = utc(2023, 1, 23, 12)
    polls, hours, zones = frames(
        [("in", now - 8 * DAY_US, True), ("out", now - 8 * DAY_US - 1, True)], [], []
    )
    result = reference_uptime(polls, hours, zones, now)
    assert_row(result, "in", (60, 24, 168), (0, 0, 0))
    assert_row(result, "out", (0, 0, 0), (0, 0, 0))  # has a poll, so has a row


def test_poll_at_now_included_and_after_now_ignored() -> None:
    now = utc(2023, 1, 23, 12)
    polls, hours, zones = frames(
        [("at", now, False), ("at", now + 1, True), ("after", now + 1, True)], [], []
    )
    result = reference_uptime(polls, hours, zones, now)
    assert list(result.index) == ["at"]
    assert_row(result, "at", (0, 0, 0), (60, 24, 168))
    # Explicitly asked for, a store gets a row (zeros) even when all its polls are after now.
    explicit = reference_uptime(polls, hours, zones, now, stores=["after", "at"])
    assert sorted(explicit.index) == ["after", "at"]
    assert_row(explicit, "after", (0, 0, 0), (0, 0, 0))


def test_unknown_zone_and_missing_zone_use_chicago() -> None:
    # Mon 09:00-17:00 Chicago (CST) = 15:00-23:00 UTC; New York would be 14:00-22:00 UTC.
    polls, hours, zones = frames(
        [(s, utc(2023, 1, 23, 16), True) for s in ["chicago", "unknown", "none", "ny"]],
        [(s, 0, "09:00", "17:00") for s in ["chicago", "unknown", "none", "ny"]],
        [("chicago", "America/Chicago"), ("unknown", "Mars/Olympus_Mons"), ("ny", "America/New_York")],
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 20))
    for store in ["chicago", "unknown", "none"]:
        # week: Mon 16th 15:00-23:00 overlaps [16th 20:00, ...) by 3 h.
        assert_row(result, store, (60, 5, 8), (0, 0, 0))
    assert_row(result, "ny", (60, 6, 8), (0, 0, 0))


def test_nearest_observation_across_days() -> None:
    polls, hours, zones = frames(
        [("s", utc(2023, 1, 22), True), ("s", utc(2023, 1, 23), False)], [], [("s", "UTC")]
    )
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23, 12))
    # Switch at 22nd 12:00; before the first observation its status holds.
    assert_row(result, "s", (0, 0, 144), (60, 24, 24))


def test_midpoint_on_a_half_microsecond_is_exact() -> None:
    t = utc(2023, 1, 23, 11)
    up, down = up_down_us([(t, True), (t + 1, False)], [(-(2**62), 2**62)], t, t + 10)
    assert (up, down) == (Fraction(1, 2), Fraction(19, 2))


def test_no_polls_gives_empty_frame() -> None:
    polls, hours, zones = frames([], [], [])
    result = reference_uptime(polls, hours, zones, utc(2023, 1, 23))
    assert len(result) == 0
    assert list(result.columns) == COLUMNS
    assert result.index.name == "store"
