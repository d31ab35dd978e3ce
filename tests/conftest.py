"""Shared fixtures: a real database per test (SQLite file or a throw-away MySQL database)."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from config import Config  # noqa: E402
from runtime import Runtime, runtime_of  # noqa: E402

DATA = ROOT / "data"
SPEC_EXAMPLES = DATA / "spec_examples"
REAL_2023 = DATA / "loop_sample" / "2023"
MYSQL_SERVER_URL = os.environ.get("MYSQL_TEST_URL", "mysql+pymysql://root@127.0.0.1:3306")
IN_CI = os.environ.get("CI", "").lower() == "true"

# CI replays the same Hypothesis examples every run, so a landing never depends on luck; local
# runs keep exploring new ones (and print the blob to reproduce any failure).
# No per-example deadline and no "too slow" health check: on two cores shared with other work an
# example's time says nothing about the code.
_LOAD_TOLERANT = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, print_blob=True, **_LOAD_TOLERANT)
settings.register_profile("dev", print_blob=True, **_LOAD_TOLERANT)
settings.load_profile("ci" if IN_CI else "dev")


def _mysql_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"MySQL is required in CI but unavailable: {reason}")
    pytest.skip(f"no MySQL server: {reason}")


@pytest.fixture(scope="session")
def mysql_admin_engine():
    engine = create_engine(MYSQL_SERVER_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect means the same thing here
        engine.dispose()
        _mysql_unavailable(str(exc).splitlines()[0])
    yield engine
    engine.dispose()


@pytest.fixture
def mysql_url(request: pytest.FixtureRequest) -> Iterator[str]:
    admin = request.getfixturevalue("mysql_admin_engine")
    name = f"sm_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    yield make_url(MYSQL_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store_monitor.sqlite'}"
    return request.getfixturevalue("mysql_url")


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Config:
    (tmp_path / "csv").mkdir(exist_ok=True)
    return Config(
        database_url=database_url,
        csv_dir=tmp_path / "csv",
        report_dir=tmp_path / "reports",
        reload_interval_seconds=0,
        report_workers=2,
    )


@pytest.fixture
def app(config: Config):
    app = create_app(config)
    yield app
    runtime_of(app).close()


@pytest.fixture
def runtime(app) -> Runtime:
    return runtime_of(app)


@pytest.fixture
def client(app):
    return app.test_client()


def write_inputs(directory: Path, polls: str | None = None, hours: str | None = None, zones: str | None = None,
                 hours_name: str = "menu_hours.csv", zones_name: str = "timezones.csv") -> Path:
    """Write the given CSV texts (header included) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (("store_status.csv", polls), (hours_name, hours), (zones_name, zones)):
        if content is not None:
            (directory / name).write_text(content, encoding="utf-8")
    return directory


def combine_examples(names: list[str], target: Path) -> Path:
    """One input folder holding the stores of several worked examples (SPEC 2.6)."""
    target.mkdir(parents=True, exist_ok=True)
    for file_name in ("store_status.csv", "menu_hours.csv", "timezones.csv"):
        parts = [(SPEC_EXAMPLES / n / file_name).read_text().splitlines() for n in names]
        lines = parts[0][:1] + [line for part in parts for line in part[1:] if line.strip()]
        (target / file_name).write_text("\n".join(lines) + "\n")
    return target
