"""Baseline: the schema of the last release before migrations (commit ced029b).

The tables are frozen here as they were, not imported from the models: the models move on,
this revision must always create exactly what that release created. A database made by that
release (or an earlier one, which lacked some columns of `reports`) has no `alembic_version`
table; `models.schema` adopts it with `adopt_existing` (what is missing is added, every row
kept) and stamps it with this revision instead of running it.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# Instants are integer epoch microseconds (models.base.EpochMicros); `default=` matters only
# to `adopt_existing`, which adds a NOT NULL column to a table that has rows.
METADATA = sa.MetaData()
LONG_BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mariadb").with_variant(mysql.LONGBLOB(), "mysql")
MEDIUM_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mariadb").with_variant(mysql.MEDIUMTEXT(), "mysql")
# Store ids compare byte for byte on MySQL too.
STORE_ID = sa.String(255).with_variant(sa.String(255, collation="utf8mb4_bin"), "mariadb", "mysql")

sa.Table(
    "api_keys", METADATA,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("store_ids", sa.Text()),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("revoked_at", sa.BigInteger(), index=True),
)
sa.Table(
    "data_loads", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("started_at", sa.BigInteger(), nullable=False),
    sa.Column("finished_at", sa.BigInteger(), nullable=False),
    sa.Column("source_dir", sa.Text(), nullable=False),
    sa.Column("changed", sa.Boolean(), nullable=False, index=True),
    sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
    sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
)
sa.Table(
    "deliveries", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("report_id", sa.String(64), nullable=False, unique=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.SmallInteger(), nullable=False, default=0),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("next_attempt_at", sa.BigInteger()),
    sa.Column("lease_until", sa.BigInteger()),
    sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
)
sa.Table(
    "loaded_sources", METADATA,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
    sa.Column("ctime_ns", sa.BigInteger(), nullable=False),
    sa.Column("inode", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("complete_size", sa.BigInteger(), nullable=False),
    sa.Column("complete_sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger(), nullable=False),
    sa.Column("open_store_key", sa.Integer()),
    sa.Column("open_ts_us", sa.BigInteger()),
    sa.Column("loaded_at", sa.BigInteger(), nullable=False),
)
sa.Table(
    "polls", METADATA,
    sa.Column("ts_us", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("store_key", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sqlite_with_rowid=False,
)
sa.Table(
    "report_files", METADATA,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("content", LONG_BLOB, nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
)
sa.Table(
    "report_tasks", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("report_id", sa.String(64), nullable=False, index=True),
    sa.Column("shard", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_expires_us", sa.BigInteger()),
    sa.Column("progress", sa.Float(), nullable=False, default=0.0),
    sa.Column("store_ids", MEDIUM_TEXT),
    sa.Column("result", LONG_BLOB),
    sa.Column("data_version", sa.Integer()),
    sa.Column("now_us", sa.BigInteger()),
    sa.Column("error", sa.Text()),
    sa.Column("warnings", sa.Text()),
    sa.UniqueConstraint("report_id", "shard", name="uq_report_tasks_shard"),
    sa.Index("ix_report_tasks_lease", "status", "lease_expires_us"),
)
sa.Table(
    "reports", METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("params", MEDIUM_TEXT, nullable=False),
    sa.Column("created_at", sa.BigInteger(), nullable=False),
    sa.Column("started_at", sa.BigInteger()),
    sa.Column("finished_at", sa.BigInteger()),
    sa.Column("progress", sa.Float(), nullable=False, default=0.0),
    sa.Column("error", sa.Text()),
    sa.Column("file_name", sa.String(255)),
    sa.Column("row_count", sa.Integer()),
    sa.Column("data_version", sa.Integer()),
    sa.Column("now_us", sa.BigInteger()),
    sa.Column("cache_key", sa.String(64), index=True),
    sa.Column("timings", sa.Text()),
    sa.Column("warnings", sa.Text()),
    sa.Column("webhook_url", sa.Text()),
    sa.Column("schedule_id", sa.String(64), index=True),
    sa.Column("api_key_id", sa.String(64), index=True),
    sa.Column("shards_total", sa.Integer(), nullable=False, default=1),
    sa.Column("shards_done", sa.Integer(), nullable=False, default=0),
    sa.Index("ix_reports_created", "created_at"),
)
sa.Table(
    "schedule_runs", METADATA,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("due_us", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("claimed_at", sa.BigInteger(), nullable=False),
    sa.Column("report_id", sa.String(64)),
)
sa.Table(
    "schedules", METADATA,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("cron", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("webhook_url", sa.Text()),
    sa.Column("created_at", sa.BigInteger(), nullable=False, index=True),
    sa.Column("api_key_id", sa.String(64), index=True),
)
sa.Table(
    "stores", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("store_id", STORE_ID, nullable=False, unique=True),
    sa.Column("first_poll_us", sa.BigInteger(), index=True),
)
sa.Table(
    "business_hours", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("store_key", sa.Integer(), sa.ForeignKey("stores.id"), nullable=False, index=True),
    sa.Column("day", sa.SmallInteger(), nullable=False),
    sa.Column("start_s", sa.Integer(), nullable=False),
    sa.Column("end_s", sa.Integer(), nullable=False),
)
sa.Table(
    "delivery_attempts", METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False, index=True),
    sa.Column("report_id", sa.String(64), nullable=False, index=True),
    sa.Column("attempted_at", sa.BigInteger(), nullable=False),
    sa.Column("http_status", sa.SmallInteger()),
    sa.Column("error", sa.String(500)),
    sa.Column("duration_ms", sa.Integer(), nullable=False),
)
sa.Table(
    "store_timezones", METADATA,
    sa.Column("store_key", sa.Integer(), sa.ForeignKey("stores.id"), primary_key=True, autoincrement=False),
    sa.Column("tz", sa.String(64), nullable=False),
)


def upgrade() -> None:
    METADATA.create_all(op.get_bind())


def downgrade() -> None:
    METADATA.drop_all(op.get_bind())
