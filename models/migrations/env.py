"""Alembic environment: migrations run on the connection `models.schema` hands over.

That connection already holds the migration lock (MySQL `GET_LOCK`, SQLite's write lock), so
several processes starting at once migrate once. `render_as_batch`: SQLite alters a table by
copying it, which Alembic's batch mode does for it.
"""
from __future__ import annotations

from alembic import context

from models.db import Base  # every table registered, for `revision --autogenerate`

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `flask --app app db upgrade` (models.schema), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
