"""The broker consumer of live polls (SPEC 10): RabbitMQ queue POLL_QUEUE → the database.

At least once, made exact by the idempotent write: messages are taken a batch at a time (up to
`batch_messages` messages or `batch_polls` polls, or whatever arrived within `batch_wait`
seconds), their valid polls are committed in ONE transaction, and only then are the messages
acknowledged. A consumer killed anywhere before the ack leaves them unacknowledged: RabbitMQ
delivers them again (to this consumer restarted, or to another) and the polls already committed
add nothing. The prefetch limit bounds what one consumer holds, so several consumers share the
queue.

A message that is not JSON, or holds no valid poll, can never be processed: it is republished to
`<POLL_QUEUE>.rejected` (with publisher confirms) with its reason in the `x-rejected-reason`
header, then acknowledged, so it never blocks the queue. The valid polls of a partly invalid
message are kept and the message is also copied there, with `x-rejected-partial: true` and the
rejected polls' indexes and reasons in `x-rejected-polls`.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import numpy as np
from kombu import Connection, Consumer, Producer, Queue
from kombu.message import Message
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models.base import datetime_to_micros
from services.errors import InvalidInput, Unavailable
from services.ingestion.poll_batch import message_items, parse_items
from services.ingestion.writer import commit_polls

log = logging.getLogger(__name__)

RABBITMQ_SCHEMES = ("amqp", "amqps", "pyamqp")
REJECTED_SUFFIX = ".rejected"
MAX_LISTED_REJECTIONS = 100
CONNECT_TIMEOUT_SECONDS = 5.0
DATABASE_RETRY_SECONDS = (0.5, 1, 2, 5, 10)


@dataclass
class ConsumerSettings:
    batch_messages: int = 500  # also the prefetch limit: what one consumer holds unacknowledged
    batch_polls: int = 10_000
    batch_wait: float = 0.05  # seconds to wait for more messages once one arrived
    idle_wait: float = 0.5  # seconds between checks of the stop flag while the queue is empty


@dataclass
class ConsumerStats:
    messages: int = 0
    polls_accepted: int = 0
    polls_duplicate: int = 0
    polls_rejected: int = 0
    dead_lettered: int = 0
    batches: int = 0


def rejected_queue_name(queue: str) -> str:
    return queue + REJECTED_SUFFIX


def redacted_broker_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{credentials}@{host}"


def check_broker_url(url: str | None) -> str:
    """The poll broker must be RabbitMQ (amqp://…); InvalidInput otherwise."""
    if not url:
        raise InvalidInput("no poll broker: set POLL_BROKER_URL (or BROKER_URL) to amqp://user:password@host:5672/vhost")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in RABBITMQ_SCHEMES:
        raise InvalidInput(f"POLL_BROKER_URL must be a RabbitMQ URL (amqp://…), got {redacted_broker_url(url)!r}")
    return url


class PollConsumer:
    """Consumes POLL_QUEUE until `stop` is set; the current batch is finished (committed, acknowledged)
    before returning."""

    def __init__(self, engine: Engine, broker_url: str, queue: str, clock: Callable[[], datetime],
                 settings: ConsumerSettings | None = None) -> None:
        self.engine = engine
        self.broker_url = check_broker_url(broker_url)
        self.queue_name = queue
        self.clock = clock
        self.settings = settings or ConsumerSettings()
        self.stats = ConsumerStats()
        self._pending: list[Message] = []

    # ---- connection ------------------------------------------------------------------------
    def connect(self) -> Connection:
        """A connection to the broker, or Unavailable with the reason (never a traceback)."""
        connection = Connection(self.broker_url, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                transport_options={"confirm_publish": True})
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        except Exception as exc:  # socket errors, refused logins, unknown vhosts: all say "cannot reach"
            connection.release()
            raise Unavailable(f"cannot reach the poll broker {redacted_broker_url(self.broker_url)}: "
                              f"{type(exc).__name__}: {exc}") from None
        return connection

    def queues(self) -> tuple[Queue, Queue]:
        polls = Queue(self.queue_name, routing_key=self.queue_name, durable=True)
        rejected_name = rejected_queue_name(self.queue_name)
        return polls, Queue(rejected_name, routing_key=rejected_name, durable=True)

    def run(self, stop: threading.Event) -> ConsumerStats:
        """Consume until `stop`; a lost broker connection is reopened (messages it held are
        redelivered by the broker, and their polls add nothing the second time)."""
        connection = self.connect()
        delay = 1.0
        try:
            while not stop.is_set():
                try:
                    self._consume(connection, stop)
                    delay = 1.0
                except (OSError, *connection.connection_errors) as exc:
                    self._pending.clear()  # unacknowledged: the broker delivers them again
                    if stop.is_set():
                        break
                    log.warning("poll broker connection lost (%s): reconnecting in %.0fs", exc, delay)
                    stop.wait(delay)
                    delay = min(delay * 2, 30.0)
                    connection.release()
                    connection = Connection(self.broker_url, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                            transport_options={"confirm_publish": True})
        finally:
            connection.release()
        log.info("poll consumer stopped: %d messages, %d polls accepted, %d duplicates, %d rejected, "
                 "%d messages to %s", self.stats.messages, self.stats.polls_accepted, self.stats.polls_duplicate,
                 self.stats.polls_rejected, self.stats.dead_lettered, rejected_queue_name(self.queue_name))
        return self.stats

    def _consume(self, connection: Connection, stop: threading.Event) -> None:
        channel = connection.channel()
        polls_queue, rejected_queue = self.queues()
        polls_queue(channel).declare()
        rejected_queue(channel).declare()
        producer = Producer(channel)
        consumer = Consumer(channel, queues=[polls_queue], on_message=self._receive, no_ack=False,
                            prefetch_count=self.settings.batch_messages)
        with consumer:
            log.info("consuming polls from %s on %s (batches of up to %d messages)", self.queue_name,
                     redacted_broker_url(self.broker_url), self.settings.batch_messages)
            while not stop.is_set():
                if not self._fill(connection, stop):
                    continue
                self._process(producer, rejected_queue, stop)

    def _receive(self, message: Message) -> None:
        self._pending.append(message)

    def _fill(self, connection: Connection, stop: threading.Event) -> bool:
        """Collect a batch: wait (idle_wait at a time) for a first message, then up to batch_wait
        for more. True when there is something to process."""
        settings = self.settings
        deadline: float | None = None
        while len(self._pending) < settings.batch_messages:
            if deadline is None:
                timeout = settings.idle_wait
            else:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
            try:
                connection.drain_events(timeout=timeout)
            except socket.timeout:
                if deadline is not None or stop.is_set():
                    break
                continue
            if deadline is None and self._pending:
                deadline = time.monotonic() + settings.batch_wait
            if self._pending and self._pending_polls_estimate() >= settings.batch_polls:
                break
        return bool(self._pending)

    def _pending_polls_estimate(self) -> int:
        # A message's poll count is only known once parsed; ~120 bytes of JSON a poll.
        return sum(len(m.body) for m in self._pending) // 120

    # ---- one batch ---------------------------------------------------------------------------
    def _process(self, producer: Producer, rejected_queue: Queue, stop: threading.Event) -> None:
        messages, self._pending = self._pending, []
        now = self.clock()
        # Every message's items are judged together (one vectorised pass for the batch), then
        # each message gets back its own rejections, indexed within the message.
        items: list[object] = []
        spans: list[tuple[int, int] | None] = []
        reasons: list[str | None] = []
        for message in messages:
            body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8")
            try:
                mine = message_items(body)
            except InvalidInput as exc:
                spans.append(None)
                reasons.append(exc.message)
                continue
            spans.append((len(items), len(items) + len(mine)))
            reasons.append(None)
            items.extend(mine)
        parsed = parse_items(items, datetime_to_micros(now))
        if parsed.valid:
            written = self._commit(parsed.store_ids, parsed.ts_us, parsed.active, now, stop)
            if written is None:
                return  # stopped while the database was away: nothing acknowledged, all redelivered
            self.stats.polls_accepted += written.accepted
            self.stats.polls_duplicate += written.duplicates
        self.stats.polls_rejected += len(parsed.rejected)
        rejected = iter(parsed.rejected)  # sorted by index, as the messages' spans are
        pending = next(rejected, None)
        for message, span, reason in zip(messages, spans, reasons):
            own: list[tuple[int, str]] = []
            if span is not None:
                lo, hi = span
                while pending is not None and pending[0] < hi:
                    own.append((pending[0] - lo, pending[1]))
                    pending = next(rejected, None)
                if len(own) == hi - lo:
                    reason = ("no valid poll: " + "; ".join(f"#{i}: {r}" for i, r in own[:3])
                              if own else "no poll in the message")
            if reason is not None or own:
                size = 0 if span is None else span[1] - span[0]
                self._dead_letter(producer, rejected_queue, message, reason, own, size)
        messages[-1].ack(multiple=True)  # every message of the batch, in one frame
        self.stats.messages += len(messages)
        self.stats.batches += 1

    def _commit(self, store_ids: np.ndarray, ts_us: np.ndarray, active: np.ndarray, now: datetime,
                stop: threading.Event):
        """Commit, retrying while the database is away (the messages stay unacknowledged)."""
        attempt = 0
        while True:
            try:
                return commit_polls(self.engine, store_ids, ts_us, active, now)
            except DBAPIError as exc:
                delay = DATABASE_RETRY_SECONDS[min(attempt, len(DATABASE_RETRY_SECONDS) - 1)]
                attempt += 1
                log.warning("database error committing %d polls (%s): retrying in %.1fs", len(store_ids),
                            getattr(exc, "orig", exc), delay)
                if stop.wait(delay):
                    return None

    def _dead_letter(self, producer: Producer, rejected_queue: Queue, message: Message, reason: str | None,
                     rejections: list[tuple[int, str]], size: int) -> None:
        """Republish the message to the rejected queue with why; returns once the broker confirmed."""
        headers: dict[str, Any] = {"x-source-queue": self.queue_name, "x-rejected-at": self.clock().isoformat()}
        if reason is not None:
            headers["x-rejected-reason"] = reason[:1000]
        else:
            headers["x-rejected-reason"] = f"{len(rejections)} of {size} polls rejected"
            headers["x-rejected-partial"] = True
        if rejections:
            headers["x-rejected-polls"] = json.dumps(
                [{"index": i, "reason": r} for i, r in rejections[:MAX_LISTED_REJECTIONS]])
        body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8")
        producer.publish(body, exchange="", routing_key=rejected_queue.name, declare=[rejected_queue],
                         content_type=message.content_type or "application/octet-stream",
                         content_encoding="binary", headers=headers, delivery_mode=2)
        self.stats.dead_lettered += 1
        log.warning("message to %s: %s", rejected_queue.name, headers["x-rejected-reason"])
