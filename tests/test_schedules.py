"""SPEC 7 schedules: DST rules with a frozen clock, exactly-once claims, the catch-up rule, the
API's validation, and two real API processes on one database firing a `* * * * *` schedule."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import SPEC_EXAMPLES
from models.db import make_engine, read_session
from models import schedules as schedule_rows
from models.schedules import ScheduleRun
from models.tables import Report
from support.server import ServerProcess
from services.access import keys
from services.access.principal import Principal
from services.schedules import catalog
from services.schedules.cron import ScheduleError, due_between, latest_due, next_due, parse_zone, validate_cron
from services.schedules.scheduler import CLAIM_LEASE, ReportScheduler

UTC = timezone.utc
CHICAGO = parse_zone("America/Chicago")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- due times across daylight saving (pure, frozen instants) --------------------------------------
def test_skipped_local_time_fires_once_at_the_end_of_the_gap() -> None:
    # 2024-03-10: Chicago jumps from 02:00 CST to 03:00 CDT (08:00 UTC); 02:30 does not exist.
    assert due_between("30 2 * * *", CHICAGO, utc(2024, 3, 9), utc(2024, 3, 12)) == [
        utc(2024, 3, 9, 8, 30), utc(2024, 3, 10, 8, 0), utc(2024, 3, 11, 7, 30)]
    # Every skipped time of the hour collapses into one run at 03:00 CDT, which is also 03:00's own run.
    assert due_between("*/15 2,3 * * *", CHICAGO, utc(2024, 3, 10, 7), utc(2024, 3, 10, 9)) == [
        utc(2024, 3, 10, 8, 0), utc(2024, 3, 10, 8, 15), utc(2024, 3, 10, 8, 30), utc(2024, 3, 10, 8, 45)]


def test_repeated_local_time_fires_once() -> None:
    # 2024-11-03: 01:00-02:00 happens twice in Chicago (CDT 06:00-07:00 UTC, then CST 07:00-08:00 UTC).
    assert due_between("30 1 * * *", CHICAGO, utc(2024, 11, 2), utc(2024, 11, 5)) == [
        utc(2024, 11, 2, 6, 30), utc(2024, 11, 3, 6, 30), utc(2024, 11, 4, 7, 30)]
    hourly = due_between("0 * * * *", CHICAGO, utc(2024, 11, 3, 4), utc(2024, 11, 3, 10))
    assert hourly == [utc(2024, 11, 3, h) for h in (5, 6, 8, 9, 10)]  # 01:00 once; 02:00 CST is 08:00 UTC


def test_other_zones_and_half_hour_gaps() -> None:
    lord_howe = parse_zone("Australia/Lord_Howe")  # +10:30 -> +11 on 2024-10-06 at 02:00 (a 30-minute gap)
    assert due_between("15 2 * * *", lord_howe, utc(2024, 10, 5, 12), utc(2024, 10, 6, 12)) == [utc(2024, 10, 5, 15, 30)]
    assert next_due("0 6 * * *", parse_zone("UTC"), utc(2024, 1, 1, 6)) == utc(2024, 1, 2, 6)
    assert latest_due("0 6 * * *", parse_zone("UTC"), utc(2024, 1, 1, 6)) == utc(2024, 1, 1, 6)


@pytest.mark.parametrize("expression", ["", "* * * *", "* * * * * *", "61 * * * *", "* 25 * * *", "0 0 31 2 *",
                                        "@daily", "a b c d e", "x" * 300, 5, None])
def test_bad_cron_expressions(expression: Any) -> None:
    with pytest.raises(ScheduleError):
        validate_cron(expression)


# -- the scheduler with a frozen clock ---------------------------------------------------------------
class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _scheduler(runtime: Any, clock: FrozenClock, started: list[tuple[str, str]]) -> ReportScheduler:
    def submit(schedule: Any) -> str:
        report_id = f"r{len(started)}-{schedule.id}"
        started.append((schedule.id, report_id))
        return report_id
    return ReportScheduler(runtime.engine, submit, clock)


def test_dst_night_minute_by_minute(runtime) -> None:
    clock, started = FrozenClock(utc(2024, 3, 10, 6)), []
    scheduler = _scheduler(runtime, clock, started)
    catalog.create(runtime.engine, cron="30 2 * * *", zone_name="America/Chicago", params={}, webhook_url=None,
                   now=clock.now)
    fired_at = []
    while clock.now < utc(2024, 3, 10, 10):
        if scheduler.run_once():
            fired_at.append(clock.now)
        clock.now += timedelta(minutes=1)
    assert fired_at == [utc(2024, 3, 10, 8, 0)] and len(started) == 1


def test_each_due_time_starts_one_report_and_downtime_replays_only_the_latest(runtime) -> None:
    clock, started = FrozenClock(utc(2024, 5, 1, 9, 59, 30)), []
    schedule_id = catalog.create(runtime.engine, cron="0 * * * *", zone_name="UTC", params={}, webhook_url=None,
                                 now=clock.now)
    schedulers = [_scheduler(runtime, clock, started) for _ in range(4)]  # four "processes", one database
    clock.now = utc(2024, 5, 1, 10, 0, 5)
    threads = [threading.Thread(target=s.run_once) for s in schedulers for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1
    clock.now = utc(2024, 5, 1, 15, 20)  # down from 10:00 to 15:20: 11:00 .. 15:00 were missed
    assert sum(len(s.run_once()) for s in schedulers) == 1
    clock.now = utc(2024, 5, 1, 15, 59)
    assert sum(len(s.run_once()) for s in schedulers) == 0
    with read_session(runtime.engine) as s:
        runs = s.execute(select(ScheduleRun.due_us, ScheduleRun.report_id).where(ScheduleRun.schedule_id == schedule_id)
                         .order_by(ScheduleRun.due_us)).all()
    assert [(datetime.fromtimestamp(due / 1e6, UTC), rid) for due, rid in runs] == [
        (utc(2024, 5, 1, 10), started[0][1]), (utc(2024, 5, 1, 15), started[1][1])]
    view = catalog.describe(runtime.engine, schedule_id, clock.now)
    assert view is not None and view["last_run"]["due_at"] == utc(2024, 5, 1, 15).isoformat()
    assert view["next_run"] == utc(2024, 5, 1, 16).isoformat()


def test_a_schedule_does_not_fire_for_times_before_it_existed(runtime) -> None:
    clock, started = FrozenClock(utc(2024, 5, 1, 10, 0, 1)), []
    catalog.create(runtime.engine, cron="0 10 * * *", zone_name="UTC", params={}, webhook_url=None, now=clock.now)
    assert _scheduler(runtime, clock, started).run_once() == []


# -- the API -----------------------------------------------------------------------------------------
def test_schedules_of_a_revoked_key_stop_running(runtime) -> None:
    """SPEC 8: `api-key revoke` ends a key at once, and with it the reports it scheduled."""
    clock, started = FrozenClock(utc(2024, 5, 1, 9, 59)), []
    reporter, _ = keys.create_key(runtime.engine, "reporter", name="nightly")
    principal = Principal(reporter.id, "reporter")
    by_key = catalog.create(runtime.engine, cron="0 * * * *", zone_name="UTC", params={}, webhook_url=None,
                            now=clock.now, principal=principal)
    keyless = catalog.create(runtime.engine, cron="0 * * * *", zone_name="UTC", params={}, webhook_url=None,
                             now=clock.now)
    scheduler = _scheduler(runtime, clock, started)
    clock.now = utc(2024, 5, 1, 10, 0, 1)
    assert len(scheduler.run_once()) == 2
    assert keys.revoke_key(runtime.engine, reporter.id)
    clock.now = utc(2024, 5, 1, 11, 0, 1)
    assert len(scheduler.run_once()) == 1
    assert sorted(schedule for schedule, _ in started[:2]) == sorted([by_key, keyless])
    assert started[2][0] == keyless


def test_a_claim_whose_process_died_before_its_report_is_taken_over_once(runtime) -> None:
    """A process that claimed a due time and stopped before starting its report (SIGKILL between
    the two) must not lose the run: after CLAIM_LEASE one scheduler, and only one, starts it."""
    clock, started = FrozenClock(utc(2024, 5, 1, 9, 59)), []
    schedule_id = catalog.create(runtime.engine, cron="0 * * * *", zone_name="UTC", params={}, webhook_url=None,
                                 now=clock.now)
    clock.now = utc(2024, 5, 1, 10, 0, 1)
    assert schedule_rows.claim(runtime.engine, schedule_id, utc(2024, 5, 1, 10), clock.now)  # ... and died
    schedulers = [_scheduler(runtime, clock, started) for _ in range(3)]
    clock.now += CLAIM_LEASE - timedelta(seconds=1)
    assert sum(len(s.run_once()) for s in schedulers) == 0  # it may still be starting it
    clock.now += timedelta(seconds=2)
    threads = [threading.Thread(target=s.run_once) for s in schedulers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [schedule for schedule, _ in started] == [schedule_id]
    assert schedule_rows.last_run(runtime.engine, schedule_id).report_id == started[0][1]
    clock.now += timedelta(minutes=10)
    assert sum(len(s.run_once()) for s in schedulers) == 0  # started once, never again


def test_schedule_api_round_trip(client, runtime) -> None:
    response = client.post("/schedules", json={"cron": "0  6 * * 1-5", "timezone": "America/Chicago",
                                               "params": {"store_id": ["s1", "s2"]}})
    assert response.status_code == 201
    schedule_id = response.get_json()["schedule_id"]
    assert response.headers["Location"].endswith(f"/schedules/{schedule_id}")
    view = client.get(f"/schedules/{schedule_id}").get_json()
    assert view["cron"] == "0 6 * * 1-5" and view["timezone"] == "America/Chicago"
    assert view["params"]["store_ids"] == ["s1", "s2"] and view["last_run"] is None and view["recent_reports"] == []
    assert datetime.fromisoformat(view["next_run"]) > datetime.now(UTC)
    assert [s["schedule_id"] for s in client.get("/schedules").get_json()["schedules"]] == [schedule_id]
    assert client.post("/schedules", json={"cron": "* * * * *"}).get_json()["schedule_id"]  # zone defaults to UTC
    assert client.delete(f"/schedules/{schedule_id}").status_code == 200
    assert client.get(f"/schedules/{schedule_id}").status_code == 404
    assert client.delete(f"/schedules/{schedule_id}").status_code == 404
    assert client.get("/schedules/..%2F").status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"cron": "61 * * * *"}, "invalid cron"), ({"cron": "* * * *"}, "5 fields"),
    ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
    ({"cron": "* * * * *", "timezone": 3}, "IANA"),
    ({"cron": "* * * * *", "params": {"shop": "x"}}, "unknown parameter 'shop'"),
    ({"cron": "* * * * *", "params": {"as_of": "yesterday"}}, "invalid instant"),
    ({"cron": "* * * * *", "params": {"store_id": ""}}, "store_id"),
    ({"cron": "* * * * *", "params": ["store_id"]}, "JSON object"),
    ({"cron": "* * * * *", "webhook_url": "ftp://x"}, "WEBHOOK_SECRET"),
    ({"cron": "* * * * *", "color": "red"}, "unknown parameter 'color'"),
    ([1, 2], "JSON object"),
])
def test_bad_schedules_are_400_and_nothing_is_stored(client, body: Any, message: str) -> None:
    response = client.post("/schedules", json=body)
    assert response.status_code == 400 and message in response.get_json()["error"]
    assert client.get("/schedules").get_json() == {"schedules": []}


# -- two real API processes on one database -----------------------------------------------------------
def test_two_processes_one_report_per_due_minute(database_url: str, tmp_path: Path) -> None:
    """SCHEDULER_CLOCK runs both processes' clocks 30x fast from the same anchor: two seconds of
    real time are one minute of schedule time, so ~8 due minutes pass in ~16 seconds. (At 60x, a
    scheduler thread stalled for a second by a loaded machine would miss a whole minute.)"""
    speed, start = 30, utc(2030, 1, 1, 0, 0, 30).timestamp()
    anchor = time.time() + 0.5
    env = {"DATABASE_URL": database_url, "CSV_DIR": str(SPEC_EXAMPLES / "ex1"), "REPORT_DIR": str(tmp_path / "r"),
           "SCHEDULER_CLOCK": f"{anchor}:{start}:{speed}"}
    servers = [ServerProcess(env, tmp_path / f"api{i}.log", name=f"api{i}") for i in range(2)]
    try:
        for server in servers:
            server.start()
        created = servers[0].post("/schedules", json_body={"cron": "* * * * *", "params": {"as_of": "2023-01-23T12:00:00Z"}})
        assert created.status == 201, created.body
        schedule_id = created.json()["schedule_id"]
        deadline = time.monotonic() + 120
        while len(servers[1].get(f"/schedules/{schedule_id}").json()["recent_reports"]) < 8:
            assert time.monotonic() < deadline, "the schedule did not keep firing"
            time.sleep(0.1)
        for server in servers:
            assert server.stop() == 0
    finally:
        for server in servers:
            server.cleanup()
    engine = make_engine(database_url)
    try:
        with read_session(engine) as s:
            runs = s.execute(select(ScheduleRun.due_us, ScheduleRun.report_id)
                             .where(ScheduleRun.schedule_id == schedule_id).order_by(ScheduleRun.due_us)).all()
            reports = s.scalars(select(Report.id).where(Report.schedule_id == schedule_id)).all()
    finally:
        engine.dispose()
    dues = [due // 1_000_000 for due, _ in runs]
    assert len(dues) >= 8 and all(due % 60 == 0 for due in dues)
    assert dues == list(range(dues[0], dues[0] + 60 * len(dues), 60)), "a due minute was skipped"
    assert sorted(reports) == sorted(rid for _, rid in runs), "each due minute has exactly one report"
    starters = [sum("started report" in line for line in server.logs().splitlines()) for server in servers]
    assert sum(starters) == len(reports)


def test_a_range_schedule_runs_range_reports(client, runtime) -> None:
    """A schedule made with range parameters runs a range report (SPEC 5.2's CSV), every time."""
    from services.schedules.scheduler import report_starter
    from services.ingest.loader import load_directory
    from support.reports import wait_for

    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    created = client.post("/schedules", json={"cron": "0 * * * *", "params": {"last_hours": 24, "store_id": "r1"}})
    assert created.status_code == 201, created.get_json()
    schedule_id = created.get_json()["schedule_id"]
    view = client.get(f"/schedules/{schedule_id}").get_json()
    assert view["params"]["last_hours"] == 24 and view["params"]["store_ids"] == ["r1"]
    clock = FrozenClock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, seconds=1))
    started = ReportScheduler(runtime.engine, report_starter(runtime.runner), clock).run_once()
    assert len(started) == 1
    done = wait_for(client, started[0])
    text = done.get_data(as_text=True)
    assert done.mimetype == "text/csv", text
    assert text.splitlines()[0] == "store_id,business_hours,uptime_hours,downtime_hours,uptime_percent,incidents"
    rows = text.splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["r1"]
    assert float(rows[0].split(",")[1]) <= 24
