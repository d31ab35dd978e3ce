"""The live HTTP API of SPEC 10 through the Flask app (SQLite and MySQL): alerts (input rules,
signed webhooks to a real receiver, deliveries listed, delete), status answers, key scoping."""
from __future__ import annotations

import json
from typing import Any

import pytest

from app import create_app
from runtime import runtime_of
from services.access import keys
from services.live.timefmt import now_us
from tests.support.live_writes import ensure_store, write_batch
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import Receiver

SECRET = "live-secret"
MIN_US = 60 * 1_000_000


@pytest.fixture
def live_app(config):
    app = create_app(config.with_changes(webhook_secret=SECRET, webhook_allow_private=True, webhook_retry_scale=0.01))
    yield app
    runtime_of(app).close()


@pytest.fixture
def client(live_app):
    return live_app.test_client()


GOOD = {"webhook_url": "http://127.0.0.1:9/hook"}


@pytest.mark.parametrize("body, message", [
    (None, "JSON object"),
    ([GOOD], "JSON object"),
    ({}, "webhook_url"),
    ({"webhook_url": "ftp://example.com/x"}, "http"),
    ({"webhook_url": 5}, "webhook_url"),
    ({"webhook_url": "http://user:pw@127.0.0.1/x"}, "credentials"),
    ({**GOOD, "confirm_polls": 0}, "confirm_polls"),
    ({**GOOD, "confirm_polls": "2"}, "confirm_polls"),
    ({**GOOD, "confirm_polls": True}, "confirm_polls"),
    ({**GOOD, "recover_polls": 1.5}, "recover_polls"),
    ({**GOOD, "recover_polls": 100000}, "recover_polls"),
    ({**GOOD, "store_id": []}, "store_id"),
    ({**GOOD, "store_id": [""]}, "store_id"),
    ({**GOOD, "store_id": ["x" * 300]}, "store_id"),
    ({**GOOD, "store_id": [7.5]}, "store_id"),
    ({**GOOD, "severity": "high"}, "severity"),
])
def test_bad_alert_input_is_400(client, body: Any, message: str) -> None:
    response = client.post("/alerts", data=json.dumps(body) if body is not None else "not json",
                           content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message in response.get_json()["error"]
    assert client.get("/alerts").get_json() == {"alerts": []}


def test_private_webhook_refused_unless_allowed(config) -> None:
    app = create_app(config.with_changes(webhook_secret=SECRET))
    try:
        response = app.test_client().post("/alerts", json={"webhook_url": "http://127.0.0.1:9/hook"})
        assert response.status_code == 400 and "WEBHOOK_ALLOW_PRIVATE" in response.get_json()["error"]
    finally:
        runtime_of(app).close()
    app = create_app(config.with_changes(webhook_allow_private=True))
    try:
        response = app.test_client().post("/alerts", json={"webhook_url": "http://127.0.0.1:9/hook"})
        assert response.status_code == 400 and "WEBHOOK_SECRET" in response.get_json()["error"]
    finally:
        runtime_of(app).close()


def test_alert_sends_signed_transitions_and_lists_deliveries(live_app, client) -> None:
    runtime = runtime_of(live_app)
    with Receiver(statuses=[500]) as receiver:  # the first attempt fails, the retry succeeds
        created = client.post("/alerts", json={"webhook_url": receiver.url, "store_id": "s1"})
        assert created.status_code == 201
        alert_id = created.get_json()["alert_id"]
        assert created.headers["Location"].endswith(f"/alerts/{alert_id}")
        runtime.live.run_once()  # records the alert's starting point
        now = now_us()
        write_batch(runtime.engine, [("s1", now - 2 * MIN_US, True), ("s2", now - 2 * MIN_US, True)])
        write_batch(runtime.engine, [("s1", now - MIN_US, False), ("s2", now - MIN_US, False)])
        runtime.live.run_once()
        assert client.get("/stores/s1/status").get_json()["status"] == "down"
        runtime.delivery_worker.run_once()
        wait_until(lambda: runtime.delivery_worker.run_once() or len(receiver.received) >= 2, 30, "the retry")
        received = receiver.wait_for(2)
        assert all(r.signature_ok(SECRET) for r in received)
        body = json.loads(received[-1].body)
        assert body["event"] == "store.down" and body["alert_id"] == alert_id and body["store_id"] == "s1"
        assert set(body) == {"event", "alert_id", "store_id", "at", "since", "last_poll"}

        shown = client.get(f"/alerts/{alert_id}").get_json()
        assert shown["store_id"] == ["s1"] and shown["confirm_polls"] == 1
        assert [e["event"] for e in shown["events"]] == ["store.down"]  # s2 is not watched
        assert [d["http_status"] for d in shown["deliveries"]] == [500, 200]
        assert shown["events"][0]["webhook"]["status"] == "delivered"
        assert [a["alert_id"] for a in client.get("/alerts").get_json()["alerts"]] == [alert_id]
        listing = client.get("/stores/status").get_json()
        assert [s["store_id"] for s in listing["stores"]] == ["s1", "s2"] and listing["count"] == 2

        assert client.delete(f"/alerts/{alert_id}").status_code == 204
        assert client.get(f"/alerts/{alert_id}").status_code == 404
        assert client.delete(f"/alerts/{alert_id}").status_code == 404
        assert client.get("/alerts/not-an-id").status_code == 404


def test_status_answers(live_app, client) -> None:
    runtime = runtime_of(live_app)
    assert client.get("/stores/nope/status").status_code == 404
    assert client.get("/stores/" + "x" * 300 + "/status").status_code == 400
    for bad in ("0", "abc", "-1", "10001"):
        response = client.get(f"/stores/status?limit={bad}")
        assert response.status_code == 400 and "limit" in response.get_json()["error"]
    assert client.get("/stores/status?other=1").status_code == 400
    ensure_store(runtime.engine, "quiet")
    assert client.get("/stores/quiet/status").get_json() == {
        "store_id": "quiet", "status": "unknown", "since": None, "last_poll": None}
    write_batch(runtime.engine, [("old", now_us() - 3 * 3600 * 1_000_000, True)])
    runtime.live.run_once()
    answer = client.get("/stores/old/status").get_json()
    assert answer["status"] == "stale"
    assert client.get("/stores/status?limit=1").get_json()["stores"][0]["store_id"] == "old"


def test_keys_see_only_their_stores(config) -> None:
    app = create_app(config.with_changes(webhook_secret=SECRET, webhook_allow_private=True, auth_required=True))
    try:
        runtime = runtime_of(app)
        client = app.test_client()
        secrets = {}
        for role, stores in (("owner", ("s1",)), ("other_owner", ("s2",)), ("reporter", ()), ("ingest", ())):
            _, secrets[role] = keys.create_key(runtime.engine, "owner" if "owner" in role else role, stores)

        def call(role: str, method: str, path: str, **kwargs: Any):
            return client.open(path, method=method, headers={"Authorization": f"Bearer {secrets[role]}"}, **kwargs)

        now = now_us()
        write_batch(runtime.engine, [("s1", now - MIN_US, False), ("s2", now - MIN_US, False)])
        runtime.live.run_once()
        assert call("owner", "GET", "/stores/s1/status").get_json()["status"] == "down"
        assert call("owner", "GET", "/stores/s2/status").status_code == 404
        assert [s["store_id"] for s in call("owner", "GET", "/stores/status").get_json()["stores"]] == ["s1"]
        assert [s["store_id"] for s in call("reporter", "GET", "/stores/status").get_json()["stores"]] == ["s1", "s2"]
        assert call("owner", "POST", "/alerts", json={**GOOD, "store_id": ["s2"]}).status_code == 403
        made = call("owner", "POST", "/alerts", json=GOOD)
        assert made.status_code == 201
        alert_id = made.get_json()["alert_id"]
        assert call("owner", "GET", f"/alerts/{alert_id}").get_json()["store_id"] == ["s1"]
        assert call("other_owner", "GET", f"/alerts/{alert_id}").status_code == 404
        assert call("other_owner", "DELETE", f"/alerts/{alert_id}").status_code == 404
        assert call("other_owner", "GET", "/alerts").get_json() == {"alerts": []}
        assert call("reporter", "GET", f"/alerts/{alert_id}").status_code == 200
        for method, path in (("GET", "/stores/status"), ("GET", "/stores/s1/status"), ("GET", "/alerts"),
                             ("POST", "/alerts"), ("GET", "/events")):
            assert call("ingest", method, path, json=GOOD).status_code == 403, path
        assert client.get("/stores/status").status_code == 401
    finally:
        runtime_of(app).close()
