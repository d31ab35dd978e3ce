"""RabbitMQ for the consumer tests: a queue of the test's own on the test vhost, publishing,
reading a queue back (body and headers), and `flask --app app consume-polls` as a real process."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pytest
from kombu import Connection, Producer, Queue

from support.server import ROOT

RABBITMQ_URL = os.environ.get("RABBITMQ_TEST_URL", "amqp://guest:guest@127.0.0.1:5672/store_monitor_test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def rabbitmq_or_fail() -> str:
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to connect means the same here
        if IN_CI:
            pytest.fail(f"RabbitMQ is required in CI but unreachable at {RABBITMQ_URL}: {exc}")
        pytest.skip(f"RabbitMQ unreachable at {RABBITMQ_URL}: {exc}")
    return RABBITMQ_URL


def unique_queue() -> str:
    """A queue name no other test uses (tests run in parallel on one vhost)."""
    return f"store_monitor.polls.test-{secrets.token_hex(5)}"


def publish(queue: str, bodies: Iterable[bytes | str], content_type: str = "application/json") -> int:
    count = 0
    with Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        target = Queue(queue, routing_key=queue, durable=True)
        target(channel).declare()
        producer = Producer(channel)
        for body in bodies:
            raw = body.encode("utf-8") if isinstance(body, str) else body
            producer.publish(raw, exchange="", routing_key=queue, content_type=content_type,
                             content_encoding="binary", delivery_mode=2)
            count += 1
    return count


@dataclass
class Received:
    body: bytes
    headers: dict[str, Any]


def take_all(queue: str) -> list[Received]:
    """Every message ready in `queue` (acknowledged: the queue is left empty)."""
    taken: list[Received] = []
    with Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                return taken
            body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
            taken.append(Received(body, dict(message.properties.get("application_headers") or {})))


def ready_count(queue: str) -> int:
    with Connection(RABBITMQ_URL) as conn:
        return int(conn.channel().queue_declare(queue, passive=True).message_count)


def delete_queues(*names: str) -> None:
    with Connection(RABBITMQ_URL) as conn:
        channel = conn.channel()
        for name in names:
            try:
                channel.queue_delete(name)
            except Exception:  # already gone: nothing to clean
                channel = conn.channel()


class ConsumerProcess:
    """`python -m flask --app app consume-polls` in its own session, output to a log file."""

    def __init__(self, env: Mapping[str, str], log_path: Path, *args: str) -> None:
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ConsumerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "consume-polls", *self.args],
                                         cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cleanup(self) -> None:
        if self.alive():
            self.kill()
