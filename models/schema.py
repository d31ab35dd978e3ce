"""The schema's version: Alembic migrations (models/migrations/) run in place on start-up and by
`flask --app app db upgrade`.

Three kinds of database meet the service:
- one with an `alembic_version` table: upgraded to the newest revision (head);
- an empty one: created from the models and stamped head (nothing to migrate);
- one made by a release before migrations (its tables, no `alembic_version`): adopted, i.e.
  given whatever of the baseline schema it lacks (a release older than the last one had fewer
  columns in `reports`), stamped with the baseline revision, then upgraded. No row is touched.
The caller holds the migration lock (`models.db.init_schema`): Alembic has none of its own,
and two processes upgrading at once would both run every revision.
"""
from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from pathlib import Path

# Alembic announces each of its plugins at INFO when imported: nothing an operator needs.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Column, Connection, MetaData, inspect, literal, text  # noqa: E402
from sqlalchemy.schema import CreateColumn  # noqa: E402

from models.base import Base  # noqa: E402

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001_baseline"
VERSION_TABLE = "alembic_version"


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic's configuration without an ini file; `conn` is the connection migrations run on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "models/migrations/versions holds no revision"
    return head


def baseline_metadata() -> MetaData:
    """The tables of the last release before migrations, as its baseline revision freezes them."""
    revision = _scripts().get_revision(BASELINE_REVISION)
    assert revision is not None
    return revision.module.METADATA


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None for an empty database or one made before migrations.
    Read directly (not through Alembic's MigrationContext, which logs its set-up at every start)."""
    if VERSION_TABLE not in inspect(conn).get_table_names():
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def migrate(conn: Connection) -> tuple[str | None, str]:
    """Bring the database on `conn` to the head revision; returns (revision before, after)."""
    tables = set(inspect(conn).get_table_names())
    config = alembic_config(conn)
    head = head_revision()
    if VERSION_TABLE in tables:
        before = current_revision(conn)
        if before != head:
            log.info("database schema at %s: upgrading to %s", before, head)
            command.upgrade(config, "head")
        return before, head
    if not tables & set(baseline_metadata().tables):
        Base.metadata.create_all(conn)
        command.stamp(config, "head")
        log.info("new database: tables created at schema revision %s", head)
        return None, head
    added = adopt_existing(conn)
    log.warning("database made before schema migrations%s: stamped %s, upgrading to %s",
                f" (added {', '.join(added)})" if added else "", BASELINE_REVISION, head)
    command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")
    return None, head


def adopt_existing(conn: Connection) -> list[str]:
    """Give a database of an earlier release what the baseline has and it lacks: tables, columns
    (nullable, or NOT NULL with the baseline's scalar default, so one `ADD COLUMN` keeps every
    row) and indexes. Returns what was added."""
    metadata = baseline_metadata()
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    added: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in tables:
            table.create(conn)
            added.append(table.name)
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                table_name = conn.dialect.identifier_preparer.format_table(table)
                conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN {_column_ddl(conn, column)}")
                added.append(f"{table.name}.{column.name}")
        with warnings.catch_warnings():  # SQLite's hour index of polls (an expression, not reflected)
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
            indexed = {index["name"] for index in inspect(conn).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexed:
                index.create(conn)
                added.append(str(index.name))
    return added


def _column_ddl(conn: Connection, column: Column) -> str:
    ddl = str(CreateColumn(column).compile(dialect=conn.dialect))
    if column.nullable or column.server_default is not None:
        return ddl
    default = column.default
    if default is None or not default.is_scalar:
        raise RuntimeError(f"cannot add {column.table.name}.{column.name}: NOT NULL without a scalar default")
    value = literal(default.arg, column.type).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    return f"{ddl} DEFAULT {value}"
