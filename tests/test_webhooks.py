"""SPEC 7 webhooks against real HTTP receivers on 127.0.0.1: signature, retries with growing
delays, a pending retry surviving a restart, and the SSRF rules (at creation and at send time)."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app import create_app
from conftest import SPEC_EXAMPLES, combine_examples
from models.db import read_session
from models.tables import Report
from runtime import Runtime, runtime_of
from support.server import ServerProcess
from services.delivery import urls
from services.delivery.sender import send, signature
from services.delivery.urls import WebhookUrlError, validate_webhook_url
from services.delivery.worker import DeliveryWorker
from services.ingest.loader import load_directory
from support.webhook_receiver import Receiver

SECRET = "test-secret-Ä"
AS_OF = "2023-01-23T12:00:00Z"


class FakeClock:
    """Real time plus an offset the test moves forward: retries come due without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def hook_app(config, tmp_path: Path) -> Iterator[Any]:
    app = create_app(config.with_changes(webhook_secret=SECRET, webhook_allow_private=True))
    load_directory(runtime_of(app).engine, combine_examples(["ex1"], tmp_path / "examples"))
    yield app
    runtime_of(app).close()


def _worker(runtime: Runtime, clock: FakeClock, **kwargs: Any) -> DeliveryWorker:
    options: dict[str, Any] = {"allow_private": True, "timeout": 5.0, **kwargs}
    allow = options.pop("allow_private")
    return DeliveryWorker(runtime.engine, SECRET, allow, clock=clock, **options)


def _attempt_when_queued(worker: DeliveryWorker, timeout: float = 30.0) -> None:
    """The report thread queues its webhook just after the report ends: wait for that."""
    deadline = time.monotonic() + timeout
    while worker.run_once() == 0:
        assert time.monotonic() < deadline, "no webhook was queued"
        time.sleep(0.02)


def _report_count(runtime: Runtime) -> int:
    with read_session(runtime.engine) as s:
        return s.scalar(select(func.count()).select_from(Report)) or 0


def test_signed_webhook_for_a_finished_report(hook_app) -> None:
    client, runtime, clock = hook_app.test_client(), runtime_of(hook_app), FakeClock()
    with Receiver() as receiver:
        response = client.post("/trigger_report", json={"as_of": AS_OF, "webhook_url": receiver.url})
        assert response.status_code == 202
        report_id = response.get_json()["report_id"]
        _attempt_when_queued(_worker(runtime, clock))
        [got] = receiver.wait_for(1)
    assert json.loads(got.body) == {
        "event": "report.finished", "report_id": report_id, "status": "Complete", "schedule_id": None,
        "url": f"/get_report?report_id={report_id}",
    }
    assert got.signature_ok(SECRET) and not got.signature_ok("another secret")
    assert got.headers["X-Signature"] == signature(got.body, SECRET)
    assert got.headers["Content-Type"] == "application/json" and got.path == "/hook"
    view = client.get(f"/reports/{report_id}").get_json()
    assert view["status"] == "Complete"
    assert [(d["attempt"], d["http_status"], d["error"], d["delivered"]) for d in view["deliveries"]] == [
        (1, 200, None, True)]
    assert view["webhook"] == {"status": "delivered", "next_attempt_at": None}


def test_a_webhook_that_could_not_be_queued_is_queued_by_the_worker(hook_app, monkeypatch) -> None:
    """The database away just when a report ends: its webhook is not lost, the worker queues it."""
    from models import deliveries

    client, runtime, clock = hook_app.test_client(), runtime_of(hook_app), FakeClock()
    real_enqueue, refused = deliveries.enqueue, []

    def database_away(*args: Any, **kwargs: Any) -> bool:
        if not refused:
            refused.append(args[1])
            raise OperationalError("INSERT INTO deliveries", {}, Exception("server has gone away"))
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(deliveries, "enqueue", database_away)
    with Receiver() as receiver:
        response = client.post("/trigger_report", json={"as_of": AS_OF, "webhook_url": receiver.url})
        report_id = response.get_json()["report_id"]
        deadline = time.monotonic() + 30
        while not refused:  # the report's own attempt to queue it, refused
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert refused == [report_id]
        assert _worker(runtime, clock).run_once() == 1
        [got] = receiver.wait_for(1)
    assert json.loads(got.body)["report_id"] == report_id
    assert _worker(runtime, clock).run_once() == 0  # announced once


