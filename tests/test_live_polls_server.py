"""`POST /polls` on a real `python app.py` (SQLite and MySQL) with AUTH_REQUIRED: the new role
`ingest` may send polls and do nothing else; reporter and owner keys may not send polls; the
answer over real HTTP (JSON and NDJSON, a full 10,000-poll request); `api-key create --role ingest`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from app import create_app
from config import Config
from runtime import runtime_of
from services.access import keys
from support.server import ServerProcess


@pytest.fixture
def secured(database_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    """A secured server and one key per role (made in the shared database before it starts)."""
    app = create_app(Config(database_url=database_url, report_dir=tmp_path / "reports", reload_interval_seconds=0))
    secrets: dict[str, str] = {}
    try:
        engine = runtime_of(app).engine
        for role in ("admin", "reporter", "owner", "ingest"):
            _, secrets[role] = keys.create_key(engine, role, ("store-1",) if role == "owner" else (), name=role)
        runner = app.test_cli_runner()
        made = runner.invoke(args=["api-key", "create", "--role", "ingest", "--name", "feed"])
        assert made.exit_code == 0, made.output
        secrets["ingest_cli"] = made.output.strip().splitlines()[-1]
        listed = runner.invoke(args=["api-key", "list"]).output
        assert "\tfeed\tingest\t*\t" in listed
        refused = runner.invoke(args=["api-key", "create", "--role", "ingest", "--store-id", "s"])
        assert refused.exit_code != 0 and "only for owner keys" in refused.output
    finally:
        runtime_of(app).close()
    (tmp_path / "csv").mkdir()
    server = ServerProcess({"DATABASE_URL": database_url, "AUTH_REQUIRED": "true", "CSV_DIR": str(tmp_path / "csv"),
                            "REPORT_DIR": str(tmp_path / "reports")}, tmp_path / "server.log")
    try:
        server.start()
        yield server, secrets
    finally:
        server.cleanup()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


POLLS = [{"store_id": "store-1", "status": "active", "timestamp_utc": "2023-01-22 12:00:00 UTC"},
         {"store_id": "store-2", "status": "inactive", "timestamp_utc": "2023-01-22T12:00:00Z"},
         {"store_id": "store-2", "status": "sleeping", "timestamp_utc": "2023-01-22T12:00:00Z"}]


def test_only_ingest_and_admin_keys_may_send_polls_and_ingest_keys_nothing_else(secured) -> None:
    server, secrets = secured
    answer = server.post("/polls", json_body=POLLS, headers=bearer(secrets["ingest"]))
    assert answer.status == 200, answer.body
    assert answer.json() == {"accepted": 2, "duplicates": 0,
                             "rejected": [{"index": 2, "reason": "unknown status 'sleeping'"}]}
    answer = server.post("/polls", json_body=POLLS[:2], headers={"X-API-Key": secrets["ingest_cli"]})
    assert answer.status == 200 and answer.json()["duplicates"] == 2
    assert server.post("/polls", json_body=POLLS[:1], headers=bearer(secrets["admin"])).json()["duplicates"] == 1

    for role in ("reporter", "owner"):
        answer = server.post("/polls", json_body=POLLS, headers=bearer(secrets[role]))
        assert answer.status == 403 and "ingest" in answer.json()["error"], (role, answer.body)
    answer = server.post("/polls", json_body=POLLS)
    assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    answer = server.post("/polls", json_body=POLLS, headers=bearer("x" * 43))
    assert answer.status == 401

    ingest = bearer(secrets["ingest"])
    for method, path, body in (("GET", "/reports", None), ("POST", "/trigger_report", {}),
                               ("GET", "/get_report?report_id=abc", None),
                               ("GET", "/stores/store-1/availability", None),
                               ("GET", "/schedules", None), ("POST", "/schedules", {"cron": "0 6 * * *"})):
        answer = server.request(method, path, json_body=body, headers=ingest)
        assert answer.status == 403, (method, path, answer.status, answer.body[:200])
    # Public pages stay public.
    assert server.get("/health", headers=ingest).status in (200, 503)
    assert server.get("/openapi.json").status == 200


def test_json_and_ndjson_over_real_http(secured) -> None:
    server, secrets = secured
    polls = [{"store_id": f"{i:08x}-4f1c-4c3e-9a6b-{i:012x}", "status": "inactive" if i % 5 == 0 else "active",
              "timestamp_utc": f"2023-01-22 12:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i:06d} UTC"}
             for i in range(10_000)]
    answer = server.post("/polls", json_body=polls, headers=bearer(secrets["ingest"]))
    assert answer.status == 200 and answer.json() == {"accepted": 10_000, "duplicates": 0, "rejected": []}
    ndjson = "\n".join(json.dumps(p) for p in polls[:50]) + "\n" + json.dumps({"store_id": "x"}) + "\n"
    answer = server.post("/polls", body=ndjson.encode(),
                         headers={**bearer(secrets["ingest"]), "Content-Type": "application/x-ndjson"})
    assert answer.status == 200 and answer.json() == {
        "accepted": 0, "duplicates": 50, "rejected": [{"index": 50, "reason": "missing status, timestamp_utc"}]}
    answer = server.post("/polls", body=b"[1,",
                         headers={**bearer(secrets["ingest"]), "Content-Type": "application/json"})
    assert answer.status == 400 and answer.content_type == "application/json"
    assert "not valid JSON" in answer.json()["error"]
