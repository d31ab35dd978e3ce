"""Tables of the job subsystem (SPEC 6): report tasks with their leases, and stored report CSVs."""
from __future__ import annotations

from enum import Enum
from typing import Optional

from sqlalchemy import BigInteger, Float, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class JobStatus(str, Enum):
    """A report's (and a task's) life: pending (queued) → running (claimed) → complete or failed."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


PENDING, RUNNING, COMPLETE, FAILED = (s.value for s in JobStatus)
UNFINISHED = (PENDING, RUNNING)

# Partial and merged CSVs can be tens of MB before compression: BLOB (64 KB) is too small on MySQL.
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class ReportTask(Base):
    __tablename__ = "report_tasks"
    __table_args__ = (
        UniqueConstraint("report_id", "shard", name="uq_report_tasks_shard"),
        Index("ix_report_tasks_lease", "status", "lease_expires_us"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(String(64), index=True)
    shard: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who holds the task and until when (epoch µs). A pending task with no owner sits in the
    # broker; one with an owner sits in that process's thread pool queue.
    lease_owner: Mapped[Optional[str]] = mapped_column(String(128))
    lease_expires_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    store_ids: Mapped[Optional[str]] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"))
    result: Mapped[Optional[bytes]] = mapped_column(Blob)  # zlib-compressed partial CSV
    data_version: Mapped[Optional[int]] = mapped_column(BigInteger)
    now_us: Mapped[Optional[int]] = mapped_column(BigInteger)  # the report's now, as the shard computed it
    error: Mapped[Optional[str]] = mapped_column(Text)
    warnings: Mapped[Optional[str]] = mapped_column(Text)  # JSON list: what the shard could not honour


class ReportFile(Base):
    """A finished report CSV, zlib-compressed: any API process can serve it (celery backend)."""

    __tablename__ = "report_files"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(Blob)
    size: Mapped[int] = mapped_column(BigInteger)
