"""Queries on report tasks (one per shard, with their lease) and on report CSVs kept in the database.

A task row is the job record of SPEC 6: status, attempts, a lease (owner + expiry, renewed by a
heartbeat while it runs), progress and, once computed, the shard's partial CSV. Every state
change is a conditional UPDATE, so two processes can never both hold the same task.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Engine, and_, func, or_, select, update

from models.db import read_tx, write_tx
from models.job_tables import COMPLETE, PENDING, RUNNING, ReportFile, ReportTask
from models.tables import Report

@dataclass(frozen=True)
class Claimed:
    """A task this process now holds."""

    id: int
    report_id: str
    shard: int
    attempts: int
    store_ids: list[str] | None
    has_result: bool


def create_tasks(conn: Any, report_id: str, shards: Sequence[Sequence[str] | None], owner: str | None,
                 lease_until_us: int | None) -> None:
    conn.execute(
        ReportTask.__table__.insert(),
        [
            {"report_id": report_id, "shard": i, "status": PENDING, "attempts": 0, "lease_owner": owner,
             "lease_expires_us": lease_until_us, "progress": 0.0,
             "store_ids": json.dumps(list(ids)) if ids is not None else None}
            for i, ids in enumerate(shards)
        ],
    )


def claim(engine: Engine, report_id: str, shard: int, owner: str, now_us: int, lease_us: int) -> Claimed | None:
    """Take the task if it is free: pending (in the broker, or queued by this very process) or
    leased by someone whose lease has expired. None if another live holder has it or it is done."""
    t = ReportTask
    free = or_(
        and_(t.status == PENDING, or_(t.lease_owner.is_(None), t.lease_owner == owner,
                                       t.lease_expires_us < now_us)),
        and_(t.status == RUNNING, t.lease_expires_us < now_us),
    )
    with write_tx(engine) as conn:
        taken = conn.execute(
            update(t).where(t.report_id == report_id, t.shard == shard, free)
            .values(status=RUNNING, lease_owner=owner, lease_expires_us=now_us + lease_us,
                    attempts=t.attempts + 1, error=None)
        ).rowcount
        if taken != 1:
            return None
        row = conn.execute(
            select(t.id, t.attempts, t.store_ids, t.result.is_not(None))
            .where(t.report_id == report_id, t.shard == shard)
        ).one()
        conn.execute(
            update(Report).where(Report.id == report_id, Report.status == PENDING)
            .values(status=RUNNING, started_at=datetime.now(timezone.utc))
        )
    ids = json.loads(row[2]) if row[2] is not None else None
    return Claimed(int(row[0]), report_id, shard, int(row[1]), ids, bool(row[3]))


def renew(engine: Engine, owner: str, now_us: int, lease_us: int) -> int:
    """The heartbeat: extend every lease this owner holds; returns how many it still holds."""
    with write_tx(engine) as conn:
        return conn.execute(
            update(ReportTask)
            .where(ReportTask.lease_owner == owner, ReportTask.status.in_((PENDING, RUNNING)))
            .values(lease_expires_us=now_us + lease_us)
        ).rowcount


def set_progress(engine: Engine, task_id: int, owner: str, fraction: float) -> bool:
    with write_tx(engine) as conn:
        return conn.execute(
            update(ReportTask).where(ReportTask.id == task_id, ReportTask.lease_owner == owner,
                                     ReportTask.status == RUNNING)
            .values(progress=fraction)
        ).rowcount == 1


def store_result(
    engine: Engine, task: Claimed, owner: str, blob: bytes, data_version: int, report_now_us: int,
    warnings: Sequence[str] = (),
) -> tuple[bool, int, int]:
    """Save the shard's partial result and count it, in one transaction, while still holding the
    lease. Returns (counted, shards done, shards total); the caller that reads done == total merges."""
    with write_tx(engine) as conn:
        saved = conn.execute(
            update(ReportTask)
            .where(ReportTask.id == task.id, ReportTask.lease_owner == owner, ReportTask.status == RUNNING,
                   ReportTask.result.is_(None))
            .values(result=blob, data_version=data_version, now_us=report_now_us, progress=1.0,
                    warnings=json.dumps(list(warnings)))
        ).rowcount == 1
        if saved:
            # Row lock on the report: concurrent shards count one after another, never both "last".
            conn.execute(update(Report).where(Report.id == task.report_id)
                         .values(shards_done=Report.shards_done + 1))
        done, total = conn.execute(
            select(Report.shards_done, Report.shards_total).where(Report.id == task.report_id)
        ).one()
    return saved, int(done), int(total)


def shard_count(engine: Engine, report_id: str) -> tuple[int, int]:
    with read_tx(engine) as conn:
        done, total = conn.execute(
            select(Report.shards_done, Report.shards_total).where(Report.id == report_id)
        ).one()
    return int(done), int(total)


def complete(engine: Engine, task_id: int, owner: str) -> bool:
    with write_tx(engine) as conn:
        return conn.execute(
            update(ReportTask).where(ReportTask.id == task_id, ReportTask.lease_owner == owner,
                                     ReportTask.status == RUNNING)
            .values(status=COMPLETE, lease_owner=None, lease_expires_us=None, progress=1.0)
        ).rowcount == 1


def release_for_retry(engine: Engine, task_id: int, owner: str, error: str, retry_at_us: int) -> bool:
    """Give a failed attempt back: pending, owned by nobody, picked up by a sweep after retry_at_us."""
    with write_tx(engine) as conn:
        return conn.execute(
            update(ReportTask).where(ReportTask.id == task_id, ReportTask.lease_owner == owner,
                                     ReportTask.status == RUNNING)
            .values(status=PENDING, lease_owner="retry", lease_expires_us=retry_at_us, error=error[:2000])
        ).rowcount == 1


@dataclass(frozen=True)
class Expired:
    id: int
    report_id: str
    shard: int
    status: str
    attempts: int
    error: str | None


def expired(engine: Engine, now_us: int, limit: int = 100) -> list[Expired]:
    """Unfinished tasks whose lease ran out, oldest first."""
    t = ReportTask
    with read_tx(engine) as conn:
        rows = conn.execute(
            select(t.id, t.report_id, t.shard, t.status, t.attempts, t.error)
            .where(t.status.in_((PENDING, RUNNING)), t.lease_expires_us < now_us)
            .order_by(t.lease_expires_us).limit(limit)
        ).all()
    return [Expired(int(r[0]), r[1], int(r[2]), r[3], int(r[4]), r[5]) for r in rows]


def take_over(engine: Engine, task_id: int, status: str, now_us: int, owner: str | None,
              lease_until_us: int | None) -> bool:
    """Re-queue an expired task, if it is still expired (another sweeper may have been first)."""
    t = ReportTask
    with write_tx(engine) as conn:
        return conn.execute(
            update(t).where(t.id == task_id, t.status == status, t.lease_expires_us < now_us)
            .values(status=PENDING, lease_owner=owner, lease_expires_us=lease_until_us)
        ).rowcount == 1


def close_all(conn: Any, report_id: str, status: str) -> None:
    conn.execute(update(ReportTask).where(ReportTask.report_id == report_id,
                                          ReportTask.status.in_((PENDING, RUNNING)))
                 .values(status=status, lease_owner=None, lease_expires_us=None))


@dataclass(frozen=True)
class ShardResult:
    shard: int
    blob: bytes | None
    data_version: int | None
    now_us: int | None
    warnings: list[str]


def results(engine: Engine, report_id: str) -> list[ShardResult]:
    """Every shard's saved part, in shard order."""
    with read_tx(engine) as conn:
        rows = conn.execute(
            select(ReportTask.shard, ReportTask.result, ReportTask.data_version, ReportTask.now_us,
                   ReportTask.warnings)
            .where(ReportTask.report_id == report_id).order_by(ReportTask.shard)
        ).all()
    return [ShardResult(int(r[0]), r[1], r[2], r[3], json.loads(r[4]) if r[4] else []) for r in rows]


