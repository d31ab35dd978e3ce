"""Property test: the vectorised engine agrees with the plain reference on random data.

Why: `services.reports.engine.compute_uptime` is fast but intricate (DST, overnight hours,
midpoint interpolation, look-back edges); `tests/reference_report.py` states SPEC section 2
plainly.  Hypothesis generates small datasets that concentrate on the hard cases — weeks with
DST changes in several hemispheres, half-hour and 45-minute zones, polls exactly on interval
edges and on the 8-day look-back edge, duplicate polls with conflicting statuses, planned
closures (SPEC 9) that overlap, touch a window's edge, cover a whole window or cross a DST
change — and the two must agree to 1e-6 (minutes / hours).

The engine import is deliberately not guarded: if the engine is missing, this module fails.
"""
from __future__ import annotations

import datetime as dt
import functools
import os

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.reports.engine import compute_uptime  # must fail loudly if missing
from reference_report import (
    input_frames,
    COLUMNS,
    DAY_US,
    HOUR_US,
    MINUTE_US,
    OBSERVATION_LOOKBACK_US,
    WINDOWS,
    business_intervals,
    business_time_us,
    reference_uptime,
    resolve_zone,
    store_states,
)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
TOLERANCE = 1e-6
# ~300 examples run in 15-20 s; raise it for a deeper search (e.g. ENGINE_PROPERTY_EXAMPLES=5000).
MAX_EXAMPLES = int(os.environ.get("ENGINE_PROPERTY_EXAMPLES", "300"))

ZONES: list[str | None] = [
    "UTC",
    "America/Chicago",
    "America/New_York",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "Mars/Olympus_Mons",  # unknown name -> America/Chicago
    None,  # no zone row -> America/Chicago
]

# Dates for `now`; most put a DST change inside the report's week (or its 8-day look-back).
NOW_DATES = [
    dt.date(2023, 1, 23),  # no DST anywhere near (northern winter)
    dt.date(2023, 6, 15),  # no DST change near
    dt.date(2023, 3, 12),  # US spring forward (also St_Johns) on the day itself
    dt.date(2023, 3, 13),
    dt.date(2023, 3, 16),
    dt.date(2023, 3, 19),
    dt.date(2023, 3, 20),  # US change just inside the 8-day look-back, outside the week
    dt.date(2023, 3, 26),  # EU spring forward
    dt.date(2023, 3, 29),
    dt.date(2023, 4, 2),  # Australia (Sydney, Lord Howe) and Chatham autumn
    dt.date(2023, 4, 6),
    dt.date(2023, 9, 24),  # Chatham spring forward
    dt.date(2023, 10, 1),  # Australia spring forward
    dt.date(2023, 10, 4),
    dt.date(2023, 10, 29),  # EU fall back
    dt.date(2023, 11, 1),
    dt.date(2023, 11, 5),  # US fall back
    dt.date(2023, 11, 7),
    dt.date(2023, 11, 12),
]

STORE_IDS = ["s0", "s1", "10", "9", "A", "b"]


def midnight_us(day: dt.date) -> int:
    return (dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) - EPOCH) // dt.timedelta(
        microseconds=1
    )


