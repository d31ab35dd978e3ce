"""`flask --app app background`: the background loops alone, in a real process, do real work
(recover a report whose holder died, load CSV_DIR) and stop cleanly on SIGTERM and SIGINT."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, combine_examples
from models import report_jobs, report_tasks
from models.db import init_schema, make_engine
from models.report_jobs import JobStatus
from services.ingest.loader import load_directory
from services.jobs.leases import now_us
from support.server import free_port
from support.waiting import wait_until


def _start(database_url: str, tmp_path: Path, csv_dir: Path, *args: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PROMETHEUS", "LOG_FORMAT"))}
    env.update(DATABASE_URL=database_url, CSV_DIR=str(csv_dir), REPORT_DIR=str(tmp_path / "reports"),
               RELOAD_INTERVAL_SECONDS="3600", LOAD_SETTLE_SECONDS="0", JOB_LEASE_SECONDS="2", HOST="127.0.0.1",
               LOG_FORMAT="json")
    log = open(tmp_path / "background.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "background", *args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_background_recovers_work_of_a_dead_process_and_stops_on_a_signal(
    database_url: str, tmp_path: Path, stop_signal: signal.Signals,
) -> None:
    engine = make_engine(database_url)
    init_schema(engine)
    data = combine_examples(["ex1", "ex2"], tmp_path / "data")
    load_directory(engine, data)
    # A report whose only shard is held by a process that died (its lease ran out).
    report_jobs.create(engine, "orphan", {"store_ids": None, "as_of_us": None})
    assert report_tasks.claim(engine, "orphan", 0, "dead-process", now_us() - 10_000_000, 1_000_000)
    empty_csv = tmp_path / "csv"
    empty_csv.mkdir()
    metrics_port = free_port()
    process = _start(database_url, tmp_path, empty_csv, "--metrics-port", str(metrics_port))
    try:
        wait_until(lambda: (report_jobs.get(engine, "orphan").status == JobStatus.COMPLETE.value
                            or process.poll() is not None),
                   90, "the background process to finish the orphaned report")
        assert process.poll() is None, (tmp_path / "background.log").read_text()
        import urllib.request

        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        assert "store_monitor_lease_takeovers_total 1.0" in scraped
        assert 'store_monitor_reports_total{status="complete"} 1.0' in scraped
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        engine.dispose()
    log = (tmp_path / "background.log").read_text()
    assert "background loops stopped" in log
    assert '"logger": "store_monitor.background"' in log  # LOG_FORMAT=json: one object per line
