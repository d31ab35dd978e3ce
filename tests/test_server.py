"""End-to-end tests against a real `python app.py` process, over HTTP, on SQLite and MySQL.

test_api.py checks the same contract through Flask's test client inside the test process;
these tests check what only a real server shows (SPEC sections 3 and 4): waitress answering
while the start-up load runs, report ids that survive a restart and a SIGKILL, reports that stay
consistent while a reload commits, and a database that is unreachable or goes away and comes
back. Each server's stdout/stderr goes to a log file whose tail is printed at teardown (pytest
shows it only when the test failed).
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from conftest import IN_CI, SPEC_EXAMPLES, combine_examples
from support.server import ROOT, HttpResponse, ServerProcess, free_port, port_open
from support.waiting import wait_until

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
          "downtime_last_hour,downtime_last_day,downtime_last_week")
DATA_END = datetime(2023, 1, 25, 18, 0, tzinfo=timezone.utc)  # the generated data's last poll
DATA_END_ISO = "2023-01-25T18:00:00Z"
MARIADBD = Path("/usr/sbin/mariadbd")
LEASE_SECONDS = 3  # JOB_LEASE_SECONDS of the tests that wait for a lease to run out
LOG_PROBLEMS = ("database is locked", "Traceback", "--- Logging error ---", "Deadlock", "Lock wait timeout")


# --------------------------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------------------------
@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers for one test; all are killed and their log tails printed at teardown."""
    servers: list[ServerProcess] = []

    def _launch(env: dict[str, Any], name: str = "server", start: bool = True, **kwargs: Any) -> ServerProcess:
        server = ServerProcess({k: str(v) for k, v in env.items()}, tmp_path / f"{name}-{len(servers)}.log",
                               name=name, **kwargs)
        servers.append(server)
        if start:
            server.start()
        return server

    yield _launch
    for server in servers:
        server.cleanup()
        print(server.logs_tail(150))


def assert_clean_logs(server: ServerProcess, allowed: tuple[str, ...] = ()) -> None:
    logs = server.logs()
    for problem in LOG_PROBLEMS:
        if problem not in allowed:
            assert problem not in logs, f"{problem!r} in the log of {server.name}"


def unexpected_tracebacks(logs: str) -> list[str]:
    """Tracebacks in a log, less those SQLAlchemy's pool logs itself when it drops a connection
    to a server that went away ("Exception during reset or similar"): handled, and expected in
    an outage."""
    lines = logs.splitlines()
    return [lines[i - 1] if i else "" for i, line in enumerate(lines)
            if line.startswith("Traceback") and not (i and "Exception during reset or similar" in lines[i - 1])]


def run_cli(database_url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`flask --app app ...` in its own process, as an operator would run it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CSV_DIR", "REPORT_DIR")}
    env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def generate(target: Path, stores: int, days: float, seed: int = 7) -> Path:
    script = ROOT / "scripts" / "generate_data.py"
    subprocess.run([sys.executable, str(script), "--out", str(target), "--stores", str(stores), "--days", str(days),
                    "--end", DATA_END_ISO, "--seed", str(seed)], check=True, capture_output=True, timeout=120)
    return target


@pytest.fixture(scope="session")
def big_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2000 stores, 7 days (~240k polls): a start-up load that takes seconds."""
    return generate(tmp_path_factory.mktemp("big") / "csv", stores=2000, days=7)


@pytest.fixture(scope="session")
def medium_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 stores, 3 days: reports take a noticeable fraction of a second."""
    return generate(tmp_path_factory.mktemp("medium") / "csv", stores=500, days=3)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("small") / "csv", stores=200, days=7)


def csv_rows(response: HttpResponse) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


def assert_complete_csv(response: HttpResponse, report_id: str | None = None) -> None:
    assert response.status == 200, (response.status, response.body[:300])
    assert response.content_type == "text/csv", response.headers
    assert response.headers["X-Report-Status"] == "Complete"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename=" in disposition
    assert disposition.rstrip('"').endswith(".csv"), disposition
    if report_id is not None:
        assert report_id in disposition
    assert response.text.split("\n", 1)[0] == HEADER


