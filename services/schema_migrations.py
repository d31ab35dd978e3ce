"""The operator's view of the schema's version: where it stands, or (a developer) the next
revision. Upgrading is `Runtime.ensure_schema` (every start, and `flask --app app db upgrade`)."""
from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from models.schema import alembic_config, current_revision, head_revision


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the revision the database is at, None before migrations; the newest this code knows)."""
    with engine.connect() as conn:
        return current_revision(conn), head_revision()


def new_revision(engine: Engine, message: str, autogenerate: bool, rev_id: str | None = None) -> str:
    """Write a new revision file after the newest one; with `autogenerate`, its operations are
    what the models have and the database (at head) lacks. Returns the file's path."""
    with engine.connect() as conn:
        script = command.revision(alembic_config(conn), message=message, autogenerate=autogenerate, rev_id=rev_id)
    assert script is not None and not isinstance(script, list)
    return str(script.path)
