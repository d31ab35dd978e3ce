"""The scheduler thread: each tick, start the latest due run of every schedule not yet claimed.

Only the latest due time not after now is ever considered, so after downtime the runs missed
meanwhile are skipped except the most recent one, which the claim makes happen once. The clock
is injectable: tests freeze it, and SCHEDULER_CLOCK runs it fast in real server processes.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import Engine

from models import schedules as schedule_rows
from services.contract.reports import ReportRequest
from services.jobs.runner import ReportRunner
from services.periodic import Periodic
from services.schedules.cron import ScheduleError, latest_due, parse_zone

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Starts one report for a schedule: (schedule) -> report id.
Submit = Callable[[schedule_rows.Schedule], str]


# A claim still without its report this long after it was made is taken over: starting a report
# takes a fraction of a second, so its process died between the two.
CLAIM_LEASE = timedelta(minutes=2)


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def clock_from_setting(setting: str | None) -> tuple[Clock, float]:
    """The clock and its speed. "ANCHOR:START:SPEED" (epoch seconds, test-only) reads START at
    real time ANCHOR and runs SPEED times faster; every process given the same value agrees."""
    if not setting:
        return system_clock, 1.0
    try:
        anchor, start, speed = (float(part) for part in setting.split(":"))
    except ValueError:
        raise ValueError("SCHEDULER_CLOCK must be ANCHOR:START:SPEED (epoch seconds, seconds, factor)") from None
    if speed <= 0:
        raise ValueError("SCHEDULER_CLOCK speed must be positive")

    def accelerated() -> datetime:
        real = datetime.now(timezone.utc).timestamp()
        return datetime.fromtimestamp(start + (real - anchor) * speed, timezone.utc)

    return accelerated, speed


class ReportScheduler:
    def __init__(self, engine: Engine, submit: Submit, clock: Clock = system_clock, tick_seconds: float = 1.0) -> None:
        self.engine = engine
        self.submit = submit
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._thread = Periodic("report-scheduler", self.run_once, lambda: self.tick_seconds)

    def run_once(self) -> list[str]:
        """Claim and start what is due now; returns the ids of the reports this call started."""
        now = self.clock()
        claimed = schedule_rows.latest_claims(self.engine)
        stale = schedule_rows.stale_claims(self.engine, now - CLAIM_LEASE)
        started: list[str] = []
        for schedule in schedule_rows.runnable_schedules(self.engine):
            try:
                due = latest_due(schedule.cron, parse_zone(schedule.timezone), now)
            except ScheduleError as exc:  # stored before a tzdata update removed its zone, say
                log.error("schedule %s cannot be evaluated: %s", schedule.id, exc)
                continue
            if due is None or due < schedule.created_at:
                continue
            last = claimed.get(schedule.id)
            if last is not None and last >= due:
                claimed_at = stale.get((schedule.id, due)) if last == due else None
                if claimed_at is None or not schedule_rows.take_over(self.engine, schedule.id, due, claimed_at, now):
                    continue
                log.warning("schedule %s: the run due %s was claimed at %s but never started (its process "
                            "stopped in between): starting it now", schedule.id, due.isoformat(), claimed_at.isoformat())
            elif not schedule_rows.claim(self.engine, schedule.id, due, now):
                continue  # another process took this due time
            report_id = self.submit(schedule)
            schedule_rows.set_run_report(self.engine, schedule.id, due, report_id)
            log.info("schedule %s: run due %s started report %s", schedule.id, due.isoformat(), report_id)
            started.append(report_id)
        return started

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop(timeout=10)


def report_starter(runner: ReportRunner) -> Submit:
    """Start a schedule's report on the app's runner, tagged with the schedule and its webhook."""
    def start(schedule: schedule_rows.Schedule) -> str:
        request = ReportRequest.from_stored(json.loads(schedule.params))
        # Its reports carry the schedule's key, so an owner sees the reports of its own schedules.
        return runner.submit(request, webhook_url=schedule.webhook_url, schedule_id=schedule.id,
                             api_key_id=schedule.api_key_id).id
    return start


def tick_for_speed(speed: float) -> float:
    """Check often enough that an accelerated clock never jumps over a whole minute."""
    return max(0.05, min(1.0, 10.0 / speed))