def progress_of(engine: Engine, report_ids: Sequence[str]) -> dict[str, float]:
    """Mean progress of each report's shards."""
    if not report_ids:
        return {}
    with read_tx(engine) as conn:
        rows = conn.execute(
            select(ReportTask.report_id, func.avg(ReportTask.progress))
            .where(ReportTask.report_id.in_(list(report_ids))).group_by(ReportTask.report_id)
        ).all()
    return {r[0]: float(r[1] or 0.0) for r in rows}


def delete_report_tasks(conn: Any, report_id: str) -> None:
    conn.execute(ReportTask.__table__.delete().where(ReportTask.report_id == report_id))


def save_file(engine: Engine, name: str, content: bytes, size: int) -> None:
    with write_tx(engine) as conn:
        conn.execute(ReportFile.__table__.delete().where(ReportFile.name == name))
        conn.execute(ReportFile.__table__.insert().values(name=name, content=content, size=size))


def load_file(engine: Engine, name: str) -> bytes | None:
    with read_tx(engine) as conn:
        return conn.execute(select(ReportFile.content).where(ReportFile.name == name)).scalar()


def file_exists(engine: Engine, name: str) -> bool:
    with read_tx(engine) as conn:
        return conn.execute(select(ReportFile.size).where(ReportFile.name == name)).first() is not None
