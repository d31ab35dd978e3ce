"""SPEC 10 end to end with real `python app.py` processes: polls through POST /polls, alerts raised
exactly once by two API processes on one MySQL database, signed webhooks to a real receiver, and
the Server-Sent Events stream read over real HTTP (bounded, and fed by the other process)."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver

SECRET = "processes-secret"


def instant(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventReader:
    """Reads a GET /events stream in a thread; `events` collects (event name, data) pairs."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/events")
        self.sock = self.conn.sock
        self.response = self.conn.getresponse()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        name = None
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                text = line.decode().rstrip("\n")
                if text.startswith("event: "):
                    name = text[7:]
                elif text.startswith("data: ") and name:
                    self.events.append((name, json.loads(text[6:])))
                    name = None
        except (OSError, ValueError):
            return

    def close(self) -> None:
        """Leave like a browser tab that is closed: the connection goes away under the reader."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
        self._thread.join(10)


def env_for(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "csv").mkdir(exist_ok=True)
    return {"DATABASE_URL": database_url, "CSV_DIR": str(tmp_path / "csv"), "REPORT_DIR": str(tmp_path / "reports"),
            "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "true", **extra}


def post_polls(server: ServerProcess, polls: list[dict[str, str]]) -> None:
    response = server.post("/polls", json_body=polls)
    assert response.status == 200, response.body[:300]
    assert response.json()["accepted"] == len(polls)


@pytest.mark.mysql
def test_two_api_processes_raise_each_alert_once(mysql_url: str, tmp_path: Path) -> None:
    stores = ["p1", "p2", "p3"]
    with Receiver() as receiver:
        servers = [ServerProcess(env_for(mysql_url, tmp_path), tmp_path / f"api{i}.log", name=f"api{i}")
                   for i in range(2)]
        try:
            for server in servers:
                server.start()
            created = servers[0].post("/alerts", json_body={"webhook_url": receiver.url})
            assert created.status == 201, created.body
            alert_id = created.json()["alert_id"]
            stream = EventReader(servers[1].port)
            assert stream.response.status == 200
            assert stream.response.getheader("Content-Type").startswith("text/event-stream")
            flips = 4
            for n in range(flips):  # down, up, down, up: each store through each process in turn
                status = "inactive" if n % 2 == 0 else "active"
                for i, store in enumerate(stores):
                    post_polls(servers[(n + i) % 2],
                               [{"store_id": store, "status": status, "timestamp_utc": instant(60 - n)}])
                expected = len(stores) * (n + 1)
                receiver.wait_for(expected, timeout=30)
            # Every event delivered, then nothing more arrives from either process.
            wait_until(lambda: all(e["webhook"] and e["webhook"]["status"] == "delivered" for e in
                                   servers[1].get(f"/alerts/{alert_id}").json()["events"]), 30, "deliveries")
            shown = servers[0].get(f"/alerts/{alert_id}").json()
            assert len(shown["events"]) == len(stores) * flips
            bodies = [json.loads(r.body) for r in receiver.received]
            assert len(bodies) == len(stores) * flips, bodies
            assert all(r.signature_ok(SECRET) for r in receiver.received)
            for store in stores:
                names = [b["event"] for b in bodies if b["store_id"] == store]
                assert names == ["store.down", "store.up"] * (flips // 2), (store, names)
            # The stream on process 1 saw the transitions raised on either process.
            wait_until(lambda: {(n, e["store_id"]) for n, e in stream.events} >= {
                (name, store) for store in stores for name in ("store.down", "store.up")}, 20, "the event stream")
            stream.close()
        finally:
            for server in servers:
                server.cleanup()


def test_event_stream_over_http_is_bounded(database_url: str, tmp_path: Path) -> None:
    server = ServerProcess(env_for(database_url, tmp_path, EVENT_STREAMS_MAX="1"), tmp_path / "api.log")
    try:
        server.start()
        first = EventReader(server.port)
        assert first.response.status == 200
        busy = server.get("/events", timeout=10)
        assert busy.status == 503 and "event streams" in busy.json()["error"]
        started = time.monotonic()
        post_polls(server, [{"store_id": "sse", "status": "inactive", "timestamp_utc": instant(5)}])
        wait_until(lambda: any(n == "store.down" and e["store_id"] == "sse" for n, e in first.events), 10,
                   "store.down on the stream")
        assert time.monotonic() - started < 10
        board = server.get("/stores/status").json()
        assert [s["store_id"] for s in board["stores"]] == ["sse"]
        first.close()
        # The slot is given back once the server notices the client left, at its next write to it
        # (an event or a heartbeat): new transitions come until a stream can be opened again.
        flips = iter(range(1000))

        def slot_free() -> bool:
            n = next(flips)
            post_polls(server, [{"store_id": "sse", "status": "active" if n % 2 == 0 else "inactive",
                                 "timestamp_utc": instant(3 - n * 0.001)}])
            return _first_line_ok(server)

        wait_until(slot_free, 30, "a free stream slot", interval=0.3)
    finally:
        server.cleanup()


def _first_line_ok(server: ServerProcess) -> bool:
    """Open a stream, read its first frame and leave: True when a slot was free."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/events")
        response = conn.getresponse()
        return response.status == 200 and response.readline().startswith(b"retry:")
    finally:
        conn.close()


@pytest.mark.mysql
def test_two_api_processes_and_two_consumers_raise_each_alert_once(mysql_url: str, tmp_path: Path) -> None:
    """Polls from RabbitMQ through two `flask consume-polls` processes (which run no evaluator):
    the evaluators of two API processes find the arrivals in the database and announce each
    transition once."""
    from tests.support.broker import (
        RABBITMQ_URL, ConsumerProcess, delete_queues, publish, rabbitmq_or_fail, unique_queue,
    )

    rabbitmq_or_fail()
    queue = unique_queue()
    stores = ["q1", "q2", "q3", "q4"]
    servers: list[ServerProcess] = []
    consumers: list[ConsumerProcess] = []
    try:
        with Receiver() as receiver:
            servers = [ServerProcess(env_for(mysql_url, tmp_path), tmp_path / f"api{i}.log", name=f"api{i}")
                       for i in range(2)]
            for server in servers:
                server.start()
            consumer_env = {"DATABASE_URL": mysql_url, "POLL_BROKER_URL": RABBITMQ_URL, "POLL_QUEUE": queue,
                            "RELOAD_INTERVAL_SECONDS": "0"}
            consumers = [ConsumerProcess(consumer_env, tmp_path / f"consumer{i}.log", "--batch", "1").start()
                         for i in range(2)]
            created = servers[1].post("/alerts", json_body={"webhook_url": receiver.url, "store_id": stores})
            assert created.status == 201, created.body
            alert_id = created.json()["alert_id"]
            flips = 4
            for n in range(flips):
                status = "inactive" if n % 2 == 0 else "active"
                publish(queue, [json.dumps({"store_id": s, "status": status, "timestamp_utc": instant(60 - n)})
                                for s in stores])
                receiver.wait_for(len(stores) * (n + 1), timeout=30)
            wait_until(lambda: all(e["webhook"] and e["webhook"]["status"] == "delivered" for e in
                                   servers[0].get(f"/alerts/{alert_id}").json()["events"]), 30, "deliveries")
            bodies = [json.loads(r.body) for r in receiver.received]
            assert len(bodies) == len(stores) * flips
            for store in stores:
                assert [b["event"] for b in bodies if b["store_id"] == store] == ["store.down", "store.up"] * 2
    finally:
        for consumer in consumers:
            consumer.cleanup()
        for server in servers:
            server.cleanup()
        delete_queues(queue, queue + ".rejected")
