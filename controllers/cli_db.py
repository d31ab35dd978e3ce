"""`flask --app app db upgrade|current`: the schema's migrations, run explicitly (a deploy step
before the API processes start; each process also upgrades at start, under the same lock)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from controllers.cli_errors import service_errors
from runtime import runtime_of
from services.schema_migrations import new_revision, schema_revisions

db_cli = AppGroup("db", help="The database schema: Alembic migrations (models/migrations/).")


@db_cli.command("upgrade")
def upgrade() -> None:
    """Bring the database to the newest schema revision, keeping every row."""
    runtime = runtime_of()
    try:
        with service_errors():
            runtime.ensure_schema()  # done when the app was built, unless the database was away then
    finally:
        runtime.engine.dispose()
    assert runtime.schema_revisions is not None
    before, after = runtime.schema_revisions
    if before == after:
        click.echo(f"database schema at {after} (nothing to do)")
    else:
        was = before or "no revision (a new database, or one made before migrations)"
        click.echo(f"database schema upgraded from {was} to {after}")


@db_cli.command("current")
def current() -> None:
    """Print the database's schema revision and the newest one; exit 1 when they differ."""
    runtime = runtime_of()
    try:
        with service_errors():
            revision, head = schema_revisions(runtime.engine)
    finally:
        runtime.engine.dispose()
    click.echo(f"database {revision or 'unversioned'}, newest {head}")
    if revision != head:
        raise SystemExit(1)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--autogenerate", is_flag=True, help="Fill it with what the models have and the database lacks.")
@click.option("--rev-id", default=None, help="The revision's id (default: a random one).")
def revision(message: str, autogenerate: bool, rev_id: str | None) -> None:
    """Write a new migration in models/migrations/versions/ (for developers; review it)."""
    runtime = runtime_of()
    try:
        click.echo(new_revision(runtime.engine, message, autogenerate, rev_id))
    finally:
        runtime.engine.dispose()
