"""Schedules of reports and their runs; a run's (schedule, due time) key makes each due time fire once.

Every API process evaluates every schedule; the one whose INSERT of the run row succeeds starts
the report, the others get a unique-key violation and move on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import BigInteger, Engine, String, Text, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros, datetime_to_micros, micros_to_datetime
from models import db
from models.api_keys import ApiKey
from models.tables import Report


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)  # JSON of the report request (ReportRequest.stored())
    webhook_url: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(EpochMicros, index=True)
    api_key_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)  # who made it (SPEC 8)


class ScheduleRun(Base):
    """One claimed due time of a schedule: the primary key is the exactly-once guarantee."""

    __tablename__ = "schedule_runs"
    schedule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claimed_at: Mapped[datetime] = mapped_column(EpochMicros)
    report_id: Mapped[Optional[str]] = mapped_column(String(64))


@dataclass(frozen=True)
class Run:
    due_at: datetime
    report_id: str | None


def add(engine: Engine, schedule: Schedule) -> None:
    with db.write_session(engine) as s:
        s.add(schedule)


def get(engine: Engine, schedule_id: str) -> Schedule | None:
    with db.read_session(engine) as s:
        return s.get(Schedule, schedule_id)


def all_schedules(engine: Engine, api_key_id: str | None = None) -> Sequence[Schedule]:
    """Every schedule; only those made with `api_key_id` when it is given."""
    query = select(Schedule)
    if api_key_id is not None:
        query = query.where(Schedule.api_key_id == api_key_id)
    with db.read_session(engine) as s:
        return s.scalars(query.order_by(Schedule.created_at)).all()


def runnable_schedules(engine: Engine) -> Sequence[Schedule]:
    """The schedules the scheduler runs: made without a key, or with a key still active. A
    revoked key ends at once (SPEC 8), and with it the reports it scheduled."""
    active = select(ApiKey.id).where(ApiKey.revoked_at.is_(None))
    query = select(Schedule).where(or_(Schedule.api_key_id.is_(None), Schedule.api_key_id.in_(active)))
    with db.read_session(engine) as s:
        return s.scalars(query.order_by(Schedule.created_at)).all()


def remove(engine: Engine, schedule_id: str) -> bool:
    """Delete a schedule and its claims; its reports stay (they name the schedule id)."""
    with db.write_session(engine) as s:
        gone = s.execute(delete(Schedule).where(Schedule.id == schedule_id)).rowcount
        s.execute(delete(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id))
    return bool(gone)


def claim(engine: Engine, schedule_id: str, due_at: datetime, now: datetime) -> bool:
    """True for exactly one caller per (schedule, due time), across every process."""
    try:
        with db.write_session(engine) as s:
            s.add(ScheduleRun(schedule_id=schedule_id, due_us=datetime_to_micros(due_at), claimed_at=now))
    except IntegrityError:
        return False
    return True


def set_run_report(engine: Engine, schedule_id: str, due_at: datetime, report_id: str) -> None:
    with db.write_session(engine) as s:
        s.execute(
            update(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id, ScheduleRun.due_us == datetime_to_micros(due_at))
            .values(report_id=report_id)
        )


def stale_claims(engine: Engine, claimed_before: datetime) -> dict[tuple[str, datetime], datetime]:
    """(schedule, due time) → claim time of the claims older than `claimed_before` that never got
    their report: the process that claimed them died in between."""
    with db.read_session(engine) as s:
        rows = s.execute(select(ScheduleRun.schedule_id, ScheduleRun.due_us, ScheduleRun.claimed_at)
                         .where(ScheduleRun.report_id.is_(None), ScheduleRun.claimed_at < claimed_before))
        return {(schedule_id, micros_to_datetime(int(due))): claimed_at for schedule_id, due, claimed_at in rows}


def take_over(engine: Engine, schedule_id: str, due_at: datetime, claimed_at: datetime, now: datetime) -> bool:
    """True for exactly one caller: a stale claim is moved to `now` only if no one moved it since."""
    with db.write_session(engine) as s:
        moved = s.execute(
            update(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id, ScheduleRun.due_us == datetime_to_micros(due_at),
                   ScheduleRun.report_id.is_(None), ScheduleRun.claimed_at == claimed_at)
            .values(claimed_at=now)
        ).rowcount
    return moved == 1


def latest_claims(engine: Engine) -> dict[str, datetime]:
    """The latest claimed due time of every schedule (one grouped query)."""
    with db.read_session(engine) as s:
        rows = s.execute(select(ScheduleRun.schedule_id, func.max(ScheduleRun.due_us)).group_by(ScheduleRun.schedule_id))
        return {schedule_id: micros_to_datetime(int(due)) for schedule_id, due in rows}


def last_run(engine: Engine, schedule_id: str) -> Run | None:
    with db.read_session(engine) as s:
        row = s.execute(
            select(ScheduleRun.due_us, ScheduleRun.report_id)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(ScheduleRun.due_us.desc())
            .limit(1)
        ).first()
    return Run(micros_to_datetime(int(row.due_us)), row.report_id) if row else None


def recent_reports(engine: Engine, schedule_id: str, limit: int = 10) -> Sequence[Report]:
    with db.read_session(engine) as s:
        return s.scalars(
            select(Report).where(Report.schedule_id == schedule_id).order_by(Report.created_at.desc()).limit(limit)
        ).all()
