"""Property tests: range totals, incidents and local days (SPEC 5.1) agree with the plain
reference, and a range of exactly the last week is the standard report's week.

Why: ranges add edges the 3-window report never had — a range starting or ending next to a
DST change (inside the skipped or repeated local hour), local days of 23 or 25 hours, incidents
cut by closed nights or by the range ends, and ranges far longer than the 8-day look-back; and
planned closures (SPEC 9) that overlap, touch or cover the range, or cross a DST change.
"""
from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.contract.reports import MAX_RANGE_US, InvalidRange
from services.reports.availability import compute_range
from services.reports.engine import compute_uptime
from reference_report import DAY_US, HOUR_US, MINUTE_US, input_frames, reference_range, resolve_zone
from test_engine_properties import closures_frame, draw_closures, local_seconds, transition_hints

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
TOLERANCE = 1e-6
MAX_EXAMPLES = int(os.environ.get("RANGE_PROPERTY_EXAMPLES", "120"))

ZONES = ["UTC", "America/Chicago", "America/New_York", "Europe/London", "Australia/Adelaide",
         "Australia/Sydney", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", None]
# Dates near DST changes in both hemispheres, and quiet ones.
DATES = [dt.date(2023, 1, 23), dt.date(2023, 3, 12), dt.date(2023, 3, 26), dt.date(2023, 4, 2),
         dt.date(2023, 9, 24), dt.date(2023, 10, 1), dt.date(2023, 10, 29), dt.date(2023, 11, 5)]
STORES = ["a", "b", "10", "9"]


def micros(day: dt.date) -> int:
    return (dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) - EPOCH) // dt.timedelta(microseconds=1)


