"""The HTTP API of SPEC section 3 through Flask's test client, on SQLite and MySQL."""
from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from app import create_app
from conftest import combine_examples
from support.reports import wait_for
from models import report_jobs, report_tasks
from services.ingest.loader import load_directory
from runtime import runtime_of

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
          "downtime_last_hour,downtime_last_day,downtime_last_week")


def rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture
def loaded(runtime, tmp_path: Path):
    load_directory(runtime.engine, combine_examples(["ex1", "ex2", "ex3"], tmp_path / "examples"))
    return runtime


def test_trigger_poll_and_download(client, loaded) -> None:
    response = client.post("/trigger_report", json={"as_of": "2023-01-23T12:00:00Z"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "Running" and isinstance(body["report_id"], str) and len(body["report_id"]) >= 16
    done = wait_for(client, body["report_id"])
    assert done.mimetype == "text/csv"
    assert done.headers["X-Report-Status"] == "Complete"
    disposition = done.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and ".csv" in disposition
    assert done.get_data(as_text=True).splitlines()[0] == HEADER
    assert [r["store_id"] for r in rows(done)] == ["store-1", "store-2", "store-3"]
    store1 = rows(done)[0]
    assert float(store1["uptime_last_day"]) == pytest.approx(1.74, abs=0.01)
    # every way of asking for the same report gives the same file
    for url in (f"/get_report?repid={body['report_id']}", f"/get_report/{body['report_id']}"):
        again = client.get(url)
        assert again.status_code == 200 and again.get_data() == done.get_data()


def test_get_trigger_with_query_parameters(client, loaded) -> None:
    response = client.get("/trigger_report?store_id=store-2&store_id=store-1&as_of=2023-01-23T12:00:00Z")
    assert response.status_code == 202
    done = wait_for(client, response.get_json()["report_id"])
    assert [r["store_id"] for r in rows(done)] == ["store-1", "store-2"]


def test_store_ids_from_form_and_json_list(client, loaded) -> None:
    form = client.post("/trigger_report", data={"store_id": ["store-3"], "as_of": "2023-01-23T01:00:00Z"})
    done = wait_for(client, form.get_json()["report_id"])
    assert rows(done) == [{
        "store_id": "store-3", "uptime_last_hour": "60", "uptime_last_day": "3", "uptime_last_week": "4",
        "downtime_last_hour": "0", "downtime_last_day": "0", "downtime_last_week": "0",
    }]
    listed = client.post("/trigger_report", json={"store_id": ["store-1", "nope"]})
    assert [r["store_id"] for r in rows(wait_for(client, listed.get_json()["report_id"]))] == ["store-1"]


def test_default_now_is_the_latest_poll(client, loaded) -> None:
    done = wait_for(client, client.post("/trigger_report").get_json()["report_id"])
    summary = client.get(f"/reports/{done.headers['Content-Disposition'].split('report_')[1][:-4]}").get_json()
    assert summary["now"] == "2023-01-23T11:15:00Z"  # ex1's last poll is the newest


@pytest.mark.parametrize("query", [
    "as_of=yesterday", "as_of=2023-13-45T00:00:00Z", "as_of=1900-01-01T00:00:00Z", "as_of=9999-01-01T00:00:00Z",
    "store_id=", "store_id=" + "x" * 300, "store_id=a%00b", "as_of=2023-01-01T00:00:00Z&as_of=2023-01-02T00:00:00Z",
])
def test_invalid_parameters_are_400_and_create_nothing(client, loaded, query: str) -> None:
    response = client.post(f"/trigger_report?{query}")
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert report_jobs.recent(loaded.engine) == []


def test_bad_json_bodies(client, loaded) -> None:
    broken = client.post("/trigger_report", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.get_json()["error"]
    not_object = client.post("/trigger_report", json=["store-1"])
    assert not_object.status_code == 400
    wrong_type = client.post("/trigger_report", json={"store_id": [{"a": 1}]})
    assert wrong_type.status_code == 400
    too_many = client.post("/trigger_report", json={"store_id": [f"s{i}" for i in range(10_001)]})
    assert too_many.status_code == 400 and "at most 10000" in too_many.get_json()["error"]
    huge = client.post("/trigger_report", data="x" * 2_000_000, content_type="application/json")
    assert huge.status_code == 413 and "error" in huge.get_json()
    assert report_jobs.recent(loaded.engine) == []


def test_unknown_and_missing_report_ids(client, loaded) -> None:
    for url in ("/get_report?report_id=doesnotexist", "/get_report/doesnotexist", "/get_report?report_id=../../etc/passwd",
                "/get_report/..%2F..%2Fapp.py", "/reports/nope"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.is_json and "error" in response.get_json()
    missing = client.get("/get_report")
    assert missing.status_code == 400 and missing.get_json() == {"error": "missing report_id"}


def test_errors_are_json_never_html(client, loaded) -> None:
    not_found = client.get("/no/such/page")
    assert not_found.status_code == 404 and not_found.is_json
    wrong_method = client.delete("/trigger_report")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert "GET" in wrong_method.headers["Allow"]


def test_failed_report_says_why(client, runtime) -> None:
    report_id = client.post("/trigger_report").get_json()["report_id"]
    failed = wait_for(client, report_id)
    body = failed.get_json()
    assert body["status"] == "Failed" and "no polls have been loaded" in body["error"]


def test_report_status_json_and_cache_reuse(client, loaded) -> None:
    first = client.post("/trigger_report", json={"as_of": "2023-01-23T12:00:00Z"}).get_json()["report_id"]
    first_csv = wait_for(client, first).get_data()
    second = client.post("/trigger_report", json={"as_of": "2023-01-23T12:00:00Z"}).get_json()["report_id"]
    assert wait_for(client, second).get_data() == first_csv
    summary = client.get(f"/reports/{second}").get_json()
    assert summary["status"] == "Complete" and summary["row_count"] == 3
    assert summary["timings"]["reused_from"] == first
    listing = client.get("/reports").get_json()["reports"]
    assert [r["report_id"] for r in listing[:2]] == [second, first]


def test_new_data_is_not_served_from_the_cache(client, loaded, tmp_path: Path) -> None:
    ask = {"as_of": "2023-01-23T12:00:00Z"}
    first = wait_for(client, client.post("/trigger_report", json=ask).get_json()["report_id"])
    load_directory(loaded.engine, combine_examples(["ex1", "ex2", "ex3", "ex4"], tmp_path / "more"))
    second = wait_for(client, client.post("/trigger_report", json=ask).get_json()["report_id"])
    assert len(rows(second)) == len(rows(first)) + 1


def test_health(client, loaded) -> None:
    body = client.get("/health").get_json()
    assert body["status"] == "ok" and body["polls"] == 4 and body["stores"] == 3
    assert body["last_load"]["changed"] is True


def test_report_survives_a_restart_and_unfinished_reports_are_recovered(config, loaded) -> None:
    first_app = create_app(config)
    client = first_app.test_client()
    report_id = client.post("/trigger_report", json={"as_of": "2023-01-23T12:00:00Z"}).get_json()["report_id"]
    content = wait_for(client, report_id).get_data()
    # a report that a dead process left "running", one it never started (both leases expired),
    # and one a live process still holds
    engine = runtime_of(first_app).engine
    now = time.time_ns() // 1000
    report_jobs.create(engine, "stuckrunning", {"store_ids": None, "as_of_us": None}, owner="dead", lease_until_us=0)
    assert report_tasks.claim(engine, "stuckrunning", 0, "dead", now, lease_us=1) is not None
    report_jobs.create(engine, "stuckpending", {"store_ids": ["store-1"], "as_of_us": None}, owner="dead",
                       lease_until_us=0)
    report_jobs.create(engine, "heldalive", {"store_ids": None, "as_of_us": None}, owner="alive",
                       lease_until_us=now + 600_000_000)
    runtime_of(first_app).close()

    second_app = create_app(config)
    try:
        runtime_of(second_app).start_background()
        client = second_app.test_client()
        assert client.get(f"/get_report?report_id={report_id}").get_data() == content
        for stuck in ("stuckrunning", "stuckpending"):
            assert wait_for(client, stuck).headers["X-Report-Status"] == "Complete"
        assert [r["store_id"] for r in rows(client.get("/get_report/stuckpending"))] == ["store-1"]
        assert client.get("/get_report/heldalive").get_json()["status"] == "Running"
        assert report_jobs.get(engine, "heldalive").status == "pending"
    finally:
        runtime_of(second_app).close()


def test_unwritable_report_dir_fails_the_report(config, loaded, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the report folder should be")
    app = create_app(config.with_changes(report_dir=blocker / "reports"))
    try:
        client = app.test_client()
        report_id = client.post("/trigger_report").get_json()["report_id"]
        body = wait_for(client, report_id).get_json()
        assert body["status"] == "Failed" and "cannot write the report file" in body["error"]
        assert not list(tmp_path.glob("**/report_*.csv"))
    finally:
        runtime_of(app).close()


def test_concurrent_triggers_all_complete(client, loaded) -> None:
    ids = [client.post("/trigger_report", json={"store_id": [f"store-{i % 3 + 1}"]}).get_json()["report_id"]
           for i in range(12)]
    for i, report_id in enumerate(ids):
        done = wait_for(client, report_id)
        assert [r["store_id"] for r in rows(done)] == [f"store-{i % 3 + 1}"]
    assert json.loads(json.dumps(client.get("/reports?limit=50").get_json()))["reports"][0]["status"] == "Complete"
