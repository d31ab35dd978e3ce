"""Alert latency (issue 19, SPEC 10): a poll that changes a store's status, sent to `POST /polls`,
until its signed `store.down` / `store.up` webhook reaches a receiver — median and p99.

The service runs with SERVICE_ENV (a webhook secret, loopback webhooks allowed). An alert watches
one store; each sample sends one poll flipping its status and waits for the webhook of that
transition. The clock starts before the request is sent, so the figure includes the request and
bounds "poll committed → webhook received" from above. `during` (optional) runs meanwhile, e.g.
the live client's bulk ingestion, to measure it under load.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from benchkit.partkit import PartRow, PartRun, Table, Target
from benchkit.service import Service
from benchkit.settings import StepError

SECRET = "bench-alert-secret"
SERVICE_ENV = {"WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "true"}
SAMPLES = {"full": 60, "tiny": 15}
TARGET_P99_S = 2.0
WAIT_S = 30.0


class _Receiver:
    """Webhook receiver: the arrival time of each (store, event) whose signature checks."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.bad_signatures = 0
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                with receiver.changed:
                    if hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                        receiver.arrivals.append((now, json.loads(body)))
                    else:
                        receiver.bad_signatures += 1
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float) -> float:
        """The arrival time of webhook number `count` (1-based)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise StepError(f"webhook {count} not received within {timeout:g} s")
            return self.arrivals[count - 1][0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _send(service: Service, store_id: str, active: bool) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status, _, body = service.request("POST", "/polls", [{"store_id": store_id, "status": "active" if active
                                                          else "inactive", "timestamp_utc": stamp}])  # type: ignore[arg-type]
    if status != 200:
        raise StepError(f"POST /polls answered {status}: {body[:200]!r}")


def measure(run: PartRun, table: Table, service: Service, kind: str, label: str = "alert latency",
            during: Callable[[], Callable[[], None]] | None = None) -> PartRow:
    """A row of `table`: median and p99 of poll sent → webhook received over SAMPLES transitions."""

    def step(row: PartRow) -> None:
        receiver = _Receiver()
        store_id = f"alert-bench-{time.time_ns()}"
        finish = None
        try:
            status, _, body = service.request("POST", "/alerts", {"webhook_url": receiver.url, "store_id": [store_id]})
            if status != 201:
                raise StepError(f"POST /alerts answered {status}: {body[:200]!r}")
            _send(service, store_id, True)  # the store exists and is up: no event (starting state)
            time.sleep(1.0)  # the evaluator records the alert's starting point (it ticks every 0.5 s)
            finish = during() if during is not None else None
            samples: list[float] = []
            for n in range(1, SAMPLES[run.sizes.name] + 1):
                started = time.monotonic()
                _send(service, store_id, n % 2 == 0)  # down, up, down, …
                samples.append(receiver.wait(n, WAIT_S) - started)
            events = [a[1]["event"] for a in receiver.arrivals]
            if events != ["store.down", "store.up"] * (len(samples) // 2) + ["store.down"] * (len(samples) % 2):
                raise StepError(f"unexpected webhooks: {events[:10]}")
        finally:
            if finish is not None:
                finish()
            receiver.close()
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
        median = statistics.median(ordered)
        row.value = f"p99 {p99 * 1000:,.0f} ms"
        row.rss_mb = service.vm("VmHWM")
        row.notes = (f"{len(samples)} transitions, poll sent → signed webhook received: "
                     f"median {median * 1000:,.0f} ms, "
                     f"p99 {p99 * 1000:,.0f} ms, max {ordered[-1] * 1000:,.0f} ms")
        row.targets.append(Target(f"p99 < {TARGET_P99_S:g} s", p99 < TARGET_P99_S))

    return run.step(table, f"{label} ({kind})", step)
