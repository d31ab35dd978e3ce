"""Access control of SPEC 8 through Flask's test client, on SQLite and MySQL: every role against
every endpoint, owner isolation (guessed report ids included), the api-key CLI."""
from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from conftest import combine_examples
from models import report_jobs
from runtime import runtime_of
from services.access import keys
from services.ingest.loader import load_directory

AS_OF = "2023-01-23T12:00:00Z"
ROLES = ("none", "unknown", "revoked", "admin", "reporter", "owner", "other_owner")


@dataclass
class Tenants:
    """A secured app with data loaded and one key per role; `headers(role)` authenticates as it."""

    app: Any
    client: Any
    secrets: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role == "none":
            return {}
        if role == "unknown":
            return {"Authorization": "Bearer " + "x" * 43}
        # Both header forms of SPEC 8, alternately.
        secret = self.secrets[role]
        return {"X-API-Key": secret} if role in ("reporter", "other_owner") else {"Authorization": f"Bearer {secret}"}

    def call(self, role: str, method: str, path: str, **kwargs: Any):
        return self.client.open(path, method=method, headers=self.headers(role), **kwargs)

    def trigger(self, role: str, **kwargs: Any) -> str:
        response = self.call(role, "POST", "/trigger_report", **kwargs)
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()["report_id"]

    def wait(self, role: str, report_id: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.call(role, "GET", f"/get_report?report_id={report_id}")
            assert response.status_code == 200, response.get_data(as_text=True)
            if response.mimetype != "application/json" or response.get_json()["status"] != "Running":
                return response
            time.sleep(0.05)
        raise AssertionError(f"report {report_id} still running after {timeout}s")


def make_tenants(config, tmp_path: Path, **overrides: Any) -> Tenants:
    settings = {"auth_required": True, "trigger_rate_limit": "1000/minute", "webhook_secret": "tenant-secret",
                "webhook_allow_private": True, **overrides}
    app = create_app(config.with_changes(**settings))
    engine = runtime_of(app).engine
    load_directory(engine, combine_examples(["ex1", "ex2", "ex3"], tmp_path / "examples"))
    tenants = Tenants(app, app.test_client())
    for role, stores in (("admin", ()), ("reporter", ()), ("owner", ("store-1", "store-3")),
                         ("other_owner", ("store-2",)), ("revoked", ())):
        info, secret = keys.create_key(engine, "owner" if "owner" in role else ("admin" if role == "revoked" else role),
                                       stores, name=f"{role} key")
        tenants.secrets[role], tenants.ids[role] = secret, info.id
    assert keys.revoke_key(engine, tenants.ids["revoked"])
    return tenants


def close_settled(app, timeout: float = 60.0) -> None:
    """Close the app once its reports have ended: a report thread still writing to a MySQL
    database that the fixture drops would retry for minutes and hold the interpreter at exit."""
    engine = runtime_of(app).engine
    deadline = time.monotonic() + timeout
    while report_jobs.unfinished(engine) and time.monotonic() < deadline:
        time.sleep(0.05)
    runtime_of(app).close()


@pytest.fixture
def tenants(config, tmp_path: Path):
    tenants = make_tenants(config, tmp_path)
    yield tenants
    close_settled(tenants.app)


def csv_stores(response) -> list[str]:
    return [row["store_id"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))]


# --------------------------------------------------------------------------------------------
# every role against every endpoint
# --------------------------------------------------------------------------------------------
DENIED = {"none": 401, "unknown": 401, "revoked": 401}
PUBLIC = {role: 200 for role in ROLES}

