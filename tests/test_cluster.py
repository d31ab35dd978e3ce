"""SPEC 6 end to end with real processes: API servers (`python app.py`), Celery workers
(`celery -A make_celery worker`) on RabbitMQ and Redis, one MySQL database; and two `threads`
API processes on one SQLite file. Leases are 2 s so that take-overs happen within seconds."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, text

from app import create_app
from config import Config
from conftest import IN_CI, combine_examples
from models import report_jobs
from models.db import make_engine, write_tx
from runtime import runtime_of
from support.server import ROOT, ServerProcess
from support.waiting import wait_until

RABBITMQ_URL = os.environ.get("RABBITMQ_TEST_URL", "amqp://guest:guest@127.0.0.1:5672/store_monitor_test")
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/11")
LEASE = "2"
EXAMPLES = ["ex1", "ex2", "ex3", "ex4", "ex5"]


def broker_or_fail(url: str) -> str:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"broker {url} is required in CI but unreachable: {exc}")
        pytest.skip(f"broker {url} unreachable: {exc}")
    return url


def load_and_report(database_url: str, tmp_path: Path) -> str:
    """Load the worked examples and compute the reference with `flask --app app report`."""
    app = create_app(Config(database_url=database_url, csv_dir=tmp_path, report_dir=tmp_path / "cli",
                            reload_interval_seconds=0))
    try:
        runner = app.test_cli_runner()
        folder = combine_examples(EXAMPLES, tmp_path / "in")
        assert runner.invoke(args=["load-data", "--dir", str(folder)]).exit_code == 0
        result = runner.invoke(args=["report", "--out", str(tmp_path / "expected.csv")])
        assert result.exit_code == 0, result.output
    finally:
        runtime_of(app).close()
    return (tmp_path / "expected.csv").read_text()


class Worker:
    """A real `celery -A make_celery worker` process (one pool process), in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path, name: str) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "make_celery", "worker", "--loglevel", "INFO",
                 "--concurrency", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until(lambda: b"ready." in self.log_path.read_bytes() or self._dead(), timeout, "worker ready")
        assert not self._dead(), self.log_path.read_text()[-3000:]

    def _dead(self) -> bool:
        return self.proc.poll() is not None

    def owns(self, pid: int) -> bool:
        try:
            return os.getpgid(pid) == self.proc.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole worker (main and pool process), like a machine that dies."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def same_report_asks(engine: Engine) -> list[dict]:
    """Ways of asking for the whole report at the newest poll that give the CSV of `flask report`
    but differ in parameters, so none reuses the result of another (or of an earlier report)."""
    with engine.connect() as conn:
        stores = sorted(r[0] for r in conn.execute(text("SELECT store_id FROM stores")))
        newest = conn.execute(text("SELECT MAX(ts_us) FROM polls")).scalar_one()
    as_of = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(newest) // 1_000_000))
    return [{"store_id": stores}, {"as_of": as_of}, {"store_id": stores, "as_of": as_of}]


@contextmanager
def running_task_held(engine: Engine, api: ServerProcess, timeout: float = 30.0) -> Iterator[tuple[str, str]]:
    """Trigger a report on `api` and wait for one of its tasks to be running, then hold a write
    lock on it: its holder stays mid-shard (its next write blocks) until the block ends. A report
    that finished before it was seen running is asked again with other parameters (same CSV).
    Yields (report id, lease owner)."""
    for ask in same_report_asks(engine):
        report_id = api.trigger(json_body=ask)
        deadline = time.monotonic() + timeout
        while True:
            with write_tx(engine) as conn:
                lock = "" if engine.dialect.name == "sqlite" else " FOR UPDATE"
                rows = conn.execute(text(
                    "SELECT status, lease_owner, progress FROM report_tasks WHERE report_id = :r ORDER BY id" + lock
                ), {"r": report_id}).all()
                # Mid-shard: running, its result not stored yet (that sets progress to 1).
                running = [row for row in rows if row[0] == "running" and row[2] < 1]
                if running:
                    yield report_id, str(running[0][1])
                    return
            if rows and all(row[0] in ("complete", "failed") for row in rows):
                break  # too quick to be seen running: ask again
            assert time.monotonic() < deadline, f"no task of report {report_id} started running: {rows}"
            time.sleep(0.005)
    raise AssertionError("every report finished before a task was seen running")


def owner_pid(owner: str) -> int:
    return int(owner.split(":")[1])


def assert_nothing_leased_is_taken_over(engine: Engine, api: ServerProcess, expected: str) -> None:
    """Kill an API process, restart it: it re-runs a report whose lease expired, never one held."""
    now = time.time_ns() // 1000
    params = {"store_ids": None, "as_of_us": None}
    report_jobs.create(engine, "heldelsewhere", params, owner="alive:1:x", lease_until_us=now + 600_000_000)
    report_jobs.create(engine, "leftbydead", params, owner="dead:1:x", lease_until_us=now)
    api.kill()
    api.proc = None
    api.start()
    done = api.wait_report("leftbydead", timeout=60)
    assert done.text == expected
    held = report_jobs.get(engine, "heldelsewhere")
    assert held.status == "pending"
    assert api.get("/get_report/heldelsewhere").json()["status"] == "Running"


