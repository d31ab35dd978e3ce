"""Live status and alert decisions (SPEC 10) on a real database (SQLite and MySQL): the evaluator's
passes on a driven clock, the status service, hours across midnight and DST, closures, confirm and
recover counts, stale, a store still down when it opens, CSV loads, two evaluators at once."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from models.closure_tables import API_SOURCE, Closure
from models.db import init_schema, make_engine, write_tx
from models.deliveries import Delivery
from models.live_state import Alert, AlertEvent
from models.tables import BusinessHours, StoreTimezone
from services.access.principal import ANONYMOUS
from services.ingest.loader import load_directory
from services.live import status as live_status
from services.live.evaluator import LiveEvaluator
from tests.support.live_writes import ensure_store, us, write_batch

MIN_US = 60 * 1_000_000


class Clock:
    def __init__(self, start: str) -> None:
        self.now = us(start)

    def __call__(self) -> int:
        return self.now

    def set(self, instant: str) -> None:
        self.now = us(instant)


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    init_schema(engine)
    yield engine
    engine.dispose()


def add_hours(engine: Engine, store_id: str, rows: list[tuple[int, str, str]], zone: str | None) -> None:
    key = ensure_store(engine, store_id)
    with write_tx(engine) as conn:
        for day, start, end in rows:
            h1, m1 = map(int, start.split(":"))
            h2, m2 = map(int, end.split(":"))
            conn.execute(insert(BusinessHours).values(store_key=key, day=day, start_s=h1 * 3600 + m1 * 60,
                                                      end_s=h2 * 3600 + m2 * 60))
        if zone:
            conn.execute(insert(StoreTimezone).values(store_key=key, tz=zone))


def add_alert(engine: Engine, store_ids: list[str] | None = None, confirm: int = 1, recover: int = 1) -> str:
    alert_id = uuid.uuid4().hex
    with write_tx(engine) as conn:
        conn.execute(insert(Alert).values(
            id=alert_id, webhook_url="http://127.0.0.1:9/hook",
            store_ids=None if store_ids is None else json.dumps(store_ids),
            confirm_polls=confirm, recover_polls=recover, created_at=datetime.now(timezone.utc), api_key_id=None,
            baselined=False))
    return alert_id


def events_of(engine: Engine, alert_id: str) -> list[tuple[str, str]]:
    """(event, at) of the alert, in the order raised, `at` as ISO text."""
    with engine.connect() as conn:
        rows = conn.execute(select(AlertEvent.event, AlertEvent.at_us).where(AlertEvent.alert_id == alert_id)
                            .order_by(AlertEvent.created_us, AlertEvent.at_us)).all()
    return [(e, datetime.fromtimestamp(at / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")) for e, at in rows]


def status_of(engine: Engine, evaluator: LiveEvaluator, store_id: str) -> dict:
    return live_status.store_status(engine, evaluator.business, store_id, ANONYMOUS, evaluator.clock(),
                                    evaluator.stale_us)


def poll(engine: Engine, store_id: str, instant: str, active: bool) -> None:
    write_batch(engine, [(store_id, us(instant), active)])


def test_status_follows_the_latest_poll_and_goes_stale(engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    ensure_store(engine, "s1")
    live.run_once()
    assert status_of(engine, live, "s1") == {"store_id": "s1", "status": "unknown", "since": None, "last_poll": None}

    poll(engine, "s1", "2024-05-01T11:50:00", True)
    live.run_once()
    assert status_of(engine, live, "s1") == {"store_id": "s1", "status": "up", "since": "2024-05-01T11:50:00Z",
                                             "last_poll": "2024-05-01T11:50:00Z"}
    poll(engine, "s1", "2024-05-01T11:55:00", False)
    live.run_once()
    assert status_of(engine, live, "s1")["status"] == "down"
    assert status_of(engine, live, "s1")["since"] == "2024-05-01T11:55:00Z"

    poll(engine, "s1", "2024-05-01T11:52:00", True)  # older than the latest: changes nothing
    live.run_once()
    assert status_of(engine, live, "s1")["status"] == "down"
    assert status_of(engine, live, "s1")["last_poll"] == "2024-05-01T11:55:00Z"

    clock.set("2024-05-01T13:54:59")
    assert status_of(engine, live, "s1")["status"] == "down"
    clock.set("2024-05-01T13:55:00")  # 120 minutes after the latest poll, on the service clock
    answer = status_of(engine, live, "s1")
    assert (answer["status"], answer["since"]) == ("stale", "2024-05-01T13:55:00Z")
    listing = live_status.problem_stores(engine, live.business, ANONYMOUS, clock(), live.stale_us, 10)
    assert [(s["store_id"], s["status"]) for s in listing["stores"]] == [("s1", "stale")]


def test_same_instant_turned_inactive_replaces_the_latest(engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    poll(engine, "s1", "2024-05-01T11:59:00", True)
    poll(engine, "s1", "2024-05-01T11:59:00", False)
    live.run_once()
    assert status_of(engine, live, "s1")["status"] == "down"


@pytest.mark.parametrize("instant, expected", [
    # America/Chicago, Sunday 01:00-04:00 on the spring-forward night (SPEC 2.6 example 6):
    # 01:00 CST = 07:00 UTC, 04:00 CDT = 09:00 UTC.
    ("2023-03-12T06:59:59", "closed"), ("2023-03-12T07:00:00", "up"), ("2023-03-12T08:59:59", "up"),
    ("2023-03-12T09:00:00", "closed"),
    # The Sunday before (no DST change): 07:00-10:00 UTC.
    ("2023-03-05T09:59:59", "up"), ("2023-03-05T10:00:00", "closed"),
])
def test_open_or_closed_across_dst(engine: Engine, instant: str, expected: str) -> None:
    add_hours(engine, "chicago", [(6, "01:00", "04:00")], "America/Chicago")
    clock = Clock(instant)
    live = LiveEvaluator(engine, 120, clock=clock)
    write_batch(engine, [("chicago", clock.now - MIN_US, True)])
    live.run_once()
    assert status_of(engine, live, "chicago")["status"] == expected


def test_overnight_hours_in_new_york_across_dst(engine: Engine) -> None:
    """Sunday 22:00-02:00 local, past midnight; New York moves to EDT on 2023-03-12 at 02:00."""
    add_hours(engine, "night", [(6, "22:00", "02:00")], "America/New_York")
    clock = Clock("2023-03-06T02:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    checks = [
        ("2023-03-06T02:59:59", "closed"), ("2023-03-06T03:00:00", "up"),  # Sun 5th 22:00 EST
        ("2023-03-06T06:59:59", "up"), ("2023-03-06T07:00:00", "closed"),  # Mon 02:00 EST
        ("2023-03-13T01:59:59", "closed"), ("2023-03-13T02:00:00", "up"),  # Sun 12th 22:00 EDT
        ("2023-03-13T05:59:59", "up"), ("2023-03-13T06:00:00", "closed"),  # Mon 02:00 EDT
    ]
    for instant, expected in checks:
        clock.set(instant)
        write_batch(engine, [("night", clock.now - MIN_US, True)])
        live.run_once()
        answer = status_of(engine, live, "night")
        assert answer["status"] == expected, instant
        if instant == "2023-03-13T02:00:00":  # the latest poll came while closed: up since the opening
            assert answer["since"] == "2023-03-13T02:00:00Z"


def test_alert_confirm_and_recover_counts(engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    ensure_store(engine, "s1")
    patient = add_alert(engine, ["s1"], confirm=3, recover=2)
    eager = add_alert(engine)  # every store, 1 and 1
    live.run_once()
    minute = 0

    def next_poll(active: bool) -> None:
        nonlocal minute
        minute += 1
        poll(engine, "s1", f"2024-05-01T11:{minute:02d}:00", active)
        live.run_once()

    next_poll(True)
    next_poll(False)
    next_poll(False)
    assert events_of(engine, patient) == []
    assert events_of(engine, eager) == [("store.down", "2024-05-01T11:02:00")]
    next_poll(False)
    assert events_of(engine, patient) == [("store.down", "2024-05-01T11:04:00")]
    next_poll(False)
    next_poll(True)
    assert events_of(engine, patient) == [("store.down", "2024-05-01T11:04:00")]
    assert events_of(engine, eager)[-1] == ("store.up", "2024-05-01T11:06:00")
    next_poll(False)  # the run of active polls is broken before it reaches 2
    next_poll(True)
    next_poll(True)
    assert events_of(engine, patient) == [("store.down", "2024-05-01T11:04:00"), ("store.up", "2024-05-01T11:09:00")]
    assert [e for e, _ in events_of(engine, eager)] == ["store.down", "store.up", "store.down", "store.up"]
    with engine.connect() as conn:  # each event's webhook queued once, in the same transaction
        bodies = [json.loads(b) for b in conn.execute(select(Delivery.body).where(
            Delivery.report_id.like("alert:%"))).scalars()]
    assert len(bodies) == 6
    assert {tuple(sorted(b)) for b in bodies} == {("alert_id", "at", "event", "last_poll", "since", "store_id")}
    down = next(b for b in bodies if b["alert_id"] == patient and b["event"] == "store.down")
    assert down == {"event": "store.down", "alert_id": patient, "store_id": "s1", "at": "2024-05-01T11:04:00Z",
                    "since": "2024-05-01T11:02:00Z", "last_poll": "2024-05-01T11:04:00Z"}


def test_store_still_down_when_it_opens_alerts_at_opening(engine: Engine) -> None:
    # Monday and Tuesday 09:00-17:00 UTC; 2024-05-06 is a Monday.
    add_hours(engine, "s1", [(0, "09:00", "17:00"), (1, "09:00", "17:00")], "UTC")
    clock = Clock("2024-05-06T07:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    alert_id = add_alert(engine, ["s1"])
    live.run_once()
    clock.set("2024-05-06T08:00:00")
    poll(engine, "s1", "2024-05-06T08:00:00", False)
    live.run_once()
    assert status_of(engine, live, "s1")["status"] == "closed"
    clock.set("2024-05-06T08:59:59")
    live.run_once()
    assert events_of(engine, alert_id) == []  # no event while closed
    clock.set("2024-05-06T09:00:00")
    poll(engine, "s1", "2024-05-06T08:59:00", False)
    live.run_once()
    assert events_of(engine, alert_id) == [("store.down", "2024-05-06T09:00:00")]
    assert status_of(engine, live, "s1")["since"] == "2024-05-06T09:00:00Z"
    clock.set("2024-05-06T10:00:00")
    poll(engine, "s1", "2024-05-06T10:00:00", False)
    live.run_once()
    assert len(events_of(engine, alert_id)) == 1  # still down: nothing new
    # It closes at 17:00 while down, gets no poll overnight, and is stale when it opens on Tuesday.
    clock.set("2024-05-06T17:00:00")
    live.run_once()
    clock.set("2024-05-07T09:00:00")
    live.run_once()
    assert events_of(engine, alert_id)[-1] == ("store.stale", "2024-05-07T09:00:00")
    assert status_of(engine, live, "s1")["status"] == "stale"


def test_stale_is_its_own_event_and_up_when_polls_return(engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    alert_id = add_alert(engine)
    poll(engine, "s1", "2024-05-01T12:00:00", True)
    live.run_once()
    clock.set("2024-05-01T13:59:59")
    live.run_once()
    assert events_of(engine, alert_id) == []
    clock.set("2024-05-01T14:00:01")
    live.run_once()
    assert events_of(engine, alert_id) == [("store.stale", "2024-05-01T14:00:00")]
    live.run_once()
    assert len(events_of(engine, alert_id)) == 1
    poll(engine, "s1", "2024-05-01T14:01:00", True)
    live.run_once()
    assert events_of(engine, alert_id)[-1] == ("store.up", "2024-05-01T14:01:00")
    assert status_of(engine, live, "s1")["since"] == "2024-05-01T14:01:00Z"  # not before the silence


def test_no_event_inside_a_closure_and_down_when_it_ends(engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    key = ensure_store(engine, "s1")
    alert_id = add_alert(engine, ["s1"])
    poll(engine, "s1", "2024-05-01T11:59:00", True)
    live.run_once()
    with write_tx(engine) as conn:
        conn.execute(insert(Closure).values(id=uuid.uuid4().hex, store_key=key, start_us=us("2024-05-01T12:10:00"),
                                            end_us=us("2024-05-01T13:00:00"), reason="inventory", source=API_SOURCE,
                                            created_at=datetime.now(timezone.utc), api_key_id=None))
    clock.set("2024-05-01T12:20:00")
    poll(engine, "s1", "2024-05-01T12:20:00", False)
    live.run_once()
    assert status_of(engine, live, "s1") == {"store_id": "s1", "status": "closed", "since": "2024-05-01T12:10:00Z",
                                             "last_poll": "2024-05-01T12:20:00Z"}
    assert events_of(engine, alert_id) == []
    clock.set("2024-05-01T13:00:00")
    live.run_once()
    assert events_of(engine, alert_id) == [("store.down", "2024-05-01T13:00:00")]


def test_polls_of_a_csv_load_count_for_live_status(engine: Engine, tmp_path: Path) -> None:
    clock = Clock("2024-05-01T12:00:00")
    live = LiveEvaluator(engine, 120, clock=clock)
    alert_id = add_alert(engine)
    poll(engine, "s1", "2024-05-01T11:00:00", True)
    live.run_once()
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "store_status.csv").write_text(
        "store_id,status,timestamp_utc\n"
        "s1,inactive,2024-05-01 11:30:00 UTC\n"
        "s1,active,2024-05-01 10:00:00 UTC\n"  # older than the latest: history only
        "s2,active,2024-05-01 11:40:00 UTC\n")
    load_directory(engine, folder)
    live.run_once()
    assert status_of(engine, live, "s1")["status"] == "down"
    assert status_of(engine, live, "s2")["status"] == "up"
    assert events_of(engine, alert_id) == [("store.down", "2024-05-01T11:30:00")]
    load_directory(engine, folder)  # the same files again: nothing changes
    live.run_once()
    assert len(events_of(engine, alert_id)) == 1


def test_two_evaluators_raise_each_transition_once(database_url: str, engine: Engine) -> None:
    clock = Clock("2024-05-01T12:00:00")
    alert_id = add_alert(engine)
    others = [make_engine(database_url) for _ in range(2)]
    evaluators = [LiveEvaluator(e, 120, clock=clock) for e in others]
    stop = threading.Event()
    errors: list[BaseException] = []

    def spin(evaluator: LiveEvaluator) -> None:
        try:
            while not stop.is_set():
                evaluator.run_once()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=spin, args=(e,)) for e in evaluators]
    for thread in threads:
        thread.start()
    try:
        flips = 12
        for n in range(flips):
            poll(engine, "s1", f"2024-05-01T11:{n:02d}:00", n % 2 == 1)  # down, up, down, …
            poll(engine, "s2", f"2024-05-01T11:{n:02d}:30", n % 2 == 1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    evaluators[0].run_once()
    with engine.connect() as conn:
        per_store = dict(conn.execute(select(AlertEvent.store_key, func.count()).where(AlertEvent.alert_id == alert_id)
                                      .group_by(AlertEvent.store_key)).all())
        queued = conn.execute(select(func.count()).select_from(Delivery)).scalar_one()
    # Passes may see several batches at once (a flip inside one pass is not a transition), but a
    # transition is never raised twice: events alternate down/up and each has one delivery.
    for store in per_store:
        with engine.connect() as conn:
            names = conn.execute(select(AlertEvent.event).where(AlertEvent.alert_id == alert_id,
                                                                 AlertEvent.store_key == store)
                                 .order_by(AlertEvent.at_us)).scalars().all()
        assert names[0] == "store.down"
        assert all(a != b for a, b in zip(names, names[1:])), names
    assert queued == sum(per_store.values())
    for e in others:
        e.dispose()


def test_a_store_added_after_business_time_was_built_is_open(engine: Engine) -> None:
    add_hours(engine, "hours", [(0, "09:00", "10:00")], "UTC")
    clock = Clock("2024-05-01T12:00:00")  # a Wednesday: "hours" is closed
    live = LiveEvaluator(engine, 120, clock=clock)
    alert_id = add_alert(engine)
    live.run_once()
    poll(engine, "fresh", "2024-05-01T11:59:00", False)  # a new store, without hours: 24×7
    live.run_once()
    assert status_of(engine, live, "fresh")["status"] == "down"
    assert events_of(engine, alert_id) == [("store.down", "2024-05-01T11:59:00")]
