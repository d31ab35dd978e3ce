"""`flask --app app consume-polls` (SPEC 10): the broker consumer of live polls, in the foreground."""
from __future__ import annotations

import signal
import threading
from typing import Any

import click
from flask import Flask

from controllers.cli_errors import service_errors
from controllers.cli_output import start_command
from runtime import runtime_of
from services.ingestion.consumer import ConsumerSettings, PollConsumer


def register_consumer_cli(app: Flask) -> None:
    @app.cli.command("consume-polls")
    @click.option("--queue", default=None, help="Queue to consume (default: POLL_QUEUE, store_monitor.polls).")
    @click.option("--batch", "batch_messages", type=click.IntRange(1, 10_000), default=500, show_default=True,
                  help="Messages per transaction at most (also the prefetch limit).")
    def consume_polls(queue: str | None, batch_messages: int) -> None:
        """Consume live polls from RabbitMQ (POLL_BROKER_URL, default BROKER_URL) until SIGTERM or
        Ctrl-C; each batch of messages is committed, then acknowledged."""
        runtime = runtime_of(app)
        start_command(runtime)
        config = runtime.config
        stop = threading.Event()

        def on_signal(_signum: int, _frame: Any) -> None:
            stop.set()  # the current batch is finished (committed and acknowledged) first

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        with service_errors():
            runtime.ensure_schema()
            consumer = PollConsumer(runtime.engine, config.poll_broker_url or config.broker_url,
                                    queue or config.poll_queue, runtime.clock,
                                    ConsumerSettings(batch_messages=batch_messages))
            stats = consumer.run(stop)
        click.echo(f"stopped: {stats.messages} messages, {stats.polls_accepted} polls accepted, "
                   f"{stats.polls_duplicate} duplicates, {stats.polls_rejected} rejected, "
                   f"{stats.dead_lettered} messages to the rejected queue")
