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
    'api_keys', METADATA,
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False, default=""),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('store_ids', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
)
sa.Index('ix_api_keys_revoked_at', METADATA.tables['api_keys'].c.revoked_at)
sa.Table(
    'data_loads', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.BigInteger(), nullable=False),
    sa.Column('source_dir', sa.Text(), nullable=False),
    sa.Column('changed', sa.Boolean(), nullable=False),
    sa.Column('rows_loaded', sa.BigInteger(), nullable=False),
    sa.Column('rows_rejected', sa.BigInteger(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
)
sa.Index('ix_data_loads_changed', METADATA.tables['data_loads'].c.changed)
sa.Table(
    'deliveries', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), nullable=False, default=0),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('next_attempt_at', sa.BigInteger(), nullable=True),
    sa.Column('lease_until', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id')
)
sa.Index('ix_deliveries_due', METADATA.tables['deliveries'].c.status, METADATA.tables['deliveries'].c.next_attempt_at)
sa.Table(
    'loaded_sources', METADATA,
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    sa.Column('ctime_ns', sa.BigInteger(), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('complete_size', sa.BigInteger(), nullable=False),
    sa.Column('complete_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('open_store_key', sa.Integer(), nullable=True),
    sa.Column('open_ts_us', sa.BigInteger(), nullable=True),
    sa.Column('loaded_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
)
sa.Table(
    'polls', METADATA,
    sa.Column('ts_us', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('store_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('ts_us', 'store_key'),
    sqlite_with_rowid=False
)
sa.Table(
    'report_files', METADATA,
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', LONG_BLOB, nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
)
sa.Table(
    'report_tasks', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False, default=0),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_us', sa.BigInteger(), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False, default=0.0),
    sa.Column('store_ids', MEDIUM_TEXT, nullable=True),
    sa.Column('result', LONG_BLOB, nullable=True),
    sa.Column('data_version', sa.Integer(), nullable=True),
    sa.Column('now_us', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'shard', name='uq_report_tasks_shard')
)
sa.Index('ix_report_tasks_lease', METADATA.tables['report_tasks'].c.status,
         METADATA.tables['report_tasks'].c.lease_expires_us)
sa.Index('ix_report_tasks_report_id', METADATA.tables['report_tasks'].c.report_id)
sa.Table(
    'reports', METADATA,
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('params', MEDIUM_TEXT, nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=True),
    sa.Column('finished_at', sa.BigInteger(), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False, default=0.0),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('row_count', sa.Integer(), nullable=True),
    sa.Column('data_version', sa.Integer(), nullable=True),
    sa.Column('now_us', sa.BigInteger(), nullable=True),
    sa.Column('cache_key', sa.String(length=64), nullable=True),
    sa.Column('timings', sa.Text(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('schedule_id', sa.String(length=64), nullable=True),
    sa.Column('api_key_id', sa.String(length=64), nullable=True),
    sa.Column('shards_total', sa.Integer(), nullable=False, default=1),
    sa.Column('shards_done', sa.Integer(), nullable=False, default=0),
    sa.PrimaryKeyConstraint('id')
)
sa.Index('ix_reports_api_key_id', METADATA.tables['reports'].c.api_key_id)
sa.Index('ix_reports_cache_key', METADATA.tables['reports'].c.cache_key)
sa.Index('ix_reports_created', METADATA.tables['reports'].c.created_at)
sa.Index('ix_reports_schedule_id', METADATA.tables['reports'].c.schedule_id)
sa.Index('ix_reports_status', METADATA.tables['reports'].c.status)
sa.Table(
    'schedule_runs', METADATA,
    sa.Column('schedule_id', sa.String(length=64), nullable=False),
    sa.Column('due_us', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('claimed_at', sa.BigInteger(), nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('schedule_id', 'due_us')
)
sa.Table(
    'schedules', METADATA,
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('cron', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('webhook_url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('api_key_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
)
sa.Index('ix_schedules_api_key_id', METADATA.tables['schedules'].c.api_key_id)
sa.Index('ix_schedules_created_at', METADATA.tables['schedules'].c.created_at)
sa.Table(
    'stores', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('store_id', STORE_ID, nullable=False),
    sa.Column('first_poll_us', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id')
)
sa.Index('ix_stores_first_poll_us', METADATA.tables['stores'].c.first_poll_us)
sa.Table(
    'business_hours', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('store_key', sa.Integer(), nullable=False),
    sa.Column('day', sa.SmallInteger(), nullable=False),
    sa.Column('start_s', sa.Integer(), nullable=False),
    sa.Column('end_s', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_key'], ['stores.id'], ),
    sa.PrimaryKeyConstraint('id')
)
sa.Index('ix_business_hours_store_key', METADATA.tables['business_hours'].c.store_key)
sa.Table(
    'delivery_attempts', METADATA,
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', sa.BigInteger(), nullable=False),
    sa.Column('http_status', sa.SmallInteger(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ),
    sa.PrimaryKeyConstraint('id')
)
sa.Index('ix_delivery_attempts_delivery_id', METADATA.tables['delivery_attempts'].c.delivery_id)
sa.Index('ix_delivery_attempts_report_id', METADATA.tables['delivery_attempts'].c.report_id)
sa.Table(
    'store_timezones', METADATA,
    sa.Column('store_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['store_key'], ['stores.id'], ),
    sa.PrimaryKeyConstraint('store_key')
)

def upgrade() -> None:
    METADATA.create_all(op.get_bind())


def downgrade() -> None:
    METADATA.drop_all(op.get_bind())
