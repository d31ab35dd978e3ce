"""The live evaluator's pass id (its in-memory copy of live_store_state is current while the
cursor row holds the id it wrote), and 64-bit data versions: a report's data version now grows
with every live batch (SPEC 10), tens a second, and a 32-bit column would run out in about a year.

Revision ID: 0003_pass_id_wide_versions
Revises: 0002_closures_live_alerts
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_pass_id_wide_versions"
down_revision = "0002_closures_live_alerts"
branch_labels = None
depends_on = None

WIDENED = (("reports", "data_version"), ("report_tasks", "data_version"))


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "pass_id" not in {column["name"] for column in inspector.get_columns("live_cursor")}:
        op.add_column("live_cursor", sa.Column("pass_id", sa.String(32), nullable=True))
    if bind.dialect.name == "sqlite":
        return  # an INTEGER column of SQLite holds 64 bits already
    for table, column in WIDENED:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for table, column in WIDENED:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=True)
    with op.batch_alter_table("live_cursor") as batch:
        batch.drop_column("pass_id")
