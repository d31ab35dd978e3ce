"""The tables: store data (stores, polls, hours, zones), load history and report jobs.

Polls are the one big table (~1.8M rows a week), so they are stored compactly: an integer store
key, integer epoch microseconds and a boolean, under a (time, store) primary key that makes
loading idempotent and serves the report's "last 8 days" range read on SQLite; MySQL keys them
by (store, time) in day partitions so that one store's range is a range too (models/poll_layout.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros, StoreIdString

HOURS_INDEX = "ix_business_hours_cover"
POLLS_HOUR_INDEX = "ix_polls_hour_store"  # SQLite's per-store reads (models/poll_layout.py)
POLLS_HOUR_US = 3_600_000_000
POLLS_HOUR_EXPR = f"ts_us / {POLLS_HOUR_US}"  # its first column: a query must name it as written


class Store(Base):
    """Maps an opaque store_id to a small integer key used by every other table."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_id: Mapped[str] = mapped_column(StoreIdString, unique=True)
    # Earliest poll of the store: "stores with a poll not after now" without scanning polls.
    first_poll_us: Mapped[Optional[int]] = mapped_column(BigInteger, index=True)


class Poll(Base):
    """One poll. The primary key leads with time: the report reads a time range (the last
    8 days) as one contiguous scan, hourly loads append at the end of the tree, and the key
    still makes (store, instant) unique. No foreign key: the load inserts the store rows in the
    same transaction, and a per-row check would cost more than the whole insert."""

    __tablename__ = "polls"
    # MySQL: models/poll_layout.py keys the table by (store, time) and partitions it by day;
    # SQLite reads given stores through an index led by the hour (also made there for a database
    # of an earlier version).
    __table_args__ = (
        Index(POLLS_HOUR_INDEX, text(f"({POLLS_HOUR_EXPR})"), "store_key", "ts_us", "active").ddl_if(dialect="sqlite"),
        {"sqlite_with_rowid": False},
    )

    ts_us: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    store_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    active: Mapped[bool] = mapped_column(Boolean)


class PollBounds(Base):
    """One row (id 1) on MySQL: the newest poll's instant, raised by every write of polls (the
    (store, time) key of models/poll_layout.py has no end to read it from)."""

    __tablename__ = "poll_bounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    latest_us: Mapped[Optional[int]] = mapped_column(BigInteger)


class BusinessHours(Base):
    __tablename__ = "business_hours"
    # A report shard reads its stores' hours through this covering index (3× faster than the
    # store_key index and a row lookup each, measured on a quarter of the 1× fleet's stores).
    __table_args__ = (Index(HOURS_INDEX, "store_key", "day", "start_s", "end_s"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store_key: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    day: Mapped[int] = mapped_column(SmallInteger)
    start_s: Mapped[int] = mapped_column(Integer)
    end_s: Mapped[int] = mapped_column(Integer)


class StoreTimezone(Base):
    __tablename__ = "store_timezones"

    store_key: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True, autoincrement=False)
    tz: Mapped[str] = mapped_column(String(64))


class DataLoad(Base):
    """One run of the ingestion; the id of the last load that changed data is the data version."""

    __tablename__ = "data_loads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(EpochMicros)
    finished_at: Mapped[datetime] = mapped_column(EpochMicros)
    source_dir: Mapped[str] = mapped_column(Text)
    changed: Mapped[bool] = mapped_column(Boolean, index=True)
    rows_loaded: Mapped[int] = mapped_column(BigInteger)
    rows_rejected: Mapped[int] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text)  # JSON of the per-file results


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_created", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending/running/complete/failed
    # JSON: store_ids, as_of. Up to 10,000 store ids: MySQL's TEXT (64 KB) is too small.
    params: Mapped[str] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"))
    created_at: Mapped[datetime] = mapped_column(EpochMicros)
    started_at: Mapped[Optional[datetime]] = mapped_column(EpochMicros)
    finished_at: Mapped[Optional[datetime]] = mapped_column(EpochMicros)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    file_name: Mapped[Optional[str]] = mapped_column(String(255))
    row_count: Mapped[Optional[int]] = mapped_column(Integer)
    data_version: Mapped[Optional[int]] = mapped_column(BigInteger)  # grows with every live batch
    now_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    cache_key: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    timings: Mapped[Optional[str]] = mapped_column(Text)  # JSON: seconds spent reading, computing, writing
    warnings: Mapped[Optional[str]] = mapped_column(Text)  # JSON list: what the report could not honour
    # Who asked and who is told (SPEC 7, 8).
    webhook_url: Mapped[Optional[str]] = mapped_column(Text)
    schedule_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    api_key_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    # SPEC 6: the report is split into shards (report_tasks); the one that makes done == total merges.
    shards_total: Mapped[int] = mapped_column(Integer, default=1)
    shards_done: Mapped[int] = mapped_column(Integer, default=0)
