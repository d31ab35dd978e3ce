"""A database made by an earlier version (before migrations, and older than the baseline) gains the
columns added since, keeping its rows; tests/test_migrations.py builds one with the last release's own code."""
from __future__ import annotations

from sqlalchemy import inspect, text

from models.db import init_schema, make_engine
from models.schema import head_revision

DROPPED = ("warnings", "webhook_url", "schedule_id", "api_key_id", "shards_total", "shards_done")


def test_columns_added_since_an_earlier_version_are_added_in_place(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        init_schema(engine)
        with engine.begin() as conn:
            for index in inspect(conn).get_indexes("reports"):
                if set(index["column_names"]) & set(DROPPED):
                    conn.exec_driver_sql(f"DROP INDEX {index['name']}" + ("" if engine.dialect.name == "sqlite"
                                                                          else " ON reports"))
            for column in DROPPED:
                conn.exec_driver_sql(f"ALTER TABLE reports DROP COLUMN {column}")
            conn.exec_driver_sql("DROP TABLE alembic_version")  # releases before migrations had none
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO reports (id, status, params, created_at, progress) "
                              "VALUES ('old-report', 'complete', '{}', 0, 1.0)"))
            assert not set(DROPPED) & {c["name"] for c in inspect(conn).get_columns("reports")}

        init_schema(engine)  # what the next start of the new version does
        init_schema(engine)  # and the one after it: nothing left to add

        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("reports")}
            indexed = {col for index in inspect(conn).get_indexes("reports") for col in index["column_names"]}
            row = conn.execute(text("SELECT status, shards_total, shards_done, warnings FROM reports "
                                    "WHERE id = 'old-report'")).one()
        assert set(DROPPED) <= columns
        assert {"schedule_id", "api_key_id"} <= indexed
        assert tuple(row) == ("complete", 1, 0, None)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
    finally:
        engine.dispose()