def test_failing_receiver_is_retried_with_growing_delays(hook_app) -> None:
    """500, 503, then 200: three attempts, 5 s then 30 s apart, the same signed body each time."""
    client, runtime, clock = hook_app.test_client(), runtime_of(hook_app), FakeClock()
    worker = _worker(runtime, clock)
    with Receiver(statuses=[500, 503]) as receiver:
        response = client.post("/trigger_report", json={"as_of": AS_OF, "webhook_url": receiver.url})
        report_id = response.get_json()["report_id"]
        _attempt_when_queued(worker)
        receiver.wait_for(1)
        assert worker.run_once() == 0  # not due yet
        clock.advance(4)
        assert worker.run_once() == 0
        clock.advance(1.5)
        assert worker.run_once() == 1
        clock.advance(28)
        assert worker.run_once() == 0
        clock.advance(3)
        assert worker.run_once() == 1
        bodies = [r.body for r in receiver.wait_for(3)]
    assert len(set(bodies)) == 1 and all(r.signature_ok(SECRET) for r in receiver.received)
    view = client.get(f"/reports/{report_id}").get_json()
    attempts = view["deliveries"]
    assert [(d["http_status"], d["error"], d["delivered"]) for d in attempts] == [
        (500, "HTTP 500", False), (503, "HTTP 503", False), (200, None, True)]
    times = [datetime.fromisoformat(d["attempted_at"]) for d in attempts]
    assert timedelta(seconds=5) <= times[1] - times[0] < timedelta(seconds=10)
    assert times[2] - times[1] >= timedelta(seconds=30)
    assert worker.run_once() == 0 and view["webhook"]["status"] == "delivered"


def test_failed_report_is_announced(config) -> None:
    app = create_app(config.with_changes(webhook_secret=SECRET, webhook_allow_private=True))  # no data loaded
    client, runtime = app.test_client(), runtime_of(app)
    try:
        with Receiver() as receiver:
            report_id = client.post("/trigger_report", json={"webhook_url": receiver.url}).get_json()["report_id"]
            _attempt_when_queued(_worker(runtime, FakeClock()))
            [got] = receiver.wait_for(1)
        assert json.loads(got.body)["status"] == "Failed" and got.signature_ok(SECRET)
        assert client.get(f"/reports/{report_id}").get_json()["status"] == "Failed"
    finally:
        runtime.close()


def test_unreachable_receiver_gives_up_after_the_last_delay(hook_app) -> None:
    client, runtime, clock = hook_app.test_client(), runtime_of(hook_app), FakeClock()
    worker = _worker(runtime, clock, delays=(1.0,))
    with Receiver() as receiver:
        url = receiver.url
    response = client.post("/trigger_report", json={"as_of": AS_OF, "webhook_url": url})  # nobody listens now
    report_id = response.get_json()["report_id"]
    _attempt_when_queued(worker)
    clock.advance(1)
    assert worker.run_once() == 1
    clock.advance(3600)
    assert worker.run_once() == 0
    view = client.get(f"/reports/{report_id}").get_json()
    assert [d["error"] for d in view["deliveries"]] == ["connection failed: Connection refused"] * 2
    assert view["webhook"]["status"] == "gave_up"


def test_send_time_check_refuses_loopback_without_allow_private(hook_app) -> None:
    """Accepted when created (private allowed then); the sender checks again and refuses."""
    client, runtime, clock = hook_app.test_client(), runtime_of(hook_app), FakeClock()
    with Receiver() as receiver:
        report_id = client.post("/trigger_report", json={"as_of": AS_OF, "webhook_url": receiver.url}).get_json()["report_id"]
        _attempt_when_queued(_worker(runtime, clock, allow_private=False))
        assert receiver.received == []
    [attempt] = client.get(f"/reports/{report_id}").get_json()["deliveries"]
    assert attempt["error"].startswith("refused: ") and "loopback" in attempt["error"]
    assert attempt["http_status"] is None