def transitions(zone: str | None, day: dt.date) -> list[int]:
    """UTC µs of the zone's offset changes within ±10 days of `day` (quarter-hour steps)."""
    tz = resolve_zone(zone)
    found = []
    t = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) - dt.timedelta(days=10)
    for _ in range(20 * 96):
        if t.astimezone(tz).utcoffset() != (t + dt.timedelta(minutes=15)).astimezone(tz).utcoffset():
            found.append((t + dt.timedelta(minutes=15) - EPOCH) // dt.timedelta(microseconds=1))
        t += dt.timedelta(minutes=15)
    return found


@st.composite
def range_cases(draw: st.DrawFn) -> dict:
    day = draw(st.sampled_from(DATES))
    stores = draw(st.lists(st.sampled_from(STORES), min_size=1, max_size=3, unique=True))
    zone_rows, hours_rows, poll_rows = [], [], []
    changes: list[int] = []
    for store in stores:
        zone = draw(st.sampled_from(ZONES))
        if zone is not None:
            zone_rows.append((store, zone))
        changes += transitions(zone, day)
        rows = draw(st.lists(st.tuples(st.integers(0, 6), local_seconds, local_seconds), max_size=6))
        for weekday, near, _gap in transition_hints(zone, day):  # hours opening/closing at the change
            if draw(st.booleans()):
                rows.append((weekday, draw(st.sampled_from(near)), draw(st.sampled_from(near))))
            if draw(st.integers(0, 2)) == 0:  # overnight across the change
                rows.append(((weekday - 1) % 7, 22 * 3600, draw(st.sampled_from(near))))
        hours_rows += [(store, *row) for row in rows]
    # The range: around a DST change (ends inside the skipped / repeated local hour) or anywhere.
    anchor = draw(st.sampled_from(changes)) if changes and draw(st.booleans()) else micros(day)
    offsets = st.one_of(st.sampled_from([-90, -60, -30, -1, 0, 1, 30, 60, 90]).map(lambda m: m * MINUTE_US),
                        st.integers(-5 * DAY_US, 5 * DAY_US))
    from_us = anchor + draw(offsets)
    length = draw(st.one_of(st.integers(1, 3 * DAY_US), st.sampled_from([HOUR_US, DAY_US, 7 * DAY_US]),
                            st.integers(1, 40).map(lambda d: d * DAY_US + HOUR_US // 2)))
    to_us = from_us + length
    closure_rows = []
    for store in stores:
        edges = [from_us, to_us, from_us - DAY_US, *changes[:6]]
        closure_rows += draw_closures(draw, store, edges, from_us - 2 * DAY_US, to_us + HOUR_US)
        times = draw(st.lists(st.integers(from_us - 2 * DAY_US, to_us + HOUR_US), max_size=25))
        times += draw(st.lists(st.sampled_from([from_us, from_us - DAY_US, from_us - DAY_US - 1, to_us,
                                                to_us + 1, *changes[:4]]), max_size=3))
        poll_rows += [(store, t, draw(st.booleans())) for t in times]
    polls, hours, zones = input_frames(poll_rows, hours_rows, zone_rows)
    return {"polls": polls, "hours": hours, "zones": zones, "from_us": from_us, "to_us": to_us,
            "closures": closures_frame(closure_rows)}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(range_cases())
def test_range_matches_reference(case: dict) -> None:
    args = (case["polls"], case["hours"], case["zones"], case["from_us"], case["to_us"])
    want = reference_range(*args, closures=case["closures"])
    got = compute_range(*args, with_days=True, closures=case["closures"])
    context = (f"from={case['from_us']} to={case['to_us']}\n{case['polls']}\n{case['hours']}\n{case['zones']}\n"
               f"{case['closures']}")
    assert sorted(got.totals.index) == sorted(want), context
    for store, answer in want.items():
        row = got.totals.loc[store]
        assert _close(row["business_hours"], answer.business_us / HOUR_US), context
        assert _close(row["closed_hours"], answer.closed_us / HOUR_US), context
        assert _close(row["uptime_hours"], float(answer.up_us / HOUR_US)), context
        assert _close(row["downtime_hours"], float(answer.down_us / HOUR_US)), context
        observed = answer.up_us + answer.down_us
        if observed:
            assert _close(row["uptime_percent"], float(100 * answer.up_us / observed)), context
        else:
            assert np.isnan(row["uptime_percent"]), context
        incidents = got.incidents[got.incidents["store"] == store]
        assert int(row["incidents"]) == len(answer.incidents) == len(incidents), (answer.incidents, context)
        for (start, end), mine in zip(answer.incidents, incidents.itertuples()):
            assert abs(mine.start_us - float(start)) <= 0.5 and abs(mine.end_us - float(end)) <= 0.5, context
            assert _close(mine.minutes, float((end - start) / MINUTE_US)), context
        days = got.days[got.days["store"] == store]
        assert [d[0] for d in answer.days] == list(days["date"]), context
        for (_date, business, up, down), mine in zip(answer.days, days.itertuples()):
            assert _close(mine.business_hours, business / HOUR_US), context
            assert _close(mine.uptime_hours, float(up / HOUR_US)), context
            assert _close(mine.downtime_hours, float(down / HOUR_US)), context


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(range_cases())
def test_range_of_the_last_week_is_the_reports_week(case: dict) -> None:
    now = case["to_us"]
    frames = (case["polls"], case["hours"], case["zones"])
    week = compute_uptime(*frames, now, closures=case["closures"])
    ranged = compute_range(*frames, now - 7 * DAY_US, now, closures=case["closures"]).totals
    assert list(ranged.index) == list(week.index)
    assert np.allclose(ranged["uptime_hours"], week["uptime_last_week"], atol=1e-9, rtol=0)
    assert np.allclose(ranged["downtime_hours"], week["downtime_last_week"], atol=1e-9, rtol=0)


def test_a_366_day_range_is_exact_and_longer_ranges_are_refused() -> None:
    start = micros(dt.date(2023, 1, 1))
    polls, hours, zones = input_frames(
        [("x", start + 10 * HOUR_US, True), ("x", start + 299 * DAY_US + 2 * HOUR_US, False), ("x", start + 366 * DAY_US, True)],
        [("x", d, 9 * 3600, 17 * 3600) for d in range(5)], [("x", "Australia/Adelaide")],
    )
    got = compute_range(polls, hours, zones, start, start + MAX_RANGE_US, with_days=True)
    want = reference_range(polls, hours, zones, start, start + MAX_RANGE_US)["x"]
    assert _close(got.totals.loc["x", "uptime_hours"], float(want.up_us / HOUR_US))
    assert _close(got.totals.loc["x", "downtime_hours"], float(want.down_us / HOUR_US))
    assert len(got.days) == len(want.days) == 367  # the local dates of 366 UTC days (+10:30)
    assert got.totals.loc["x", "incidents"] == len(want.incidents) > 100
    for bad in (start + MAX_RANGE_US + 1, start, start - 1):
        try:
            compute_range(polls, hours, zones, start, bad)
        except InvalidRange:
            continue
        raise AssertionError(f"range to {bad} accepted")


def test_many_stores_over_a_long_span_use_blocks_of_stores() -> None:
    """A 366-day span leaves 16 bits of store code in the packed key: 70,000 stores need two
    blocks, and the result must not depend on the block a store lands in."""
    start = micros(dt.date(2023, 6, 1))
    n = 70_000
    ids = np.arange(n)
    polls = pd.DataFrame({"store": np.repeat(ids, 2), "ts_us": np.tile([start + HOUR_US, start + 200 * DAY_US], n),
                          "active": np.tile([True, False], n)})
    empty_hours = pd.DataFrame({"store": [], "day": [], "start_s": [], "end_s": []}, dtype=np.int64)
    zones = pd.DataFrame({"store": np.array([], np.int64), "tz": np.array([], object)})
    got = compute_range(polls, empty_hours, zones, start, start + 366 * DAY_US).totals
    assert len(got) == n
    midpoint_hours = (HOUR_US + 200 * DAY_US) / 2 / HOUR_US
    assert np.allclose(got["uptime_hours"], midpoint_hours) and np.allclose(got["downtime_hours"], 366 * 24 - midpoint_hours)