@functools.lru_cache(maxsize=None)
def transition_hints(
    zone: str | None, now_day: dt.date
) -> tuple[tuple[int, tuple[int, ...], tuple[int, int] | None], ...]:
    """DST transitions of the zone around a report on `now_day`, as (local weekday, local
    wall-clock seconds near the change, the skipped local range [lo, hi) for a spring-forward
    change or None).

    Why: a wrong fold or gap rule only shows when an opening or closing time falls in that
    hour on that very date, which uniform sampling almost never produces.
    """
    tz = resolve_zone(zone)
    step = dt.timedelta(minutes=15)  # every listed zone changes on a quarter hour UTC
    t = dt.datetime.combine(now_day, dt.time(), tzinfo=dt.timezone.utc) - dt.timedelta(days=10)
    end = t + dt.timedelta(days=12)
    hints = []
    while t < end:
        before, after = t.astimezone(tz).utcoffset(), (t + step).astimezone(tz).utcoffset()
        if before != after:
            change = (t + step).replace(tzinfo=None)
            walls = [change + before, change + after]
            local_day = min(walls).date()
            midnight = dt.datetime.combine(local_day, dt.time())
            lo, hi = min(walls) - dt.timedelta(hours=1), max(walls) + dt.timedelta(hours=1)
            seconds = set()
            wall = lo
            while wall <= hi:
                sec = int((wall - midnight).total_seconds())
                if 0 <= sec <= 86400:
                    seconds.add(sec)
                wall += step
            for w in walls:
                seconds.add(int((w - midnight).total_seconds()) + 60)
            near = tuple(sorted(x for x in seconds if 0 <= x <= 86400))
            gap = None
            if after > before:  # spring forward: wall times in [before, after) do not exist
                gap_lo = int((walls[0] - midnight).total_seconds())
                gap_hi = int((walls[1] - midnight).total_seconds())
                if 0 <= gap_lo < gap_hi <= 86400:
                    gap = (gap_lo, gap_hi)
            hints.append((local_day.weekday(), near, gap))
        t += step
    return tuple(hints)


def closures_frame(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    """Closures (store, start_us, end_us) as the engine and the reference take them."""
    return pd.DataFrame({"store": pd.Series([r[0] for r in rows], dtype=object),
                         "start_us": pd.Series([r[1] for r in rows], dtype="int64"),
                         "end_us": pd.Series([r[2] for r in rows], dtype="int64")})


def draw_closures(draw: st.DrawFn, store: str, edges: list[int], lo_us: int, hi_us: int) -> list[tuple[str, int, int]]:
    """0-4 closures of a store: anywhere in [lo_us, hi_us], or starting / ending exactly at one of
    `edges` (window edges, business-interval edges, DST changes), or covering all of [lo, hi];
    they may overlap each other and touch end to start."""
    rows: list[tuple[str, int, int]] = []
    lengths = st.one_of(st.sampled_from([1, MINUTE_US, HOUR_US, 2 * HOUR_US, DAY_US, 3 * DAY_US]),
                        st.integers(1, 4 * DAY_US))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 5))
        length = draw(lengths)
        if kind == 0 or not edges:
            start = draw(st.integers(lo_us, hi_us))
        elif kind == 1:  # starts at an edge
            start = draw(st.sampled_from(edges))
        elif kind == 2:  # ends at an edge
            start = draw(st.sampled_from(edges)) - length
        elif kind == 3:  # across an edge
            start = draw(st.sampled_from(edges)) - draw(st.integers(1, length))
        elif kind == 4 and rows:  # touching or overlapping the previous one
            start = rows[-1][2] - draw(st.sampled_from([0, 0, 1, MINUTE_US, HOUR_US]))
        else:  # the whole span
            start, length = lo_us - HOUR_US, hi_us - lo_us + 2 * HOUR_US
        rows.append((store, start, start + length))
    return rows