# (label, method, path ({admin_report} / {owner_report} filled in), request kwargs, expected statuses)
ENDPOINT_TABLE: list[tuple[str, str, str, dict[str, Any], dict[str, int]]] = [
    ("health", "GET", "/health", {}, PUBLIC),
    ("metrics", "GET", "/metrics", {}, {**DENIED, "admin": 200, "reporter": 403, "owner": 403, "other_owner": 403}),
    ("page", "GET", "/", {}, PUBLIC),
    ("openapi", "GET", "/openapi.json", {}, PUBLIC),
    ("docs", "GET", "/docs", {}, PUBLIC),
    ("static file", "GET", "/static/app.js", {}, PUBLIC),
    ("trigger POST", "POST", "/trigger_report", {"json": {"as_of": AS_OF}},
     {**DENIED, "admin": 202, "reporter": 202, "owner": 202, "other_owner": 202}),
    ("trigger GET", "GET", f"/trigger_report?as_of={AS_OF}", {},
     {**DENIED, "admin": 202, "reporter": 202, "owner": 202, "other_owner": 202}),
    ("trigger own store", "POST", "/trigger_report", {"json": {"store_id": ["store-1"]}},
     {**DENIED, "admin": 202, "reporter": 202, "owner": 202, "other_owner": 403}),
    ("trigger bad params", "POST", "/trigger_report", {"json": {"as_of": "yesterday"}},
     {**DENIED, "admin": 400, "reporter": 400, "owner": 400, "other_owner": 400}),
    ("get_report admin's", "GET", "/get_report?report_id={admin_report}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 404, "other_owner": 404}),
    ("get_report owner's", "GET", "/get_report/{owner_report}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("get_report missing id", "GET", "/get_report", {},
     {**DENIED, "admin": 400, "reporter": 400, "owner": 400, "other_owner": 400}),
    ("report status owner's", "GET", "/reports/{owner_report}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("report status admin's", "GET", "/reports/{admin_report}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 404, "other_owner": 404}),
    ("report list", "GET", "/reports", {}, {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 200}),
    ("schedule create", "POST", "/schedules", {"json": {"cron": "0 6 * * *"}},
     {**DENIED, "admin": 201, "reporter": 201, "owner": 201, "other_owner": 201}),
    ("schedule other's store", "POST", "/schedules", {"json": {"cron": "0 6 * * *", "params": {"store_id": "store-1"}}},
     {**DENIED, "admin": 201, "reporter": 201, "owner": 201, "other_owner": 403}),
    ("schedule list", "GET", "/schedules", {}, {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 200}),
    ("schedule admin's", "GET", "/schedules/{admin_schedule}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 404, "other_owner": 404}),
    ("schedule owner's", "GET", "/schedules/{owner_schedule}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("schedule delete admin's", "DELETE", "/schedules/{admin_schedule}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 404, "other_owner": 404}),
    ("schedule delete owner's", "DELETE", "/schedules/{owner_schedule}", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("availability own store", "GET", "/stores/store-1/availability?to=2023-01-23T12:00:00Z", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("availability bad range", "GET", "/stores/store-1/availability?last_hours=abc", {},
     {**DENIED, "admin": 400, "reporter": 400, "owner": 400, "other_owner": 400}),
    ("closure create own store", "POST", "/stores/store-1/closures",
     {"json": {"start": "2023-01-20T09:00", "end": "2023-01-20T12:00", "reason": "inventory"}},
     {**DENIED, "admin": 201, "reporter": 201, "owner": 201, "other_owner": 404}),
    ("closure list own store", "GET", "/stores/store-1/closures", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("closure delete unknown", "DELETE", "/stores/store-1/closures/" + "0" * 32, {},
     {**DENIED, "admin": 404, "reporter": 404, "owner": 404, "other_owner": 404}),
    ("live status own store", "GET", "/stores/store-1/status", {},
     {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 404}),
    ("live status list", "GET", "/stores/status", {}, {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 200}),
    ("alert create", "POST", "/alerts", {"json": {"webhook_url": "http://127.0.0.1:9/hook", "store_id": ["store-1"]}},
     {**DENIED, "admin": 201, "reporter": 201, "owner": 201, "other_owner": 403}),
    ("alert list", "GET", "/alerts", {}, {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 200}),
    ("alert unknown", "GET", "/alerts/" + "0" * 32, {}, {**DENIED, "admin": 404, "reporter": 404, "owner": 404, "other_owner": 404}),
    ("alert delete unknown", "DELETE", "/alerts/" + "0" * 32, {},
     {**DENIED, "admin": 404, "reporter": 404, "owner": 404, "other_owner": 404}),
    ("event stream", "GET", "/events", {}, {**DENIED, "admin": 200, "reporter": 200, "owner": 200, "other_owner": 200}),
    # (a poll that ex1 already holds: the request is judged, and the data stays as it is)
    ("live polls", "POST", "/polls",
     {"json": [{"store_id": "store-1", "status": "active", "timestamp_utc": "2023-01-23 10:14:00 UTC"}]},
     {**DENIED, "admin": 200, "reporter": 403, "owner": 403, "other_owner": 403}),
    ("unknown path", "GET", "/no-such-thing", {}, {**DENIED, "admin": 404, "reporter": 404, "owner": 404, "other_owner": 404}),
    ("wrong method", "DELETE", "/trigger_report", {}, {**DENIED, "admin": 405, "reporter": 405, "owner": 405, "other_owner": 405}),
]


def test_table_covers_every_route(app) -> None:
    """A new route must get a row in ENDPOINT_TABLE (and in the OpenAPI document)."""
    from controllers.openapi import app_operations

    def as_route(path: str) -> str:
        path = path.split("?")[0].replace("{admin_report}", "{report_id}").replace("{owner_report}", "{report_id}")
        path = path.replace("{admin_schedule}", "{schedule_id}").replace("{owner_schedule}", "{schedule_id}")
        path = path.replace("/alerts/" + "0" * 32, "/alerts/{alert_id}")
        path = path.replace("/closures/" + "0" * 32, "/closures/{closure_id}")
        return path.replace("/stores/store-1/", "/stores/{store_id}/")

    covered = {(as_route(p), m.lower()) for _, m, p, _, _ in ENDPOINT_TABLE}
    missing = sorted(app_operations(app) - covered)
    assert missing == [], f"routes without a row in ENDPOINT_TABLE: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_endpoint(tenants: Tenants, role: str) -> None:
    admin_report = tenants.trigger("admin", json={"as_of": AS_OF})
    owner_report = tenants.trigger("owner", json={"as_of": AS_OF})
    admin_schedule, owner_schedule = (
        tenants.call(role, "POST", "/schedules", json={"cron": "0 6 * * *"}).get_json()["schedule_id"]
        for role in ("admin", "owner"))
    mismatches = []
    for label, method, path, kwargs, expected in ENDPOINT_TABLE:
        url = path.format(admin_report=admin_report, owner_report=owner_report,
                          admin_schedule=admin_schedule, owner_schedule=owner_schedule)
        response = tenants.call(role, method, url, **kwargs)
        if response.status_code != expected[role]:
            mismatches.append(f"{label}: {method} {url} -> {response.status_code}, expected {expected[role]}")
            continue
        if response.status_code >= 400:
            assert response.mimetype == "application/json" and "error" in response.get_json(), label
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), label
    assert mismatches == []


# --------------------------------------------------------------------------------------------
# owner isolation
# --------------------------------------------------------------------------------------------
def test_owner_reports_contain_only_its_stores(tenants: Tenants) -> None:
    everything = tenants.wait("owner", tenants.trigger("owner", json={"as_of": AS_OF}))
    assert csv_stores(everything) == ["store-1", "store-3"]
    one = tenants.wait("owner", tenants.trigger("owner", query_string={"store_id": "store-3", "as_of": AS_OF}))
    assert csv_stores(one) == ["store-3"]
    admin = tenants.wait("admin", tenants.trigger("admin", json={"as_of": AS_OF}))
    assert csv_stores(admin) == ["store-1", "store-2", "store-3"]


@pytest.mark.parametrize("how", ["json", "query", "form", "plural", "mixed"])
def test_owner_naming_another_store_is_403_and_creates_nothing(tenants: Tenants, how: str) -> None:
    engine = runtime_of(tenants.app).engine
    before = len(report_jobs.recent(engine, 200))
    kwargs: dict[str, Any] = {
        "json": {"json": {"store_id": "store-2"}},
        "query": {"query_string": {"store_id": "store-2"}},
        "form": {"data": {"store_id": "store-2"}},
        "plural": {"json": {"store_ids": ["store-1", "store-2"]}},
        "mixed": {"json": {"store_id": ["store-1", "store-2", "store-404"]}},
    }[how]
    response = tenants.call("owner", "POST", "/trigger_report", **kwargs)
    assert response.status_code == 403 and "store-2" in response.get_json()["error"]
    assert len(report_jobs.recent(engine, 200)) == before


def test_guessed_report_ids_of_another_tenant_are_unknown(tenants: Tenants) -> None:
    others = [tenants.trigger(role, json={"as_of": AS_OF}) for role in ("admin", "reporter", "other_owner")]
    own = tenants.trigger("owner", json={"as_of": AS_OF})
    unknown = tenants.call("owner", "GET", "/get_report?report_id=doesnotexist0000")
    assert unknown.status_code == 404
    for report_id in others:
        for url in (f"/get_report?report_id={report_id}", f"/get_report?repid={report_id}",
                    f"/get_report/{report_id}", f"/reports/{report_id}"):
            response = tenants.call("owner", "GET", url)
            # Exactly the answer of an id that does not exist: nothing tells the tenant it is real.
            assert (response.status_code, response.get_json()) == (404, unknown.get_json()), url
    listed = tenants.call("owner", "GET", "/reports?limit=200").get_json()["reports"]
    assert [r["report_id"] for r in listed] == [own]
    assert {r["report_id"] for r in tenants.call("reporter", "GET", "/reports?limit=200").get_json()["reports"]} == {*others, own}


def test_owner_schedules_are_scoped_and_isolated(tenants: Tenants) -> None:
    made = tenants.call("owner", "POST", "/schedules", json={"cron": "*/5 * * * *"})
    assert made.status_code == 201
    schedule_id = made.get_json()["schedule_id"]
    shown = tenants.call("owner", "GET", f"/schedules/{schedule_id}").get_json()
    assert shown["params"]["store_ids"] == ["store-1", "store-3"]  # narrowed to its stores when made
    refused = tenants.call("owner", "POST", "/schedules", json={"cron": "0 6 * * *", "params": {"store_id": ["store-2"]}})
    assert refused.status_code == 403
    theirs = tenants.call("other_owner", "POST", "/schedules", json={"cron": "0 6 * * *"}).get_json()["schedule_id"]
    assert [s["schedule_id"] for s in tenants.call("owner", "GET", "/schedules").get_json()["schedules"]] == [schedule_id]
    for method in ("GET", "DELETE"):
        assert tenants.call("owner", method, f"/schedules/{theirs}").status_code == 404
    assert tenants.call("other_owner", "GET", f"/schedules/{theirs}").status_code == 200


def test_scheduled_reports_carry_the_schedule_key(tenants: Tenants) -> None:
    from services.schedules import catalog
    from services.schedules.scheduler import report_starter
    from models import schedules as schedule_rows

    runtime = runtime_of(tenants.app)
    schedule_id = tenants.call("owner", "POST", "/schedules", json={"cron": "0 6 * * *"}).get_json()["schedule_id"]
    report_id = report_starter(runtime.runner)(schedule_rows.get(runtime.engine, schedule_id))
    report = report_jobs.get(runtime.engine, report_id)
    assert report is not None and report.api_key_id == tenants.ids["owner"]
    assert tenants.call("owner", "GET", f"/reports/{report_id}").status_code == 200
    assert tenants.call("other_owner", "GET", f"/reports/{report_id}").status_code == 404
    assert catalog.describe(runtime.engine, schedule_id, runtime.clock()) is not None


def test_owner_sees_only_its_stores_availability(tenants: Tenants) -> None:
    query = "?from=2023-01-16T12:00:00Z&to=2023-01-23T12:00:00Z"
    own = tenants.call("owner", "GET", f"/stores/store-1/availability{query}")
    assert own.status_code == 200 and own.get_json()["store_id"] == "store-1"
    other = tenants.call("owner", "GET", f"/stores/store-2/availability{query}")
    missing = tenants.call("owner", "GET", f"/stores/store-404/availability{query}")
    # Another tenant's store answers exactly like a store that does not exist.
    assert other.status_code == missing.status_code == 404
    assert other.get_json()["error"].replace("store-2", "X") == missing.get_json()["error"].replace("store-404", "X")
    assert tenants.call("reporter", "GET", f"/stores/store-2/availability{query}").status_code == 200


def test_reports_record_the_key_that_made_them(tenants: Tenants) -> None:
    engine = runtime_of(tenants.app).engine
    for role in ("admin", "reporter", "owner"):
        report = report_jobs.get(engine, tenants.trigger(role))
        assert report is not None and report.api_key_id == tenants.ids[role]


def test_revocation_takes_effect_on_the_next_request(tenants: Tenants) -> None:
    assert tenants.call("reporter", "GET", "/reports").status_code == 200
    assert keys.revoke_key(runtime_of(tenants.app).engine, tenants.ids["reporter"])
    response = tenants.call("reporter", "GET", "/reports")
    assert response.status_code == 401 and response.get_json() == {"error": "unknown or revoked API key"}


def test_auth_off_is_open_but_a_presented_key_still_scopes(config, tmp_path: Path) -> None:
    tenants = make_tenants(config, tmp_path, auth_required=False)
    try:
        assert tenants.call("none", "GET", "/reports").status_code == 200
        assert tenants.call("none", "POST", "/trigger_report").status_code == 202
        assert tenants.call("owner", "POST", "/trigger_report", json={"store_id": "store-2"}).status_code == 403
        assert tenants.call("unknown", "GET", "/reports").status_code == 401
    finally:
        close_settled(tenants.app)


def test_auth_required_defaults_by_host(config) -> None:
    assert not config.with_changes(host="127.0.0.1").auth_is_required
    assert config.with_changes(host="0.0.0.0").auth_is_required
    assert not config.with_changes(host="0.0.0.0", auth_required=False).auth_is_required


# --------------------------------------------------------------------------------------------
# the api-key CLI
# --------------------------------------------------------------------------------------------
def test_api_key_cli_create_list_revoke(app) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api-key", "create", "--role", "owner", "--store-id", "store-1",
                                  "--store-id", "store-2", "--name", "Pizza Co"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert len(secret) >= 40 and " " not in secret
    principal = keys.authenticate(runtime_of(app).engine, secret)
    assert principal is not None and principal.role == "owner"
    assert principal.store_ids == frozenset({"store-1", "store-2"})

    listed = runner.invoke(args=["api-key", "list"])
    assert listed.exit_code == 0 and secret not in listed.output
    key_id, name, role, stores, created_at = listed.output.strip().split("\t")
    assert (key_id, name, role, stores) == (principal.key_id, "Pizza Co", "owner", "store-1,store-2")
    assert created_at.startswith("20")
    # Only the hash is stored.
    with runtime_of(app).engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalar_one()
    assert stored == keys.hash_key(secret) and secret not in stored

    revoked = runner.invoke(args=["api-key", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    assert keys.authenticate(runtime_of(app).engine, secret) is None
    assert "\trevoked " in runner.invoke(args=["api-key", "list"]).output
    assert runner.invoke(args=["api-key", "revoke", key_id]).exit_code != 0


@pytest.mark.parametrize("args", [
    ["--role", "owner"],  # an owner without stores
    ["--role", "admin", "--store-id", "store-1"],  # stores are for owners only
    ["--role", "root"],
])
def test_api_key_cli_refuses_bad_keys(app, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=["api-key", "create", *args])
    assert result.exit_code != 0
    assert keys.list_keys(runtime_of(app).engine) == []
