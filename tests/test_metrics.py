"""`GET /metrics`, request ids and JSON logs (Flask test client); /metrics under two gunicorn
worker processes sharing PROMETHEUS_MULTIPROC_DIR (a real gunicorn on 127.0.0.1) and from a
prefork Celery worker's main process (METRICS_PORT)."""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from config import Config
from conftest import ROOT, combine_examples, write_inputs
from runtime import runtime_of
from services.access import keys
from services.ingest.loader import load_directory
from services.log_format import JsonFormatter
from support.server import free_port, port_open
from support.waiting import finished, wait_until
from test_cluster import CELERY_BROKERS, RABBITMQ_URL, Worker, broker_or_fail, load_and_report

HEALTH = {"method": "GET", "endpoint": "/health", "status": "200"}


def sample(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample of an exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                return s.value
    return 0.0


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_requests_are_counted_by_url_rule_never_by_path(client) -> None:
    before = scrape(client)
    for report_id in ("secret-report-1", "secret-report-2"):
        assert client.get(f"/get_report/{report_id}").status_code == 404
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)
    rule = {"method": "GET", "endpoint": "/get_report/<path:report_id>", "status": "404"}
    assert sample(after, "store_monitor_http_requests_total", rule) - \
        sample(before, "store_monitor_http_requests_total", rule) == 2
    unmatched = {"method": "GET", "endpoint": "<unmatched>", "status": "404"}
    assert sample(after, "store_monitor_http_requests_total", unmatched) - \
        sample(before, "store_monitor_http_requests_total", unmatched) == 1
    latency = {"method": "GET", "endpoint": "/get_report/<path:report_id>"}
    assert sample(after, "store_monitor_http_request_duration_seconds_count", latency) >= 2
    assert "secret-report" not in after and "/no/such/path" not in after


def test_loads_rejected_rows_and_reports_are_counted(client, runtime, tmp_path: Path) -> None:
    before = scrape(client)
    data = combine_examples(["ex1", "ex2"], tmp_path / "data")
    with open(data / "store_status.csv", "a") as polls:
        polls.write("store-x,sideways,2023-01-25 10:00:00 UTC\n")  # one rejected row (SPEC 1)
    load_directory(runtime.engine, data)
    report_id = client.post("/trigger_report", json={}).get_json()["report_id"]
    wait_until(lambda: finished(client.get(f"/get_report?report_id={report_id}")), 60, "the report to finish")
    after = scrape(client)

    def delta(name: str, labels: dict[str, str] | None = None) -> float:
        return sample(after, name, labels) - sample(before, name, labels)

    # At least: the registry is the process's, and a report thread of an earlier test's app may
    # still end meanwhile (pytest runs many apps in one process).
    assert delta("store_monitor_loads_total", {"outcome": "changed"}) >= 1
    assert delta("store_monitor_rows_rejected_total", {"kind": "polls"}) >= 1
    assert delta("store_monitor_rows_loaded_total", {"kind": "polls"}) > 0
    assert delta("store_monitor_reports_total", {"status": "complete"}) >= 1
    assert delta("store_monitor_report_duration_seconds_count", {"status": "complete"}) >= 1


def test_metrics_need_an_admin_key_when_auth_is_required_unless_public(app, config) -> None:
    from app import create_app

    closed = create_app(config.with_changes(auth_required=True))
    try:
        engine = runtime_of(closed).engine
        _info, admin = keys.create_key(engine, "admin", (), name="ops")
        _info, reporter = keys.create_key(engine, "reporter", (), name="dashboards")
        client = closed.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {reporter}"}).status_code == 403
        scrape(client, headers={"Authorization": f"Bearer {admin}"})
    finally:
        runtime_of(closed).close()
    public = create_app(config.with_changes(auth_required=True, metrics_public=True))
    try:
        scrape(public.test_client())
        assert public.test_client().get("/reports").status_code == 401  # only /metrics is opened
    finally:
        runtime_of(public).close()


def test_request_ids_are_echoed_or_made_and_logged_as_json(client) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    http_log = logging.getLogger("store_monitor.http")
    http_log.addHandler(handler)
    old_level = http_log.level
    http_log.setLevel(logging.INFO)
    try:
        sent = client.get("/health", headers={"X-Request-ID": "lb-7f3a:42"})
        refused = client.get("/health", headers={"X-Request-ID": "no spaces allowed\u00e9"})
        made = client.get("/health")
    finally:
        http_log.removeHandler(handler)
        http_log.setLevel(old_level)
    assert sent.headers["X-Request-ID"] == "lb-7f3a:42"
    for response in (refused, made):
        assert len(response.headers["X-Request-ID"]) == 32 and response.headers["X-Request-ID"].isalnum()
    assert refused.headers["X-Request-ID"] != made.headers["X-Request-ID"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == [
        "lb-7f3a:42", refused.headers["X-Request-ID"], made.headers["X-Request-ID"]]
    assert {"time", "level", "logger", "message"} <= set(lines[0]) and lines[0]["logger"] == "store_monitor.http"
    assert lines[0]["time"].endswith("+00:00")


def _count_per_process(directory: Path, name: str, labels: dict[str, str]) -> dict[int, float]:
    """One counter's sample as each process counted it in its own file (counter_<pid>.db)."""
    counts: dict[int, float] = {}
    for file in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(file)], accumulate=False):
            for s in metric.samples:
                if s.name == name and s.labels == labels:
                    counts[int(file.stem.rsplit("_", 1)[1])] = s.value
    return counts


