"""Bring a database made by an earlier version up to the current tables, in place.

`create_all` creates missing tables but never touches existing ones, so a database from an
earlier build would lack the columns added since (and fail on the first query that names
them). Every column added since the first release is nullable or has a scalar default, so
adding it is one `ALTER TABLE … ADD COLUMN` that keeps every row; its indexes follow.
Runs inside `init_schema`'s lock, so several processes starting together add each column once.
"""
from __future__ import annotations

import logging

from sqlalchemy import Column, Connection, inspect, literal
from sqlalchemy.schema import CreateColumn

from models.base import Base

log = logging.getLogger(__name__)


def add_missing_columns(conn: Connection) -> list[str]:
    """Add the model columns (and their indexes) that existing tables lack; returns what was added."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    added: list[str] = []
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        missing = [column for column in table.columns if column.name not in have]
        for column in missing:
            conn.exec_driver_sql(
                f"ALTER TABLE {conn.dialect.identifier_preparer.format_table(table)} ADD COLUMN {_column_ddl(conn, column)}"
            )
            added.append(f"{table.name}.{column.name}")
        if missing:
            indexed = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexed:
                    index.create(conn)
    if added:
        log.warning("database made by an earlier version: added columns %s", ", ".join(added))
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
