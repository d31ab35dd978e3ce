"""This round: planned closures (SPEC 9), live polls, status and alerts (SPEC 10), the per-store
index of polls (issue 22).

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


def _tables() -> tuple[list[sa.Table], list[sa.Table]]:
    """(the tables this round added, the models' tables that the last release had)."""
    from models.db import Base  # every table registered
    from models.schema import baseline_metadata

    baseline = set(baseline_metadata().tables)
    new = [table for table in Base.metadata.sorted_tables if table.name not in baseline]
    old = [table for table in Base.metadata.sorted_tables if table.name in baseline]
    return new, old


def upgrade() -> None:
    bind = op.get_bind()
    new, old = _tables()
    for table in new:
        table.create(bind, checkfirst=True)
    inspector = sa.inspect(bind)
    for table in old:  # indexes the models gained on the last release's tables
        if table.name == "polls":
            continue  # its layout differs by dialect: models/poll_layout.py brings it in place
        have = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    new, _old = _tables()
    for table in reversed(new):
        table.drop(bind, checkfirst=True)
