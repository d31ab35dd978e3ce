"""Claims, leases and heartbeats of report tasks: two runners on one database (SQLite and MySQL)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import combine_examples
from support.waiting import wait_until
from models import report_jobs, report_tasks
from models.db import init_schema, make_engine
from services.ingest.loader import load_directory
from services.jobs.leases import now_us
from services.contract.reports import ReportRequest
from services.jobs.runner import ReportRunner
from services.jobs.storage import DatabaseStore, FileStore
from services.reports.builder import build_report, report_csv_text

PARAMS = {"store_ids": None, "as_of_us": None}


@pytest.fixture
def engines(database_url: str):
    """Two engines on one database: two processes' worth of connection pools."""
    first, second = make_engine(database_url), make_engine(database_url)
    init_schema(first)
    yield first, second
    first.dispose()
    second.dispose()


def test_two_claimers_racing_for_one_task_get_it_once(engines) -> None:
    a, b = engines
    for i in range(10):
        report_jobs.create(a, f"r{i}", PARAMS)
    for i in range(10):
        barrier, won = threading.Barrier(2), []

        def claim(engine, owner: str) -> None:
            barrier.wait()
            if report_tasks.claim(engine, f"r{i}", 0, owner, now_us(), 60_000_000) is not None:
                won.append(owner)

        threads = [threading.Thread(target=claim, args=(e, o)) for e, o in ((a, "A"), (b, "B"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, won


def test_a_live_lease_is_never_taken_and_an_expired_one_is(engines) -> None:
    a, b = engines
    report_jobs.create(a, "r", PARAMS)
    held = report_tasks.claim(a, "r", 0, "A", now_us(), 60_000_000)
    assert held is not None and held.attempts == 1
    assert report_tasks.claim(b, "r", 0, "B", now_us(), 60_000_000) is None
    # A's lease runs out (its heartbeat stopped): B takes the task, A can no longer save.
    later = now_us() + 61_000_000
    taken = report_tasks.claim(b, "r", 0, "B", later, 60_000_000)
    assert taken is not None and taken.attempts == 2
    assert report_tasks.store_result(a, held, "A", b"x", 1, 0) == (False, 0, 1)
    assert report_tasks.complete(a, held.id, "A") is False
    assert report_tasks.store_result(b, taken, "B", b"y", 1, 0) == (True, 1, 1)


def test_heartbeat_keeps_a_running_task_and_the_sweep_takes_over_a_dead_one(engines, tmp_path: Path) -> None:
    a, b = engines
    # A 3 s lease renewed every second: a machine under load that stalls the heartbeat thread
    # for a while (the tests share two cores with other work) does not end it.
    live = ReportRunner(a, FileStore(tmp_path), lease_seconds=3)
    other = ReportRunner(b, FileStore(tmp_path), lease_seconds=3)
    try:
        report_jobs.create(a, "alive", PARAMS)
        report_jobs.create(a, "dead", PARAMS)
        claimed = now_us()
        assert report_tasks.claim(a, "alive", 0, live.context.leases.owner, claimed, live.context.leases.lease_us)
        assert report_tasks.claim(a, "dead", 0, "gone", now_us(), 1_000_000)
        # Past the lease "alive" was claimed with: only the heartbeat keeps it held.
        wait_until(lambda: now_us() > claimed + live.context.leases.lease_us + 500_000
                   and "dead" in {t.report_id for t in report_tasks.expired(b, now_us())},
                   30, "the claims' first leases to run out")
        assert {t.report_id for t in report_tasks.expired(b, now_us())} == {"dead"}
        other.queue.close()  # the other runner sweeps but must not run anything here
        other.queue = _Recorder()
        assert other.sweep() == 1 and other.queue.sent == [("dead", 0)]
        assert other.sweep() == 0  # re-queued once, not again while its new lease lasts
    finally:
        live.shutdown()
        other.shutdown()


class _Recorder:
    """A queue that only records what it was given (the sweep's decisions, without running them)."""

    local = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def enqueue(self, report_id: str, shard: int) -> None:
        self.sent.append((report_id, shard))

    def close(self) -> None:
        pass


def test_a_task_that_keeps_dying_fails_the_report_with_a_reason(engines, tmp_path: Path) -> None:
    a, b = engines
    runner = ReportRunner(b, FileStore(tmp_path), lease_seconds=1)
    runner.queue.close()
    runner.queue = _Recorder()
    try:
        report_jobs.create(a, "r", PARAMS)
        for attempt in range(3):
            assert report_tasks.claim(a, "r", 0, f"dead{attempt}", now_us() - (5 - attempt) * 2_000_000, 1)
        runner.sweep()
        report = report_jobs.get(a, "r")
        assert report.status == "failed" and "gave up after 3 attempts" in report.error
        assert runner.queue.sent == []
    finally:
        runner.shutdown()


@pytest.mark.parametrize("shards", [1, 3])
def test_sharded_report_is_byte_identical_to_the_foreground_report(engines, tmp_path: Path, shards: int) -> None:
    a, b = engines
    load_directory(a, combine_examples(["ex1", "ex2", "ex3", "ex4", "ex5"], tmp_path / "in"))
    expected = report_csv_text(build_report(a).frame)
    runners = [ReportRunner(e, DatabaseStore(e), lease_seconds=2, shards=shards, workers=2) for e in (a, b)]
    try:
        report = runners[0].submit(ReportRequest())
        wait_until(lambda: report_jobs.get(b, report.id).status == "complete", 60, "the report to complete")
        stored = runners[1].fetch(report_jobs.get(b, report.id))
        assert stored.content.decode() == expected
        assert report_jobs.get(a, report.id).shards_total == shards
    finally:
        for runner in runners:
            runner.shutdown()


def test_sharded_report_still_warns_about_store_ids_the_database_never_saw(engines, tmp_path: Path) -> None:
    a, _ = engines
    load_directory(a, combine_examples(["ex1", "ex2", "ex3", "ex4", "ex5"], tmp_path / "in"))
    runner = ReportRunner(a, DatabaseStore(a), lease_seconds=2, shards=3, workers=2)
    try:
        wanted = ("store-1", "store-2", "store-3", "no-such-store")
        report = runner.submit(ReportRequest(store_ids=wanted))
        wait_until(lambda: report_jobs.get(a, report.id).status == "complete", 60, "the report to complete")
        done = report_jobs.get(a, report.id)
        assert done.shards_total == 3
        assert "no-such-store" in (done.warnings or "")
        assert runner.fetch(done).content.decode().count("\n") == 1 + 3
    finally:
        runner.shutdown()


def test_work_of_a_dead_holder_runs_again_within_job_lease_seconds(engines, tmp_path: Path) -> None:
    """SPEC 6: within JOB_LEASE_SECONDS of its holder's death, whatever the phase of the
    heartbeat and of the other process's sweep."""
    a, b = engines
    lease_seconds = 3
    holder = ReportRunner(a, FileStore(tmp_path), lease_seconds=lease_seconds)
    other = ReportRunner(b, FileStore(tmp_path), lease_seconds=lease_seconds)
    other.queue.close()
    recorder = other.queue = _Recorder()
    try:
        report_jobs.create(a, "r", PARAMS)
        claimed = now_us()
        assert report_tasks.claim(a, "r", 0, holder.context.leases.owner, claimed, holder.context.leases.lease_us)
        wait_until(lambda: now_us() > claimed + holder.context.leases.lease_us + 500_000, 30,
                   "the first lease to run out")  # held past it by the heartbeat alone
        assert report_tasks.expired(b, now_us()) == []
        holder.context.leases.stop()  # the holder dies
        other.start()
        # SPEC 6: within JOB_LEASE_SECONDS; one more second for a loaded machine's scheduling
        # (the sweep thread and this one share two cores with other work).
        wait_until(lambda: recorder.sent == [("r", 0)], lease_seconds + 1, "the dead holder's shard to be re-queued")
    finally:
        holder.shutdown()
        other.shutdown()


def test_a_queued_shard_waits_out_a_database_outage_instead_of_being_stranded(
        engines, tmp_path: Path, monkeypatch) -> None:
    """threads: a shard waiting in this process's pool is held by this process's heartbeat, so a
    claim that fails (database down) must be tried again, or nothing would ever run it."""
    from sqlalchemy.exc import OperationalError

    a, _ = engines
    load_directory(a, combine_examples(["ex1", "ex2"], tmp_path / "in"))
    real_claim = report_tasks.claim
    failures = []

    def claim_while_down(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("claim", {}, Exception("(2003, \"Can't connect to MySQL server\")"))
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(report_tasks, "claim", claim_while_down)
    runner = ReportRunner(a, FileStore(tmp_path / "out"), lease_seconds=2, workers=1)
    try:
        report = runner.submit(ReportRequest())
        wait_until(lambda: report_jobs.get(a, report.id).status == "complete", 60, "the report to complete")
        assert len(failures) == 2
    finally:
        runner.shutdown()