@functools.lru_cache(maxsize=None)
def utc_changes(zone: str | None, now_day: dt.date) -> tuple[int, ...]:
    """UTC µs of the zone's offset changes within ±10 days of `now_day` (quarter-hour steps)."""
    tz = resolve_zone(zone)
    step = dt.timedelta(minutes=15)
    t = dt.datetime.combine(now_day, dt.time(), tzinfo=dt.timezone.utc) - dt.timedelta(days=10)
    found = []
    for _ in range(20 * 96):
        if t.astimezone(tz).utcoffset() != (t + step).astimezone(tz).utcoffset():
            found.append((t + step - EPOCH) // dt.timedelta(microseconds=1))
        t += step
    return tuple(found)


# Times of day in microseconds: whole hours, whole minutes, or arbitrary.
time_of_day_us = st.one_of(
    st.integers(0, 23).map(lambda h: h * HOUR_US),
    st.integers(0, 24 * 60 - 1).map(lambda m: m * MINUTE_US),
    st.integers(0, DAY_US - 1),
)

# Local wall-clock times for hours rows, in seconds; favour DST-transition hours, 0 and 24:00.
local_seconds = st.one_of(
    st.sampled_from([0, 3600, 5400, 7200, 9000, 10800, 12600, 43200, 79200, 86400]),
    st.integers(0, 24 * 60).map(lambda m: m * 60),
    st.integers(0, 86400),
)

hours_row = st.tuples(st.integers(0, 6), local_seconds, local_seconds)

# Poll offsets from now, within [now - 9 d, now + 1 h], at minute, second or microsecond steps.
poll_offset_us = st.one_of(
    st.integers(-9 * 24 * 60, 60).map(lambda m: m * MINUTE_US),
    st.integers(-9 * 86400, 3600).map(lambda s: s * 1_000_000),
    st.integers(-9 * DAY_US, HOUR_US),
)


@st.composite
def datasets(draw: st.DrawFn) -> dict:
    """A random (polls, hours, zones, closures, now_us, stores) for 1-6 stores."""
    now_day = draw(st.sampled_from(NOW_DATES))
    now_us = midnight_us(now_day) + draw(time_of_day_us)
    stores = draw(st.lists(st.sampled_from(STORE_IDS), min_size=1, max_size=6, unique=True))
    changing = [z for z in ZONES if transition_hints(z, now_day)]
    poll_rows: list[tuple[str, int, bool]] = []
    hours_rows: list[tuple[str, int, int, int]] = []
    zone_rows: list[tuple[str, str]] = []
    closure_rows: list[tuple[str, int, int]] = []
    for store in stores:
        # Half the time, a zone that changes its offset around this report.
        if changing and draw(st.booleans()):
            zone = draw(st.sampled_from(changing))
        else:
            zone = draw(st.sampled_from(ZONES))
        if zone is not None:
            zone_rows.append((store, zone))
        rows = draw(st.lists(hours_row, min_size=0, max_size=10))
        for weekday, near, gap in transition_hints(zone, now_day):
            # Rows opening/closing inside or next to the skipped or repeated hour, including
            # overnight rows from the day before that close in it.
            for _ in range(draw(st.integers(0, 3))):
                start = draw(st.sampled_from(near))
                if draw(st.integers(0, 3)):  # mostly both ends near the change
                    end = draw(st.sampled_from(near))
                else:
                    end = draw(local_seconds)
                rows.append((weekday, start, end))
            if draw(st.integers(0, 3)) == 0:
                rows.append(((weekday - 1) % 7, draw(local_seconds), draw(st.sampled_from(near))))
            if gap is not None and draw(st.booleans()):
                # Opens in the skipped hour, closes just after it: often close <= open in UTC.
                start = draw(st.integers(gap[0] // 60, gap[1] // 60 - 1)) * 60
                end = draw(st.integers(gap[1] // 60, min(1440, (start + gap[1] - gap[0]) // 60))) * 60
                rows.append((weekday, start, end))
        rows = draw(st.permutations(rows))
        hours_rows.extend((store, d, a, b) for d, a, b in rows)

        times = [now_us + off for off in draw(st.lists(poll_offset_us, min_size=0, max_size=40))]
        # Edge instants: the look-back edge, now, and the edges of business intervals.
        edges = [now_us - OBSERVATION_LOOKBACK_US, now_us - OBSERVATION_LOOKBACK_US - 1, now_us,
                 now_us + 1]
        for open_us, close_us in business_intervals(
            rows, resolve_zone(zone), now_us - OBSERVATION_LOOKBACK_US, now_us
        ):
            edges += [open_us, open_us - 1, close_us, close_us - 1]
        edges = [t for t in edges if now_us - 9 * DAY_US <= t <= now_us + HOUR_US]
        windows = [now_us - length for _name, length, _unit in WINDOWS] + [now_us - OBSERVATION_LOOKBACK_US, now_us]
        closure_rows += draw_closures(draw, store, edges + windows + list(utc_changes(zone, now_day)),
                                      now_us - 9 * DAY_US, now_us + HOUR_US)
        if edges:
            times += draw(st.lists(st.sampled_from(edges), max_size=4))
        for t in times:
            poll_rows.append((store, t, draw(st.booleans())))
        # Duplicates of existing instants, with a random (possibly conflicting) status.
        if times:
            for t in draw(st.lists(st.sampled_from(times), max_size=3)):
                poll_rows.append((store, t, draw(st.booleans())))
    poll_rows = draw(st.permutations(poll_rows))  # the engine must not rely on input order

    polls, hours, zones = input_frames(poll_rows, hours_rows, zone_rows)
    # Sometimes ask for an explicit subset of the stores that have a poll at or before now
    # (stores without such polls are left out: SPEC 2.5 drops them, and whether the engine or
    # its caller does that is not this test's business).
    explicit = None
    if draw(st.booleans()):
        polled = sorted({s for s, t, _ in poll_rows if t <= now_us})
        explicit = draw(st.lists(st.sampled_from(polled), unique=True)) if polled else []
    return {"polls": polls, "hours": hours, "zones": zones, "now_us": now_us, "stores": explicit,
            "closures": closures_frame(draw(st.permutations(closure_rows)))}


def _describe(data: dict) -> str:
    now = EPOCH + dt.timedelta(microseconds=data["now_us"])
    return (f"now={now.isoformat()} stores={data['stores']}\npolls=\n{data['polls']}\n"
            f"hours=\n{data['hours']}\nzones=\n{data['zones']}\nclosures=\n{data['closures']}")


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_engine_matches_reference(data: dict) -> None:
    args = (data["polls"], data["hours"], data["zones"], data["now_us"])
    expected = reference_uptime(*args, stores=data["stores"], closures=data["closures"])
    actual = compute_uptime(*args, stores=data["stores"], closures=data["closures"])
    context = _describe(data)

    assert actual.index.name == "store", context
    assert sorted(actual.index) == sorted(expected.index), context
    assert set(COLUMNS) <= set(actual.columns), context
    for column in COLUMNS:
        assert pd.api.types.is_float_dtype(actual[column]), (column, actual.dtypes)

    states = store_states(*args, stores=data["stores"], closures=data["closures"])
    for store in expected.index:
        for column in COLUMNS:
            got = float(actual.loc[store, column])
            want = float(expected.loc[store, column])
            assert abs(got - want) <= TOLERANCE, f"{store} {column}: engine {got} reference {want}\n{context}"

        # Invariants on the engine's own output.
        values = [float(actual.loc[store, c]) for c in COLUMNS]
        assert all(v >= 0 for v in values), f"{store}: negative value {values}\n{context}"
        for name, length_us, unit_us in WINDOWS:
            up = float(actual.loc[store, f"uptime_last_{name}"])
            down = float(actual.loc[store, f"downtime_last_{name}"])
            limit = length_us / unit_us  # 60 minutes, 24 hours, 168 hours
            assert up <= limit + 1e-9 and down <= limit + 1e-9 and up + down <= limit + 1e-9, (
                f"{store} {name}: {up} + {down} > {limit}\n{context}")
            state = states[store]
            event(f"{name}: {'has' if state.observations and up + down > 0 else 'no'} business time "
                  f"with observations")
            event(f"{'with' if (data['closures']['store'] == store).any() else 'without'} closures")
            if state.observations:
                business = business_time_us(state.intervals, data["now_us"] - length_us,
                                            data["now_us"]) / unit_us
                assert abs(up + down - business) <= TOLERANCE, (
                    f"{store} {name}: up+down {up + down} != business time {business}\n{context}")
            else:
                assert up == 0 and down == 0, f"{store} {name}: no observations\n{context}"
