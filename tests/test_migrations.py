"""Alembic migrations: a database made by the last release (its own code, run from git) is
upgraded in place with every row kept and the new indexes built; an empty database is created
at head; the migrations and the models describe the same schema; several processes starting
together migrate once; `flask --app app db upgrade` and `db current`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import io
import tarfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from conftest import IN_CI, ROOT
from models.base import Base
from models.db import init_schema, make_engine
from models.schema import baseline_metadata, head_revision
from models.tables import POLLS_HOUR_INDEX

# SQLite's hour index of polls is on an expression, which neither SQLAlchemy nor Alembic reflects:
# _index_names and _schema_differences check it by name instead.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
]

LAST_RELEASE = "ced029b"  # the last release before migrations (the baseline revision's schema)

# What the last release itself writes: its own schema, its own loader, then a report, a
# schedule, a key and a webhook delivery the way its tables hold them.
OLD_RELEASE_SCRIPT = r"""
import sys
from pathlib import Path
from sqlalchemy import text
from models.db import init_schema, make_engine
from services.ingest.loader import load_directory

engine = make_engine(sys.argv[1])
init_schema(engine)
result = load_directory(engine, Path(sys.argv[2]))
assert result.ok, result
with engine.begin() as conn:
    conn.execute(text("INSERT INTO reports (id, status, params, created_at, progress, shards_total, shards_done) "
                      "VALUES ('old-report', 'complete', '{}', 1700000000000000, 1.0, 1, 1)"))
    conn.execute(text("INSERT INTO schedules (id, cron, timezone, params, created_at) "
                      "VALUES ('old-schedule', '0 * * * *', 'UTC', '{}', 1700000000000000)"))
    conn.execute(text("INSERT INTO api_keys (id, key_hash, name, role, created_at) "
                      "VALUES ('old-key', 'h', 'operator', 'admin', 1700000000000000)"))
    conn.execute(text("INSERT INTO deliveries (report_id, url, body, status, attempts, created_at) "
                      "VALUES ('old-report', 'https://example.com/h', '{}', 'delivered', 1, 1700000000000000)"))
engine.dispose()
"""


@pytest.fixture(scope="session")
def last_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last release's code, extracted from this repository's history."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        message = "the last release is read from git history: this checkout has none"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", LAST_RELEASE, "models", "services", "config.py"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        message = f"commit {LAST_RELEASE} not in this clone: {archive.stderr.decode(errors='replace')}"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    target = tmp_path_factory.mktemp("last_release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def _write_inputs(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    polls = ["store_id,status,timestamp_utc"]
    for store in ("s-1", "s-2", "S-1"):
        for hour in range(30):
            status = "active" if hour % 3 else "inactive"
            polls.append(f"{store},{status},2023-01-2{hour // 24} {hour % 24:02d}:05:00 UTC")
    (directory / "store_status.csv").write_text("\n".join(polls) + "\n")
    (directory / "menu_hours.csv").write_text("store_id,day,start_time_local,end_time_local\n"
                                              "s-1,0,09:00:00,17:00:00\ns-2,1,10:00:00,22:00:00\n")
    (directory / "timezones.csv").write_text("store_id,timezone_str\ns-1,America/Chicago\ns-2,Asia/Kolkata\n")


def _build_last_release_database(code: Path, url: str, inputs: Path) -> None:
    _write_inputs(inputs)
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", OLD_RELEASE_SCRIPT, url, str(inputs)], cwd=code, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _row_counts(engine, tables) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one() for name in tables}


def _index_names(conn, table: str) -> set[str]:
    """SQLite's from its own catalog: SQLAlchemy does not reflect an index on an expression."""
    if conn.dialect.name == "sqlite":
        return {row[1] for row in conn.exec_driver_sql(f"PRAGMA index_list({table})").all()
                if not row[1].startswith("sqlite_autoindex")}
    return {index["name"] for index in inspect(conn).get_indexes(table)}


def _schema_differences(conn) -> list:
    """What the database lacks or has beyond the models, ignoring what differs by dialect on
    purpose: MySQL's implicit indexes of foreign keys, and its layout of polls (models/poll_layout.py
    keys them by store and time instead of the models' secondary index)."""
    context = MigrationContext.configure(conn, opts={"compare_type": False})
    mysql = conn.dialect.name != "sqlite"
    # SQLite's hour index of polls is on an expression, which reflection skips: checked by name.
    unreflected = set() if mysql else _index_names(conn, "polls") & {POLLS_HOUR_INDEX}
    return [diff for diff in compare_metadata(context, Base.metadata)
            if not (isinstance(diff, tuple) and diff[0] == "remove_index")
            and not (isinstance(diff, tuple) and diff[0] == "add_index" and diff[1].table.name == "polls"
                     and (mysql or diff[1].name in unreflected))]


