"""This round: planned closures (SPEC 9); live polls, status and alerts (SPEC 10); the newest
poll's row and the covering index of business hours (issue 22).

Frozen as the models stood when the round landed (types written out, not imported from the
models, which move on). A table or index that already exists is left alone: a database made
by a build of this round before migrations existed (adopted, then stamped with the baseline)
already has some of them. Polls' layout differs by dialect and is not here: models/poll_layout.py
brings it in place after the migrations, at every start.

Revision ID: 0002_closures_live_alerts
Revises: 0001_baseline
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_closures_live_alerts"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

# An autoincrementing 64-bit key (SQLite's rowid alias must be declared INTEGER).
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW_TABLES = ("alert_events", "alert_store_states", "alerts", "closures", "live_cursor", "live_sequence",
              "live_store_state", "poll_arrivals", "poll_bounds", "store_transitions")


def _create_table(inspector: sa.Inspector, name: str, *elements: sa.SchemaItem) -> None:
    if not inspector.has_table(name):
        op.create_table(name, *elements)


def _create_index(inspector: sa.Inspector, name: str, table: str, columns: list[str]) -> None:
    if name not in {index["name"] for index in inspector.get_indexes(table)}:
        op.create_index(name, table, columns)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    _create_table(
        inspector, "alert_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("since_us", sa.BigInteger()),
        sa.Column("last_poll_us", sa.BigInteger()),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("received_us", sa.BigInteger()),
        sa.UniqueConstraint("alert_id", "store_key", "event", "at_us", name="uq_alert_events_transition"),
    )
    _create_index(inspector, "ix_alert_events_alert", "alert_events", ["alert_id", "created_us"])
    _create_table(
        inspector, "alert_store_states",
        sa.Column("alert_id", sa.String(32), primary_key=True),
        sa.Column("store_key", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
    )
    _create_table(
        inspector, "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("store_ids", sa.Text()),
        sa.Column("confirm_polls", sa.Integer(), nullable=False),
        sa.Column("recover_polls", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.String(64)),
        sa.Column("baselined", sa.Boolean(), nullable=False),
    )
    _create_index(inspector, "ix_alerts_api_key_id", "alerts", ["api_key_id"])
    _create_table(
        inspector, "closures",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=False),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.String(64)),
        sa.Column("local_start_s", sa.BigInteger()),
        sa.Column("local_end_s", sa.BigInteger()),
    )
    _create_index(inspector, "ix_closures_source", "closures", ["source"])
    _create_index(inspector, "ix_closures_store_start", "closures", ["store_key", "start_us"])
    _create_table(
        inspector, "live_cursor",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("load_version", sa.BigInteger(), nullable=False),
        sa.Column("evaluated_us", sa.BigInteger(), nullable=False),
        sa.Column("pruned_us", sa.BigInteger(), nullable=False),
    )
    _create_table(
        inspector, "live_sequence",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    _create_table(
        inspector, "live_store_state",
        sa.Column("store_key", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_ts_us", sa.BigInteger(), nullable=False),
        sa.Column("last_active", sa.Boolean(), nullable=False),
        sa.Column("run_len", sa.Integer(), nullable=False),
        sa.Column("run_start_us", sa.BigInteger(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("status_since_us", sa.BigInteger()),
    )
    _create_table(
        inspector, "poll_arrivals",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
    )
    _create_index(inspector, "ix_poll_arrivals_seq", "poll_arrivals", ["seq"])
    _create_table(
        inspector, "poll_bounds",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("latest_us", sa.BigInteger()),
    )
    _create_table(
        inspector, "store_transitions",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("since_us", sa.BigInteger()),
        sa.Column("last_poll_us", sa.BigInteger()),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
    )
    _create_index(inspector, "ix_store_transitions_created", "store_transitions", ["created_us"])
    _create_index(inspector, "ix_store_transitions_store_key", "store_transitions", ["store_key"])
    _create_index(inspector, "ix_business_hours_cover", "business_hours", ["store_key", "day", "start_s", "end_s"])


def downgrade() -> None:
    op.drop_index("ix_business_hours_cover", table_name="business_hours")
    for name in reversed(NEW_TABLES):
        op.drop_table(name)
