"""SPEC 8 across real `python app.py` processes: a revocation is seen by every process at once,
the rate limit is one count shared through Redis, and a secured start without keys says what to do."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import redis

from app import create_app
from config import Config
from conftest import IN_CI
from test_access import close_settled
from runtime import runtime_of
from support.server import ROOT, ServerProcess
from services.access import keys

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    servers: list[ServerProcess] = []

    def _launch(env: dict[str, Any], name: str) -> ServerProcess:
        server = ServerProcess({k: str(v) for k, v in env.items()}, tmp_path / f"{name}.log", name=name)
        servers.append(server)
        return server.start()

    yield _launch
    for server in servers:
        server.cleanup()
        print(server.logs_tail(60))


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL


def make_key(database_url: str, tmp_path: Path, role: str = "reporter") -> tuple[str, str]:
    """A key made in the test process, straight in the shared database: (id, secret)."""
    app = create_app(Config(database_url=database_url, report_dir=tmp_path / "reports", reload_interval_seconds=0))
    try:
        info, secret = keys.create_key(runtime_of(app).engine, role, name="test")
        return info.id, secret
    finally:
        runtime_of(app).close()


def flask_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_revocation_is_seen_by_every_process(launch, database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "AUTH_REQUIRED": "true", "REPORT_DIR": tmp_path / "reports",
           "CSV_DIR": tmp_path / "csv"}
    (tmp_path / "csv").mkdir()
    first, second = launch(env, "first"), launch(env, "second")
    created = flask_cli(database_url, "api-key", "create", "--role", "reporter", "--name", "bi job")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    key_id = flask_cli(database_url, "api-key", "list").stdout.strip().split("\t")[0]
    auth = {"Authorization": f"Bearer {secret}"}
    for server in (first, second):
        assert server.get("/reports", headers=auth).status == 200
    # Both processes have just used the key; the revocation must still reach both at once.
    revoked = flask_cli(database_url, "api-key", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    for server in (second, first):
        answer = server.get("/reports", headers={"X-API-Key": secret})
        assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json() == {"error": "unknown or revoked API key"}


def test_rate_limit_is_shared_by_processes_through_redis(launch, redis_url: str, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    key_id, secret = make_key(database_url, tmp_path)
    _, other_secret = make_key(database_url, tmp_path)
    (tmp_path / "csv").mkdir()
    env = {"DATABASE_URL": database_url, "AUTH_REQUIRED": "true", "TRIGGER_RATE_LIMIT": "4/minute",
           "RATE_LIMIT_STORAGE_URL": redis_url, "REPORT_DIR": tmp_path / "reports", "CSV_DIR": tmp_path / "csv"}
    servers = [launch(env, "first"), launch(env, "second")]
    auth = {"Authorization": f"Bearer {secret}"}
    statuses = [servers[i % 2].post("/trigger_report", headers=auth).status for i in range(4)]
    assert statuses == [202] * 4
    for server in servers:  # the fifth and sixth, on either process, are over the one shared budget
        refused = server.post("/trigger_report", headers=auth)
        assert refused.status == 429, refused.body
        assert "rate limit" in refused.json()["error"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the window, rounded up
    # Reading is not limited, and the budget is per key.
    assert servers[0].get("/reports", headers=auth).status == 200
    assert servers[1].post("/trigger_report", headers={"X-API-Key": other_secret}).status == 202


def test_rate_limit_per_client_address_when_auth_is_off(config) -> None:
    app = create_app(config.with_changes(auth_required=False, trigger_rate_limit="2/minute"))
    try:
        client = app.test_client()
        statuses = [client.get("/trigger_report").status_code for _ in range(3)]
        assert statuses == [202, 202, 429]
        other = client.get("/trigger_report", environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert other.status_code == 202
    finally:
        close_settled(app)


def test_secured_start_without_keys_says_how_to_make_one(launch, tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    server = launch({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "AUTH_REQUIRED": "true",
                     "CSV_DIR": tmp_path / "csv", "REPORT_DIR": tmp_path / "reports"}, "secured")
    assert "flask --app app api-key create --role admin" in server.logs()
    answer = server.get("/reports")
    assert answer.status == 401 and answer.json()["error"].startswith("an API key is required")
    assert server.get("/health").status == 200 and server.get("/openapi.json").status == 200