def test_redirect_to_a_refused_address_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 stands in for a public host here; the redirect target 127.0.0.2 stays refused."""
    monkeypatch.setattr(urls, "refusal", lambda address: None if str(address) == "127.0.0.1" else "loopback")
    with Receiver() as target, Receiver(redirect_to=f"http://127.0.0.2:{0}/x") as redirector:
        target_url = target.url.replace("127.0.0.1", "127.0.0.2")
        redirector.redirect_to = target_url
        outcome = send(redirector.url, b"{}", SECRET, allow_private=False, timeout=5)
        assert len(redirector.received) == 1 and target.received == []
    assert outcome.http_status is None and outcome.error is not None
    assert outcome.error.startswith("refused: ") and "127.0.0.2" in outcome.error
    # Allowed destinations are followed (307 keeps the method and body).
    with Receiver() as target, Receiver(redirect_to=None) as redirector:
        redirector.redirect_to = target.url
        outcome = send(redirector.url, b'{"a":1}', SECRET, allow_private=False, timeout=5)
        assert outcome.delivered and target.wait_for(1)[0].body == b'{"a":1}'


def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]
    return resolve


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:8080/h", "loopback"), ("http://localhost/h", "loopback"), ("http://[::1]/h", "loopback"),
    ("http://10.1.2.3/h", "private"), ("http://192.168.0.10/h", "private"), ("http://172.16.5.5/h", "private"),
    ("http://[fd00::1]/h", "private"), ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/h", "link-local"), ("http://0.0.0.0/h", "unspecified"),
    ("http://[::ffff:127.0.0.1]/h", "loopback"), ("http://100.64.0.1/h", "non-public"),
    ("http://internal.test/h", "private"), ("http://mixed.test/h", "private"),
    ("ftp://example.test/h", "http or https"), ("file:///etc/passwd", "http or https"),
    ("http://user:pw@public.test/h", "credentials"), ("http:///h", "no host"), ("not a url", "spaces"),
    ("http://nowhere.test/h", "does not resolve"), ("http://public.test:99999/h", "not a valid URL"),
])
def test_ssrf_refusals(url: str, reason: str) -> None:
    resolve = _resolver({"localhost": ["127.0.0.1"], "internal.test": ["10.0.0.7"],
                         "mixed.test": ["93.184.215.14", "192.168.1.1"], "public.test": ["93.184.215.14"]})
    with pytest.raises(WebhookUrlError, match=reason):
        validate_webhook_url(url, allow_private=False, resolve=resolve)


def test_public_urls_pass_and_allow_private_opens_private_ranges() -> None:
    resolve = _resolver({"public.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                         "internal.test": ["10.0.0.7"]})
    assert validate_webhook_url(" https://public.test/h?x=1 ", False, resolve) == "https://public.test/h?x=1"
    assert validate_webhook_url("http://internal.test/h", True, resolve) == "http://internal.test/h"
    assert validate_webhook_url("http://127.0.0.1:9/h", True) == "http://127.0.0.1:9/h"


def test_api_refuses_bad_webhooks_and_stores_nothing(config) -> None:
    for settings, message in (({"webhook_secret": SECRET}, "WEBHOOK_ALLOW_PRIVATE"), ({}, "WEBHOOK_SECRET is not")):
        app = create_app(config.with_changes(**settings))
        client, runtime = app.test_client(), runtime_of(app)
        try:
            for url in ("http://127.0.0.1:9/h", "http://169.254.169.254/"):
                response = client.post("/trigger_report", json={"webhook_url": url})
                assert response.status_code == 400 and message in response.get_json()["error"]
                response = client.post("/schedules", json={"cron": "* * * * *", "webhook_url": url})
                assert response.status_code == 400 and message in response.get_json()["error"]
            bad = client.post("/trigger_report", json={"webhook_url": "gopher://x/"})
            assert bad.status_code == 400
            assert _report_count(runtime) == 0
            assert client.get("/schedules").get_json() == {"schedules": []}
        finally:
            runtime.close()


def _reports_view(server: ServerProcess, report_id: str) -> dict[str, Any]:
    response = server.get(f"/reports/{report_id}")
    assert response.status == 200, response.body[:300]
    return response.json()


def test_pending_delivery_survives_a_restart(database_url: str, tmp_path: Path) -> None:
    """First attempt fails; the process dies before the retry; the next process sends it."""
    env = {"DATABASE_URL": database_url, "CSV_DIR": str(SPEC_EXAMPLES / "ex1"), "REPORT_DIR": str(tmp_path / "r"),
           "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_SCALE": "2"}
    with Receiver(statuses=[503]) as receiver:
        first = ServerProcess(env, tmp_path / "first.log", name="first").start()
        try:
            report_id = first.trigger(json_body={"as_of": AS_OF, "webhook_url": receiver.url})
            receiver.wait_for(1)
            deadline = time.monotonic() + 20
            while len(_reports_view(first, report_id)["deliveries"]) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            first.kill()  # the retry is due 10 s after the first attempt: this process never sends it
            assert len(receiver.received) == 1
        finally:
            first.cleanup()
        second = ServerProcess(env, tmp_path / "second.log", name="second").start()
        try:
            got = receiver.wait_for(2, timeout=60)
            assert len(got) == 2 and got[0].body == got[1].body and got[1].signature_ok(SECRET)
            deadline = time.monotonic() + 20
            while (view := _reports_view(second, report_id))["webhook"]["status"] != "delivered":
                assert time.monotonic() < deadline, view
                time.sleep(0.05)
            assert [(d["http_status"], d["delivered"]) for d in view["deliveries"]] == [(503, False), (200, True)]
            assert second.stop() == 0
        finally:
            second.cleanup()
            print(second.logs_tail(60))
