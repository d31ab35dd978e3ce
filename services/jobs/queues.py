"""The queue that carries report tasks to whoever runs them: a thread pool or Celery workers.

Both carry only (report_id, shard); everything else is in the database, so a lost or
duplicated message costs nothing: the task claims its row or does nothing.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

from config import Config
from services.errors import Unavailable

log = logging.getLogger(__name__)

TASK_NAME = "store_monitor.run_report_task"
BROKER_TIMEOUT_SECONDS = 5


class QueueUnavailable(Unavailable):
    """The work could not be handed over (the broker is unreachable)."""


class JobQueue(Protocol):
    # True when queued tasks wait inside this process, so this process leases them while queued.
    local: bool

    def enqueue(self, report_id: str, shard: int) -> None: ...

    def close(self) -> None: ...


class ThreadQueue:
    """REPORT_BACKEND=threads: today's in-process pool; nothing else to install or run."""

    local = True

    def __init__(self, workers: int, run: Callable[[str, int], None]) -> None:
        self._run = run
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report")

    def enqueue(self, report_id: str, shard: int) -> None:
        self._executor.submit(self._run_logged, report_id, shard)

    def _run_logged(self, report_id: str, shard: int) -> None:
        """The pool would keep an escaping exception in a future nobody reads: log it."""
        try:
            self._run(report_id, shard)
        except Exception:
            log.exception("report %s shard %d: the task stopped with an error", report_id, shard)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class CeleryQueue:
    """REPORT_BACKEND=celery: tasks go to the broker; `celery -A make_celery worker` runs them."""

    local = False

    def __init__(self, celery_app: Any) -> None:
        self.celery_app = celery_app

    def enqueue(self, report_id: str, shard: int) -> None:
        try:
            self.celery_app.send_task(
                TASK_NAME, args=[report_id, shard], retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
            )
        except Exception as exc:  # kombu raises several types for one cause: no broker
            raise QueueUnavailable(
                f"reports cannot be started right now: the report broker is unreachable: {exc}") from exc

    def close(self) -> None:
        pass


def celery_settings(config: Config) -> dict[str, Any]:
    """Celery settings chosen so a killed worker's work runs again promptly, without loops.

    acks_late + reject_on_worker_lost: a message is acknowledged only after its task ran, so
    RabbitMQ hands a killed worker's message to another worker at once. prefetch 1: a worker
    holds one message beyond the one it runs, never a backlog that dies with it. Redis
    redelivers only after visibility_timeout; instead of lowering it (a long shard would be
    redelivered while running), the lease sweep re-queues expired work within
    JOB_LEASE_SECONDS; any duplicate message finds its task claimed or done and does nothing.
    The attempt counter in the database caps retries.
    """
    return {
        "broker_url": config.broker_url,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "broker_connection_timeout": BROKER_TIMEOUT_SECONDS,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": 3600},
        "worker_hijack_root_logger": False,
    }


def check_broker(celery_app: Any) -> None:
    """Connect once; QueueUnavailable with the reason if the broker does not answer."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        raise QueueUnavailable(f"cannot reach the broker: {exc}") from exc
