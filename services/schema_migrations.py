"""The operator's view of the schema's version: upgrade it now, or say where it stands."""
from __future__ import annotations

from sqlalchemy import Engine

from models.db import init_schema
from models.schema import current_revision, head_revision


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the revision the database is at, None before migrations; the newest this code knows)."""
    with engine.connect() as conn:
        return current_revision(conn), head_revision()


def upgrade_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Migrate the database to the newest revision under the migration lock; (before, after)."""
    before, _head = schema_revisions(engine)
    init_schema(engine)
    after, _head = schema_revisions(engine)
    return before, after