# Celery tests share the test vhost / Redis database and the default queue: under pytest-xdist
# (scripts/test.sh runs `--dist loadgroup`) they all run on one worker, one after the other, so no
# test's worker takes another test's tasks.
CELERY_BROKERS = pytest.mark.xdist_group("celery-brokers")


@CELERY_BROKERS
@pytest.mark.mysql
@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_celery_workers_and_two_api_processes_on_mysql(broker: str, mysql_url: str, tmp_path: Path) -> None:
    broker_url = broker_or_fail(RABBITMQ_URL if broker == "rabbitmq" else REDIS_URL)
    expected = load_and_report(mysql_url, tmp_path)
    env = {"DATABASE_URL": mysql_url, "REPORT_BACKEND": "celery", "BROKER_URL": broker_url, "REPORT_SHARDS": "3",
           "JOB_LEASE_SECONDS": LEASE, "CSV_DIR": str(tmp_path / "none"), "REPORT_DIR": str(tmp_path / "unused")}
    engine = make_engine(mysql_url)
    apis = [ServerProcess(env, tmp_path / f"api{i}.log", name=f"api{i}") for i in (1, 2)]
    workers: list[Worker] = []
    try:
        for api in apis:
            api.start()
        workers = [Worker(env, tmp_path / f"worker{i}.log", f"w{i}-{os.getpid()}") for i in (1, 2)]
        for worker in workers:
            worker.wait_ready()

        # triggered on one API process, served by the other
        first = apis[0].trigger()
        assert apis[1].wait_report(first).text == expected
        assert report_jobs.get(engine, first).shards_total == 3

        # a worker killed mid-shard: the report still completes, identical
        with running_task_held(engine, apis[0]) as (second, owner):
            answer = apis[1].get(f"/get_report/{second}").json()
            assert answer["status"] == "Running" and 0 <= answer["progress"] < 1
            victim = next(w for w in workers if w.owns(owner_pid(owner)))
            victim.kill()
        assert apis[1].wait_report(second, timeout=60).text == expected
        assert apis[0].get(f"/get_report/{second}").text == expected

        assert_nothing_leased_is_taken_over(engine, apis[0], expected)
    finally:
        for worker in workers:
            worker.kill()
        for api in apis:
            api.cleanup()
        engine.dispose()


def test_two_threads_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    expected = load_and_report(url, tmp_path)
    env = {"DATABASE_URL": url, "JOB_LEASE_SECONDS": LEASE, "CSV_DIR": str(tmp_path / "none"),
           "REPORT_DIR": str(tmp_path / "reports")}
    engine = make_engine(url)
    apis = [ServerProcess(env, tmp_path / f"api{i}.log", name=f"api{i}") for i in (1, 2)]
    try:
        for api in apis:
            api.start()
        first = apis[0].trigger()
        assert apis[1].wait_report(first).text == expected

        # the process running a report dies mid-report: the other one takes it over
        with running_task_held(engine, apis[0]) as (second, owner):
            assert owner_pid(owner) == apis[0].proc.pid
            answer = apis[1].get(f"/get_report/{second}").json()
            assert answer["status"] == "Running" and 0 <= answer["progress"] < 1
            apis[0].kill()
        assert apis[1].wait_report(second, timeout=60).text == expected

        apis[0].proc = None
        apis[0].start()
        assert_nothing_leased_is_taken_over(engine, apis[0], expected)
    finally:
        for api in apis:
            api.cleanup()
        engine.dispose()


def test_unreachable_broker_at_trigger_is_503_and_leaves_no_report(config, tmp_path: Path) -> None:
    app = create_app(config.with_changes(report_backend="celery", broker_url="amqp://guest:guest@127.0.0.1:1//"))
    try:
        response = app.test_client().post("/trigger_report")
        assert response.status_code == 503 and "broker" in response.get_json()["error"]
        assert report_jobs.recent(runtime_of(app).engine) == []
    finally:
        runtime_of(app).close()


@pytest.mark.parametrize("settings, message", [
    ({"REPORT_BACKEND": "celery", "BROKER_URL": "http://127.0.0.1:5672"}, "BROKER_URL must start with"),
    ({"REPORT_BACKEND": "celery"}, "needs BROKER_URL"),
    ({"REPORT_BACKEND": "processes"}, "REPORT_BACKEND must be one of"),
    ({"REPORT_BACKEND": "celery", "BROKER_URL": "amqp://guest:guest@127.0.0.1:1//"}, "cannot reach the broker"),
])
def test_bad_backend_settings_stop_the_service_with_a_clear_error(settings, message, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REPORT_BACKEND", "BROKER_URL")}
    env.update(settings, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}", PORT="0", RELOAD_INTERVAL_SECONDS="0",
               CSV_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr[-2000:]