def _health_count_per_process(directory: Path) -> dict[int, float]:
    return _count_per_process(directory, "store_monitor_http_requests_total", HEALTH)


def _get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return response.status, response.read().decode()


def test_metrics_under_two_gunicorn_workers_sum_both(database_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), DATABASE_URL=database_url,
               CSV_DIR=str(write_inputs(tmp_path / "csv")), REPORT_DIR=str(tmp_path / "reports"),
               RELOAD_INTERVAL_SECONDS="0", HOST="127.0.0.1", LOG_FORMAT="json")
    # Files an earlier run left behind: the first process of the next run must drop them.
    earlier_run = "from services.metrics import POLLS_INGESTED; POLLS_INGESTED.inc(1000)"
    stale = subprocess.run([sys.executable, "-c", earlier_run],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert stale.returncode == 0, stale.stderr
    assert list(metrics_dir.glob("counter_*.db"))

    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--graceful-timeout", "10", "app:create_app()"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    sent = 0
    lock = threading.Lock()

    def hammer(times: int) -> None:
        nonlocal sent
        for _ in range(times):
            assert _get(port, "/health")[0] == 200
            with lock:
                sent += 1

    def both_workers_answered() -> bool:
        threads = [threading.Thread(target=hammer, args=(10,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len([c for c in _health_count_per_process(metrics_dir).values() if c > 0]) >= 2

    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, 120, "gunicorn to listen")
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        wait_until(both_workers_answered, 120, "both gunicorn workers to answer /health")
        per_process = _health_count_per_process(metrics_dir)
        assert sum(per_process.values()) == sent
        for _ in range(4):  # whichever worker answers the scrape sums both
            status, text = _get(port, "/metrics")
            assert status == 200
            assert sample(text, "store_monitor_http_requests_total", HEALTH) == sent
            assert sample(text, "store_monitor_polls_ingested_total") == 0  # the stale run's 1000 are gone
        # The workers' own log lines are JSON (gunicorn.conf.py set LOG_FORMAT up in the master).
        lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
                 if line.startswith("{")]
        assert any(line["logger"] == "store_monitor.http" and line.get("request_id") for line in lines)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


@pytest.mark.mysql
@CELERY_BROKERS
def test_a_prefork_celery_worker_serves_the_sum_of_its_children(mysql_url: str, tmp_path: Path) -> None:
    """The shards run in the worker's pool process; its main process serves their counts."""
    broker_url = broker_or_fail(RABBITMQ_URL)
    expected = load_and_report(mysql_url, tmp_path)
    port = free_port()
    env = {"DATABASE_URL": mysql_url, "REPORT_BACKEND": "celery", "BROKER_URL": broker_url, "REPORT_SHARDS": "2",
           "CSV_DIR": str(tmp_path / "none"), "REPORT_DIR": str(tmp_path / "unused"), "HOST": "127.0.0.1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "METRICS_PORT": str(port), "LOG_FORMAT": "json"}
    api = create_app(Config(database_url=mysql_url, csv_dir=tmp_path / "none", report_dir=tmp_path / "unused",
                            reload_interval_seconds=0, report_backend="celery", broker_url=broker_url, report_shards=2))
    worker = Worker(env, tmp_path / "worker.log", f"metrics-{os.getpid()}")
    try:
        worker.wait_ready()
        client = api.test_client()
        report_id = client.post("/trigger_report", json={}).get_json()["report_id"]
        done = wait_until(lambda: (r := client.get(f"/get_report?report_id={report_id}")).mimetype == "text/csv" and r,
                          120, "the report to be computed by the worker")
        assert done.get_data(as_text=True) == expected
        text = wait_until(lambda: (t := _get(port, "/metrics")[1]) and
                          sample(t, "store_monitor_reports_total", {"status": "complete"}) == 1 and t,
                          30, "the worker's metrics to show the report")
        assert sample(text, "store_monitor_report_duration_seconds_count", {"status": "complete"}) == 1
        counted = _count_per_process(tmp_path / "prometheus", "store_monitor_reports_total", {"status": "complete"})
        # Counted by a pool process (not the main one, which ran no task), and served by the main.
        assert sum(counted.values()) == 1 and counted.get(worker.proc.pid, 0) == 0
        # LOG_FORMAT=json: the log lines (not Celery's start-up banner, printed) are JSON objects.
        logged = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines()
                  if line.startswith("{")]
        assert any(line["logger"].startswith("services.jobs") for line in logged)
    finally:
        worker.kill()
        runtime_of(api).close()