def test_a_last_release_database_is_upgraded_in_place(database_url: str, last_release: Path, tmp_path: Path) -> None:
    _build_last_release_database(last_release, database_url, tmp_path / "csv")
    engine = make_engine(database_url)
    try:
        old_tables = sorted(baseline_metadata().tables)
        with engine.connect() as conn:
            assert set(old_tables) <= set(inspect(conn).get_table_names())
            assert "alembic_version" not in inspect(conn).get_table_names()
        before = _row_counts(engine, old_tables)
        assert before["polls"] == 90 and before["stores"] == 3 and before["reports"] == 1
        with engine.connect() as conn:  # the baseline revision is that release's schema, exactly
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, baseline_metadata()) == []

        init_schema(engine)  # the new release starts on it

        assert _row_counts(engine, old_tables) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
            tables = set(inspect(conn).get_table_names())
            assert {"closures", "live_sequence", "poll_arrivals"} <= tables
            # New indexes on existing columns (the hand-written upgrade never made one). Polls are
            # laid out differently on MySQL (keyed by store and time, partitioned): poll_layout's.
            for table in Base.metadata.sorted_tables:
                if table.name == "polls" and engine.dialect.name != "sqlite":
                    continue
                assert {index.name for index in table.indexes} <= _index_names(conn, table.name), table.name
            assert _schema_differences(conn) == []
            assert conn.execute(text("SELECT status, shards_total FROM reports WHERE id = 'old-report'")).one() \
                == ("complete", 1)

        init_schema(engine)  # the next start: nothing to do
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


def test_an_empty_database_is_created_at_head_and_matches_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        init_schema(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
            assert _schema_differences(conn) == []
            assert "closures" in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_the_baseline_and_every_revision_give_the_models_schema(database_url: str) -> None:
    """Run from nothing through every revision (not create_all): the result is what the models
    declare, so a model change without its migration fails here."""
    from alembic import command

    from models.schema import alembic_config

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            config = alembic_config(conn)
            command.upgrade(config, "head")
            conn.commit()
        init_schema(engine)  # at head: only what every start adds after the migrations (polls' layout)
        with engine.connect() as conn:
            assert _schema_differences(conn) == []
    finally:
        engine.dispose()


def test_several_processes_starting_together_migrate_once(database_url: str, last_release: Path,
                                                          tmp_path: Path) -> None:
    """Four processes start on a last-release database at once: one adopts and upgrades it, the
    others wait for the lock and find it at head."""
    _build_last_release_database(last_release, database_url, tmp_path / "csv")
    start = ("import logging, sys; logging.basicConfig(level=logging.INFO)\n"
             "from models.db import init_schema, make_engine\n"
             "engine = make_engine(sys.argv[1]); init_schema(engine); engine.dispose()")
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    processes = [subprocess.Popen([sys.executable, "-c", start, database_url], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, outputs
    assert sum("made before schema migrations" in output for output in outputs) == 1, outputs
    assert sum("Running upgrade" in output for output in outputs) == 1, outputs
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
            assert _schema_differences(conn) == []
        assert _row_counts(engine, ["polls"]) == {"polls": 90}
    finally:
        engine.dispose()


def test_db_upgrade_and_db_current_commands(database_url: str, last_release: Path, tmp_path: Path) -> None:
    """The explicit deploy step on a last-release database, then the check a deploy script runs."""
    _build_last_release_database(last_release, database_url, tmp_path / "csv")
    env = {**{k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}, "DATABASE_URL": database_url,
           "CSV_DIR": str(tmp_path / "csv"), "REPORT_DIR": str(tmp_path / "reports"), "RELOAD_INTERVAL_SECONDS": "0"}
    upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.strip().endswith(f"made before migrations) to {head_revision()}"), upgrade.stdout
    current = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "current"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert current.returncode == 0 and current.stdout.strip() == f"database {head_revision()}, newest {head_revision()}"
    engine = make_engine(database_url)
    try:
        assert _row_counts(engine, ["polls", "reports"]) == {"polls": 90, "reports": 1}
    finally:
        engine.dispose()