def assert_json_error(response: HttpResponse, status: int) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body[:300])
    assert not response.is_html(), response.body[:300]
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def health(server: ServerProcess) -> dict[str, Any]:
    response = server.get("/health", timeout=10)
    assert response.status in (200, 503), response.status
    return response.json()


def wait_loaded(server: ServerProcess, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the start-up load has finished and changed the data."""
    def loaded() -> dict[str, Any] | None:
        body = health(server)
        done = body.get("status") == "ok" and body.get("data_version", 0) >= 1 and not body["reload"]["running"]
        return body if done else None
    return wait_until(loaded, timeout, f"the start-up load of {server.name}")


def wait_first_load(server: ServerProcess, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until /health stops saying "loading" (the start-up load finished, whatever it found)."""
    def settled() -> dict[str, Any] | None:
        body = health(server)
        return body if body.get("status") != "loading" else None
    return wait_until(settled, timeout, f"the start-up load of {server.name} to finish")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def report_state(server: ServerProcess, report_id: str) -> str:
    response = server.get(f"/reports/{report_id}")
    assert response.status == 200, response.body[:300]
    return response.json()["state"]


# --------------------------------------------------------------------------------------------
# 1. the contract of SPEC section 3 over real HTTP
# --------------------------------------------------------------------------------------------
def test_http_contract(database_url: str, tmp_path: Path, launch) -> None:
    empty = tmp_path / "csv"
    empty.mkdir()
    env = {"DATABASE_URL": database_url, "CSV_DIR": empty, "REPORT_DIR": tmp_path / "reports",
           "REPORT_WORKERS": 1}
    server = launch(env, name="contract")
    responses: list[HttpResponse] = []

    def call(method: str, path: str, **kwargs: Any) -> HttpResponse:
        response = server.request(method, path, **kwargs)
        responses.append(response)
        return response

    # /health says "loading" until the start-up load of the (empty) folder has finished.
    first_health = wait_first_load(server)
    assert first_health["status"] == "ok" and first_health["polls"] == 0
    assert f"listening on http://127.0.0.1:{server.port}" in server.logs()

    # Nothing loaded yet: the report fails and says why.
    failed_id = server.trigger()
    failed = server.wait_report(failed_id)
    assert failed.status == 200 and failed.content_type == "application/json"
    body = failed.json()
    assert body["status"] == "Failed" and body["report_id"] == failed_id
    assert "no polls" in body["error"]

    # Load the worked examples from another process, like an operator would.
    examples = combine_examples(["ex1", "ex2", "ex3"], tmp_path / "examples")
    loaded = run_cli(database_url, "load-data", "--dir", str(examples))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr

    # Each example through a different way of passing the parameters; values of SPEC 2.6.
    as_of = {n: (SPEC_EXAMPLES / n / "as_of").read_text().strip() for n in ("ex1", "ex2", "ex3")}
    get = call("GET", "/trigger_report", query=[("as_of", as_of["ex1"]), ("store_id", "store-1")])
    post_json = call("POST", "/trigger_report", json_body={"as_of": as_of["ex2"], "store_id": ["store-2"]})
    post_form = call("POST", "/trigger_report", form={"as_of": as_of["ex3"], "store_id": "store-3"})
    ids = {}
    for name, response in (("ex1", get), ("ex2", post_json), ("ex3", post_form)):
        assert response.status == 202 and response.content_type == "application/json"
        body = response.json()
        assert body["status"] == "Running" and isinstance(body["report_id"], str) and len(body["report_id"]) >= 16
        ids[name] = body["report_id"]
    assert len(set(ids.values())) == 3
    for name, report_id in ids.items():
        done = server.wait_report(report_id)
        responses.append(done)
        assert_complete_csv(done, report_id)
        expected = list(csv.DictReader(open(SPEC_EXAMPLES / name / "expected.csv")))
        got = csv_rows(done)
        assert [r["store_id"] for r in got] == [r["store_id"] for r in expected]
        for got_row, want_row in zip(got, expected):
            for column in HEADER.split(",")[1:]:
                assert float(got_row[column]) == pytest.approx(float(want_row[column]), abs=0.006), (name, column)
        # the three ways of asking give the same file and headers
        for path in (f"/get_report?repid={report_id}", f"/get_report/{report_id}"):
            again = call("GET", path)
            assert_complete_csv(again, report_id)
            assert again.body == done.body

    # A whole-data report: all three stores, sorted.
    full_id = server.trigger(json_body={"as_of": as_of["ex1"]})
    full = server.wait_report(full_id)
    assert_complete_csv(full, full_id)
    assert [r["store_id"] for r in csv_rows(full)] == ["store-1", "store-2", "store-3"]

    # Running JSON while pending: one worker, a burst of reports with distinct as_of values, so the
    # last ones wait behind the others (retried if the machine was fast enough to finish them all).
    seen_running = None
    burst_ids: list[str] = []
    for attempt in range(4):
        size = 12 * (attempt + 1)
        moments = [iso(datetime(2023, 1, 20, tzinfo=timezone.utc) + timedelta(minutes=attempt * 1000 + i))
                   for i in range(size)]
        with ThreadPoolExecutor(size) as pool:
            new_ids = list(pool.map(lambda m: server.trigger(json_body={"as_of": m}), moments))
        burst_ids += new_ids
        for report_id in reversed(new_ids):
            response = call("GET", "/get_report", query={"report_id": report_id})
            if response.content_type == "application/json" and response.json()["status"] == "Running":
                seen_running = response
                break
        if seen_running is not None:
            break
    assert seen_running is not None, "never saw a report still Running"
    print(f"saw a Running report after {attempt + 1} burst(s) of triggers")
    body = seen_running.json()
    assert seen_running.status == 200 and body["status"] == "Running" and body["report_id"] in burst_ids
    assert 0 <= body.get("progress", 0) <= 1
    for report_id in burst_ids:
        assert_complete_csv(server.wait_report(report_id), report_id)

    # Errors: JSON, right status, no report created by a bad request.
    count_before = len(server.get("/reports", query={"limit": 200}).json()["reports"])
    for query in ({"as_of": "yesterday"}, {"as_of": "2023-13-45T00:00:00Z"}, {"store_id": ""},
                  [("as_of", "2023-01-01T00:00:00Z"), ("as_of", "2023-01-02T00:00:00Z")]):
        assert_json_error(call("POST", "/trigger_report", query=query), 400)
    assert_json_error(call("POST", "/trigger_report", body=b"{not json",
                           headers={"Content-Type": "application/json"}), 400)
    assert len(server.get("/reports", query={"limit": 200}).json()["reports"]) == count_before
    for path in ("/get_report?report_id=doesnotexist", "/get_report?repid=doesnotexist",
                 "/get_report/doesnotexist", "/get_report?report_id=..%2F..%2Fapp.py"):
        assert_json_error(call("GET", path), 404)
    for path in ("/get_report", "/get_report?report_id=", "/get_report?repid="):
        assert_json_error(call("GET", path), 400)
    assert_json_error(call("GET", "/no/such/route"), 404)
    assert_json_error(call("GET", "/trigger_report/extra"), 404)
    assert_json_error(call("DELETE", "/trigger_report"), 405)
    assert {"GET", "POST"} <= {m.strip() for m in responses[-1].headers["Allow"].split(",")}
    assert_json_error(call("POST", "/get_report"), 405)
    assert_json_error(call("PUT", "/health"), 405)
    assert_json_error(call("POST", "/trigger_report", body=b"x" * 2_000_000,
                           headers={"Content-Type": "application/json"}), 413)

    # No HTML anywhere in the API's answers.
    for response in responses:
        assert not response.is_html(), (response.status, response.body[:200])
        assert response.content_type in ("application/json", "text/csv"), response.content_type

    assert server.stop() == 0
    assert "store-monitor stopped" in server.logs()
    assert_clean_logs(server)


# --------------------------------------------------------------------------------------------
# 2. the API answers while the start-up load runs
# --------------------------------------------------------------------------------------------
def test_api_answers_during_startup_load(database_url: str, tmp_path: Path, big_data: Path, launch) -> None:
    env = {"DATABASE_URL": database_url, "CSV_DIR": big_data, "REPORT_DIR": tmp_path / "reports"}
    server = launch(env, name="startup", start=False)
    server.start(wait=False)
    opened = server.wait_for_port(60)

    first = server.get("/health", timeout=30)  # the body below proves it answered during the load
    print(f"/health answered {time.monotonic() - opened:.2f}s after the port opened")
    assert first.status == 200
    body = first.json()
    assert body["status"] == "loading" and body["reload"]["running"] is True, body
    assert body["data_version"] == 0 and body["last_load"] is None  # the load has not committed yet

    unknown = server.get("/get_report/doesnotexist", timeout=30)
    assert unknown.status == 404
    still = health(server)
    assert still["reload"]["running"] is True and still["data_version"] == 0, "the load finished too soon to prove anything"

    # Triggering while the load runs: on MySQL it answers at once; on SQLite (one writer at a time)
    # the insert of the report row waits for the load's transaction, but must not fail.
    trigger = server.post("/trigger_report", json_body={"as_of": DATA_END_ISO}, timeout=120)
    assert trigger.status == 202, trigger.body[:300]
    print(f"trigger during the start-up load answered in {trigger.seconds:.2f}s ({database_url.split(':')[0]})")

    # SIGTERM while the load (or the report) runs: a clean, prompt exit.
    assert server.stop(timeout=30) == 0  # SIGKILL and a failure past that deadline
    assert_clean_logs(server)


# --------------------------------------------------------------------------------------------
# 3. a report id outlives the process
# --------------------------------------------------------------------------------------------
def test_report_survives_restart(database_url: str, tmp_path: Path, launch) -> None:
    env = {"DATABASE_URL": database_url, "CSV_DIR": combine_examples(["ex1", "ex2", "ex3"], tmp_path / "csv"),
           "REPORT_DIR": tmp_path / "reports"}
    first = launch(env, name="before-restart")
    wait_loaded(first)
    report_id = first.trigger(json_body={"as_of": "2023-01-23T12:00:00Z"})
    original = first.wait_report(report_id)
    assert_complete_csv(original, report_id)
    failed_id = first.trigger(json_body={"as_of": "1971-01-01T00:00:00Z"})  # before every poll: no stores
    failed_or_empty = first.wait_report(failed_id)
    assert first.stop() == 0

    second = launch(env, name="after-restart")
    assert second.port != first.port
    for path in (f"/get_report?report_id={report_id}", f"/get_report?repid={report_id}", f"/get_report/{report_id}"):
        again = second.get(path)
        assert_complete_csv(again, report_id)
        assert again.body == original.body
    again = second.get(f"/get_report/{failed_id}")
    assert again.status == 200 and again.body == failed_or_empty.body
    assert second.get(f"/reports/{report_id}").json()["status"] == "Complete"
    assert second.stop() == 0
    assert_clean_logs(first)
    assert_clean_logs(second)


# --------------------------------------------------------------------------------------------
# 4. SIGKILL with reports running and queued: the next process finishes them
# --------------------------------------------------------------------------------------------
def test_reports_of_a_killed_server_are_finished_by_the_next(database_url: str, tmp_path: Path, medium_data: Path,
                                                             launch) -> None:
    # The next process takes over only work whose lease expired (SPEC 6): a short lease keeps the
    # wait short; the sweep passes every third of a lease.
    env = {"DATABASE_URL": database_url, "CSV_DIR": medium_data, "REPORT_DIR": tmp_path / "reports",
           "REPORT_WORKERS": 1, "JOB_LEASE_SECONDS": LEASE_SECONDS}
    first = launch(env, name="killed")
    wait_loaded(first)
    moments = [iso(DATA_END - timedelta(hours=k)) for k in range(6)]  # distinct: no result reuse
    ids = [first.trigger(json_body={"as_of": m}) for m in moments]
    wait_until(lambda: "running" in [report_state(first, r) for r in ids], 60, "a report to run")
    states = {report_id: report_state(first, report_id) for report_id in ids}
    unfinished = [r for r, s in states.items() if s in ("pending", "running")]
    assert unfinished, f"every report finished before the kill: {states}"
    assert first.kill() == -signal.SIGKILL
    print("states at SIGKILL:", states)

    stores = len({row["store_id"] for row in csv.DictReader(open(medium_data / "store_status.csv"))})
    second = launch(env, name="after-crash")
    restarted = time.monotonic()
    # Taken over once the leases ran out, then run: one deadline for all of them, with room for
    # a machine whose two cores other work shares.
    deadline = restarted + LEASE_SECONDS + 60
    for report_id in ids:
        done = second.wait_report(report_id, timeout=max(1.0, deadline - time.monotonic()))
        if done.content_type == "application/json":
            body = done.json()
            assert body["status"] == "Failed" and body["error"], body
        else:
            assert_complete_csv(done, report_id)
            assert stores - 5 <= len(csv_rows(done)) <= stores
    settled = time.monotonic() - restarted
    print(f"all {len(ids)} reports finished {settled:.1f}s after the restart")
    if any(s in ("pending", "running") for s in states.values()):
        assert "lease expired" in second.logs() and "re-queued" in second.logs()
    assert second.stop() == 0
    assert_clean_logs(second)


# --------------------------------------------------------------------------------------------
# 5. many reports while a reload changes the data: each sees the data before or after, never a mix
# --------------------------------------------------------------------------------------------
def _appended_polls(store_ids: list[str]) -> str:
    """Inactive polls at instants the generator never uses (odd seconds) over the last ~3 days."""
    lines = []
    for k in range(1, 301):
        stamp = (DATA_END - timedelta(seconds=k * 887 + 13)).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.extend(f"{store_id},inactive,{stamp}" for store_id in store_ids)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def reload_references(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report at DATA_END on the data before and after the append, each on its own database,
    computed with the CLI commands (`load-data`, `report`) through Flask's CLI runner."""
    from app import create_app
    from config import Config
    from runtime import runtime_of

    base = tmp_path_factory.mktemp("reload-refs")
    store_ids = sorted({row["store_id"] for row in csv.DictReader(open(small_data / "store_status.csv"))})
    grown = base / "grown"
    shutil.copytree(small_data, grown)
    with open(grown / "store_status.csv", "a") as out:
        out.write(_appended_polls(store_ids))
    references = {}
    for name, directory in (("before", small_data), ("after", grown)):
        app = create_app(Config(database_url=f"sqlite:///{base / name}.sqlite", csv_dir=directory,
                                report_dir=base / "reports", reload_interval_seconds=0))
        try:
            runner = app.test_cli_runner()
            result = runner.invoke(args=["load-data", "--dir", str(directory)])
            assert result.exit_code == 0, result.output
            out = base / f"{name}.csv"
            result = runner.invoke(args=["report", "--as-of", DATA_END_ISO, "--out", str(out)])
            assert result.exit_code == 0, result.output
        finally:
            runtime_of(app).close()
        lines = out.read_text().splitlines()
        assert lines[0] == HEADER
        references[name] = {line.split(",", 1)[0]: line for line in lines[1:]}
    changed = [s for s in store_ids if references["before"][s] != references["after"][s]]
    assert len(changed) > len(store_ids) * 0.8, "the appended polls must change most stores' rows"
    return {"store_ids": store_ids, "grown": grown / "store_status.csv", **references}


def test_reports_during_a_reload_see_one_state(database_url: str, tmp_path: Path, small_data: Path,
                                               reload_references: dict[str, Any], launch) -> None:
    csv_dir = tmp_path / "csv"
    shutil.copytree(small_data, csv_dir)
    env = {"DATABASE_URL": database_url, "CSV_DIR": csv_dir, "REPORT_DIR": tmp_path / "reports",
           "RELOAD_INTERVAL_SECONDS": 1, "REPORT_WORKERS": 4}
    server = launch(env, name="reload")
    version_before = wait_loaded(server)["data_version"]
    store_ids: list[str] = reload_references["store_ids"]
    subsets: list[list[str] | None] = [None if i % 3 == 0 else store_ids[i % 7::7] for i in range(12)]

    def burst(tag: str) -> list[tuple[str, str, list[str] | None]]:
        """12 triggers released at the same instant."""
        gate = threading.Barrier(len(subsets))

        def fire(subset: list[str] | None) -> tuple[str, str, list[str] | None]:
            ask: dict[str, Any] = {"as_of": DATA_END_ISO}
            if subset is not None:
                ask["store_id"] = subset
            gate.wait(10)
            return tag, server.trigger(json_body=ask, timeout=120), subset

        with ThreadPoolExecutor(len(subsets)) as pool:
            return list(pool.map(fire, subsets))

    fired = burst("before")
    # The poll file grows (atomically: the reload reads the old or the new file, never half).
    grown = csv_dir / "store_status.csv.new"
    shutil.copyfile(reload_references["grown"], grown)
    os.replace(grown, csv_dir / "store_status.csv")
    overlapping = 0
    deadline = time.monotonic() + 60
    while True:
        state = health(server)
        if state["data_version"] != version_before:
            break
        assert time.monotonic() < deadline, "the grown file was never reloaded"
        if state["reload"]["running"]:
            overlapping += 1
            fired += burst(f"during-{overlapping}")
        else:
            time.sleep(0.02)
    fired += burst("after")
    print(f"{len(fired)} reports, {overlapping} burst(s) fired while the reload ran")
    assert overlapping >= 1, "no burst overlapped the reload"

    outcome: dict[str, list[str]] = {}
    for tag, report_id, subset in fired:
        done = server.wait_report(report_id, timeout=60)
        assert_complete_csv(done, report_id)
        rows = done.text.splitlines()[1:]
        wanted = store_ids if subset is None else sorted(subset)
        before = [reload_references["before"][s] for s in wanted]
        after = [reload_references["after"][s] for s in wanted]
        assert before != after
        seen = "before" if rows == before else "after" if rows == after else "MIX"
        assert seen != "MIX", f"report {report_id} ({tag}) matches neither the data before nor after the load"
        outcome.setdefault(tag, []).append(seen)
    print(outcome)
    assert set(outcome["before"]) == {"before"}
    assert set(outcome["after"]) == {"after"}
    assert server.stop() == 0
    assert_clean_logs(server)


# --------------------------------------------------------------------------------------------
# 6. the database is down
# --------------------------------------------------------------------------------------------
def test_unreachable_mysql_gives_503_json(tmp_path: Path, launch) -> None:
    closed = free_port()
    env = {"DATABASE_URL": f"mysql+pymysql://root@127.0.0.1:{closed}/x",
           "CSV_DIR": combine_examples(["ex1"], tmp_path / "csv"), "REPORT_DIR": tmp_path / "reports"}
    server = launch(env, name="no-database")  # starts although the database is unreachable
    body = assert_json_error(server.get("/health"), 503)
    assert body["status"] == "unavailable" and "database" in body["error"]
    trigger = assert_json_error(server.post("/trigger_report"), 503)
    assert "database" in trigger["error"].lower()
    assert_json_error(server.get("/get_report/someid"), 503)
    assert_json_error(server.get("/no/such/route"), 404)
    assert server.running
    assert server.stop() == 0
    assert "Traceback" not in server.logs()


@pytest.mark.mysql
def test_unknown_mysql_database_says_how_to_create_it(mysql_url: str, tmp_path: Path, launch) -> None:
    missing = mysql_url.rsplit("/", 1)[0] + "/sm_no_such_database"
    env = {"DATABASE_URL": missing, "CSV_DIR": combine_examples(["ex1"], tmp_path / "csv"),
           "REPORT_DIR": tmp_path / "reports", "RELOAD_INTERVAL_SECONDS": 0}
    server = launch(env, name="unknown-database")
    body = assert_json_error(server.get("/health"), 503)
    assert "CREATE DATABASE `sm_no_such_database`" in body["error"], body
    assert server.stop() == 0
    assert "CREATE DATABASE `sm_no_such_database`" in server.logs()  # said at start too


def test_port_taken_is_one_line_before_the_database(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        database = tmp_path / "untouched.sqlite"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PORT": str(port), "HOST": "127.0.0.1",
               "CSV_DIR": str(tmp_path), "REPORT_DIR": str(tmp_path / "reports")}
        done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0], lines
    assert not database.exists() and not (tmp_path / "reports").exists()


class MariaDB:
    """A throw-away MariaDB server of the test's own, to stop and start at will."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.datadir = base / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def install(self) -> None:
        installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        assert installer, "mariadb-install-db is missing"
        result = subprocess.run(
            [installer, "--no-defaults", f"--datadir={self.datadir}", "--auth-root-authentication-method=normal",
             "--user=root", "--skip-test-db"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self) -> None:
        log = open(self.base / "mariadbd.log", "ab")
        self.proc = subprocess.Popen(
            [str(MARIADBD), "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.base / 'sock'}", f"--pid-file={self.base / 'pid'}",
             "--user=root", "--skip-name-resolve", "--innodb-buffer-pool-size=64M",
             f"--log-error={self.base / 'error.log'}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 30, "mariadbd to listen")
        assert self.proc.poll() is None, (self.base / "error.log").read_text()[-2000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def url(self, database: str = "") -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def own_mariadb(tmp_path: Path) -> Iterator[MariaDB]:
    if not MARIADBD.exists() or not (shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")):
        if IN_CI:
            pytest.fail("CI: mariadbd and mariadb-install-db are required for the database-outage test")
        pytest.skip("no mariadbd to start a throw-away server with")
    server = MariaDB(tmp_path / "mariadb")
    server.base.mkdir()
    server.install()
    server.start()
    try:
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=server.port, user="root", password="")
        with connection.cursor() as cursor:
            cursor.execute("CREATE DATABASE sm CHARACTER SET utf8mb4")
        connection.close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.datadir, ignore_errors=True)  # ~100 MB; the logs stay


def test_database_outage_and_recovery(own_mariadb: MariaDB, tmp_path: Path, medium_data: Path, launch) -> None:
    # A short lease: the attempt that ran into the outage is retried by the lease sweep (SPEC 6),
    # which passes every sixth of a lease.
    env = {"DATABASE_URL": own_mariadb.url("sm"), "CSV_DIR": medium_data, "REPORT_DIR": tmp_path / "reports",
           "REPORT_WORKERS": 1, "JOB_LEASE_SECONDS": 3}
    server = launch(env, name="outage")
    wait_loaded(server)
    assert_complete_csv(server.wait_report(server.trigger(json_body={"as_of": DATA_END_ISO})))

    # Queue a few reports (distinct as_of: no reuse), then take the database away while they run.
    ids = [server.trigger(json_body={"as_of": iso(DATA_END - timedelta(hours=k + 1))}) for k in range(6)]
    wait_until(lambda: "running" in [report_state(server, r) for r in ids], 60, "a report to run")
    own_mariadb.stop()

    down = server.get("/health")
    assert down.status == 503 and down.json()["status"] == "unavailable"
    trigger = assert_json_error(server.post("/trigger_report"), 503)
    assert "database" in trigger["error"].lower()
    assert_json_error(server.get(f"/get_report/{ids[0]}"), 503)

    # Let the running report run into the outage: its attempt fails with a database error, logged
    # (SPEC 6: the work is retried, and only work that keeps failing ends Failed), unless every
    # report finished before the database went away.
    def hit_by_outage() -> list[str]:
        logs = server.logs()
        return [r for r in ids if re.search(rf"report {r} shard \d+ attempt \d+ failed: database error", logs)
                or re.search(rf"report {r} shard \d+: cannot claim it yet \(database error", logs)]
    wait_until(lambda: hit_by_outage() or all(f"report {r} complete" in server.logs() for r in ids), 60,
               "a report to run into the outage")
    hit = hit_by_outage()

    own_mariadb.start()
    recovered = wait_until(lambda: server.get("/health").status == 200, 60, "/health to recover")
    assert recovered
    new_id = server.trigger(json_body={"as_of": DATA_END_ISO})
    assert_complete_csv(server.wait_report(new_id, timeout=60), new_id)

    # Every report ends: the ones hit by the outage are retried (Complete) or fail with a reason
    # naming the database; none stays Running.
    outcomes = {}
    for report_id in ids:
        done = server.wait_report(report_id, timeout=30)
        if done.content_type == "application/json":
            body = done.json()
            assert body["status"] == "Failed" and "database" in body["error"].lower(), body
            outcomes[report_id] = "Failed: " + body["error"][:80]
        else:
            assert_complete_csv(done, report_id)
            outcomes[report_id] = "Complete"
    print(outcomes)
    assert hit, "no report ran into the outage"
    for report_id in hit:
        # Complete: run again after the failed attempt, or merged just before the database went
        # away (its commit went through, a later statement of the attempt did not, so no
        # "complete" line was logged): either way the stored state says so.
        if outcomes[report_id] == "Complete":
            assert report_state(server, report_id) == "complete"
    assert server.running and server.stop() == 0
    assert unexpected_tracebacks(server.logs()) == []
