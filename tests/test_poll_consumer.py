"""`flask --app app consume-polls` (SPEC 10) as real processes on RabbitMQ (the test vhost, a queue
of each test's own) and SQLite or MySQL: a consumer killed with SIGKILL mid-stream and one stopped
with SIGTERM lose nothing and double nothing (the database equals loading the same polls from a
CSV), malformed messages land in `<queue>.rejected` with their reasons, two consumers share a
queue, and a bad broker URL is a clear error."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, text

from conftest import write_inputs
from models.db import make_engine, read_tx
from services.ingest.loader import load_directory
from support.broker import (
    ConsumerProcess, delete_queues, publish, rabbitmq_or_fail, ready_count, take_all, unique_queue,
)
from support.server import ROOT
from support.waiting import wait_until

MALFORMED: dict[bytes, str] = {
    b"{not json": "not valid JSON",
    b"42": "neither a poll object nor a JSON array",
    b"[]": "no poll in the message",
    b"\x80\x81 binary": "not UTF-8",
    b"\xff\xfe\x00garbage": "not valid JSON",  # a UTF-16 byte-order mark, then nothing JSON
    json.dumps([{"store_id": "x"}, 7]).encode():
        "no valid poll: #0: missing status, timestamp_utc; #1: not a poll object",
    json.dumps({"store_id": "y", "status": "active", "timestamp_utc": "2023-13-01 00:00:00"}).encode():
        "no valid poll: #0: bad timestamp",
}


def poll(store: str, status: str, ts: str) -> dict[str, str]:
    return {"store_id": store, "status": status, "timestamp_utc": ts}


def make_messages(count: int, seed: int) -> tuple[list[bytes], list[dict[str, str]], bytes]:
    """`count` messages of one poll or an array of polls (repeats and conflicting statuses among
    them), the malformed ones and one partly invalid array mixed in. Returns the bodies, every
    valid poll, and the partly invalid body."""
    rng = random.Random(seed)
    bodies: list[bytes] = []
    valid: list[dict[str, str]] = []
    for _ in range(count):
        size = rng.choice([1, 1, 1, 2, 5, 12])
        polls = []
        for _ in range(size):
            minute = rng.randrange(0, 2 * 24 * 60)
            ts = f"2023-01-{21 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}:00"
            polls.append(poll(f"store-{rng.randrange(150)}", rng.choice(["active", "active", "Inactive"]), ts))
        valid += polls
        bodies.append(json.dumps(polls[0] if size == 1 and rng.random() < 0.5 else polls).encode())
    partial_polls = [poll("partial-store", "active", "2023-01-22 08:00:00"), {"store_id": "p", "status": "?"}]
    partial = json.dumps(partial_polls).encode()
    valid.append(partial_polls[0])
    extra = list(MALFORMED) + [partial] + bodies[:: max(1, count // 50)]  # and some sent twice
    for body in extra:
        bodies.insert(rng.randrange(len(bodies) + 1), body)
    return bodies, valid, partial


def stored_polls(engine: Engine) -> list[tuple[str, int, int]]:
    with read_tx(engine) as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, p.ts_us, p.active FROM polls p JOIN stores s ON s.id = p.store_key")).all()
    return sorted((str(s), int(t), int(a)) for s, t, a in rows)


def poll_count(engine: Engine) -> int:
    try:
        with read_tx(engine) as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM polls")).scalar_one())
    except Exception:  # the consumer has not created the tables yet
        return 0


def csv_reference(polls: list[dict[str, str]], tmp_path: Path) -> list[tuple[str, int, int]]:
    """The same polls loaded from a CSV by the loader, into a database of their own."""
    folder = write_inputs(tmp_path / "reference", polls="store_id,status,timestamp_utc\n" + "".join(
        f"{p['store_id']},{p['status']},{p['timestamp_utc']}\n" for p in polls))
    engine = make_engine(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    try:
        from models.db import init_schema

        init_schema(engine)
        load_directory(engine, folder)
        return stored_polls(engine)
    finally:
        engine.dispose()


@pytest.fixture
def queue() -> Iterator[str]:
    rabbitmq_or_fail()
    name = unique_queue()
    yield name
    delete_queues(name, name + ".rejected")


@pytest.fixture
def consumers(database_url: str, queue: str, tmp_path: Path) -> Iterator[list[ConsumerProcess]]:
    started: list[ConsumerProcess] = []
    yield started
    for consumer in started:
        consumer.cleanup()
        print(f"--- {consumer.log_path.name} ---\n" + "\n".join(consumer.logs().splitlines()[-30:]))


def consumer_env(database_url: str, queue: str) -> dict[str, str]:
    from support.broker import RABBITMQ_URL

    return {"DATABASE_URL": database_url, "POLL_BROKER_URL": RABBITMQ_URL, "POLL_QUEUE": queue,
            "RELOAD_INTERVAL_SECONDS": "0"}


def test_killed_and_stopped_consumers_lose_nothing_and_double_nothing(database_url: str, queue: str, consumers,
                                                                       tmp_path: Path) -> None:
    bodies, valid, partial = make_messages(3_000, seed=10)
    expected = csv_reference(valid, tmp_path)
    publish(queue, bodies)
    engine = make_engine(database_url)
    env = consumer_env(database_url, queue)
    try:
        def start(name: str) -> ConsumerProcess:
            consumer = ConsumerProcess(env, tmp_path / f"{name}.log", "--batch", "5").start()
            consumers.append(consumer)
            return consumer

        first = start("first")
        wait_until(lambda: poll_count(engine) > len(expected) // 5, 120, "the first consumer to commit polls")
        first.kill()  # SIGKILL: wherever it was, its unacknowledged messages go back to the queue
        at_kill = poll_count(engine)
        assert at_kill < len(expected), "the first consumer finished before it could be killed mid-stream"

        second = start("second")
        wait_until(lambda: poll_count(engine) > at_kill + (len(expected) - at_kill) // 3, 120, "the second consumer")
        assert second.terminate() == 0  # SIGTERM: the current batch is finished, then a clean exit
        assert "stopped:" in second.logs() and "Traceback" not in second.logs()

        third = start("third")
        wait_until(lambda: poll_count(engine) == len(expected) and ready_count(queue) == 0, 120,
                   "every message to be consumed")
        assert third.terminate() == 0 and "Traceback" not in third.logs()

        assert stored_polls(engine) == expected  # nothing lost, nothing doubled
        assert ready_count(queue) == 0
        with read_tx(engine) as conn:
            doubled = conn.execute(text(
                "SELECT COUNT(*) FROM (SELECT store_key, ts_us, active FROM poll_arrivals "
                "GROUP BY store_key, ts_us, active HAVING COUNT(*) > 1) AS d")).scalar_one()
        assert doubled == 0  # a redelivered batch adds no arrival either

        rejected = take_all(queue + ".rejected")
        reasons = {r.body: r.headers for r in rejected}  # (a kill between republish and ack may repeat one)
        assert set(reasons) == set(MALFORMED) | {partial}
        for body, reason in MALFORMED.items():
            assert reason in reasons[body]["x-rejected-reason"], (body, reasons[body])
            assert reasons[body]["x-source-queue"] == queue
        assert reasons[partial]["x-rejected-partial"] is True
        assert json.loads(reasons[partial]["x-rejected-polls"]) == [{"index": 1, "reason": "missing timestamp_utc"}]
    finally:
        engine.dispose()


def test_two_consumers_at_once(database_url: str, queue: str, consumers, tmp_path: Path) -> None:
    bodies, valid, _ = make_messages(2_000, seed=11)
    expected = csv_reference(valid, tmp_path)
    publish(queue, bodies)
    engine = make_engine(database_url)
    env = consumer_env(database_url, queue)
    try:
        pair = [ConsumerProcess(env, tmp_path / f"consumer-{i}.log", "--batch", "10").start() for i in range(2)]
        consumers.extend(pair)
        wait_until(lambda: poll_count(engine) == len(expected) and ready_count(queue) == 0, 120,
                   "every message to be consumed")
        assert [c.terminate() for c in pair] == [0, 0]
        assert stored_polls(engine) == expected
        counts = []
        for consumer in pair:
            line = [ln for ln in consumer.logs().splitlines() if ln.startswith("stopped:")][-1]
            counts.append(int(line.split()[1]))
        assert all(c > 0 for c in counts) and sum(counts) >= len(bodies), counts  # both took a share
        assert len(take_all(queue + ".rejected")) >= len(MALFORMED) + 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("settings, message", [
    ({"POLL_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//"},
     "cannot reach the poll broker amqp://guest:***@127.0.0.1:1//"),
    ({"POLL_BROKER_URL": "amqp://guest:wrong-password@127.0.0.1:5672/store_monitor_test"},
     "cannot reach the poll broker"),
    ({"POLL_BROKER_URL": "redis://127.0.0.1:6379/0"}, "must be a RabbitMQ URL"),
    ({"POLL_BROKER_URL": "127.0.0.1:5672"}, "must be a RabbitMQ URL"),
    ({}, "set POLL_BROKER_URL"),
])
def test_a_bad_broker_is_a_clear_error(settings: dict[str, str], message: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("POLL_BROKER_URL", "BROKER_URL", "POLL_QUEUE")}
    env.update(settings, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "consume-polls"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "wrong-password" not in done.stderr
