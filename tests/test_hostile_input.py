"""Hostile and odd input to the HTTP API (SPEC section 3), through Flask's test client on SQLite
and MySQL: every refusal is a small JSON error with the security headers, never a 500, an HTML
page, a traceback or a file from disk; hostile store ids are data, never SQL, and come back
byte for byte in the report CSV.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from controllers import SECURITY_HEADERS
from models import report_jobs
from services.ingest.loader import load_directory
from support.reports import wait_for

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
          "downtime_last_hour,downtime_last_day,downtime_last_week")
AS_OF = "2023-01-23T12:00:00Z"

HOSTILE_IDS = [
    "'; DROP TABLE polls; --",
    "Robert'); DROP TABLE stores;--",
    "1 OR 1=1",
    '" OR ""="',
    "a,b",
    'say "hi"',
    '"quoted, with comma"',
    "back\\slash\\'",
    "%s%s%(x)s?",
    "=HYPERLINK(\"http://x\")",
    "店舗-東京",
    "café",
    "😀 emoji",
    "\u202eright-to-left",
    "00123",
    "12345678901234567890123",
    "1e5",
    "NaN",
    "null",
    "<script>alert(1)</script>",
    "x" * 255,
    "店" * 255,
]
HTML_TAG = re.compile(rb"<\s*/?\s*[a-zA-Z!][^>]*>")


# -- helpers --------------------------------------------------------------------------------------

def assert_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))


def assert_json_error(response, status: int, sent: str = "") -> str:
    """A JSON {"error": "..."} answer with `status`, no HTML, no traceback; returns the message.

    `sent` is client input the message may quote back: inside a JSON string served as
    application/json with nosniff that is data, not markup, so it is left out of the tag check.
    """
    body = response.get_data()
    assert response.status_code == status, (response.status_code, body[:300])
    assert response.mimetype == "application/json", (response.mimetype, body[:300])
    payload = json.loads(body)
    assert isinstance(payload, dict) and isinstance(payload.get("error"), str) and payload["error"], payload
    assert b"Traceback" not in body and b'File "' not in body
    message = payload["error"].replace(sent[:60], "") if sent else payload["error"]
    assert not HTML_TAG.search(message.encode()) and not HTML_TAG.search(body.replace(payload["error"].encode(), b"")), body[:300]
    assert len(body) < 2_000, "an error answer should be short"
    assert_security_headers(response)
    return payload["error"]


def report_rows(response) -> list[list[str]]:
    assert response.mimetype == "text/csv", response.get_data()[:300]
    text = response.get_data().decode("utf-8")
    assert text.splitlines()[0] == HEADER
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def write_polls(directory: Path, store_ids: list[str]) -> Path:
    """One active poll per store half an hour before AS_OF, written with proper CSV quoting."""
    directory.mkdir(parents=True, exist_ok=True)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["store_id", "status", "timestamp_utc"])
    for store_id in store_ids:
        writer.writerow([store_id, "active", "2023-01-23 11:30:00 UTC"])
    (directory / "store_status.csv").write_bytes(out.getvalue().encode("utf-8"))
    return directory


@pytest.fixture
def hostile(runtime, tmp_path: Path):
    result = load_directory(runtime.engine, write_polls(tmp_path / "hostile", HOSTILE_IDS + ["plain"]))
    polls = result.files[0]
    assert polls.rejected == 0 and polls.rows_loaded == len(HOSTILE_IDS) + 1, polls
    return runtime


def trigger(client, **kwargs) -> str:
    response = client.post("/trigger_report", **kwargs)
    assert response.status_code == 202, response.get_data()[:300]
    assert_security_headers(response)
    return response.get_json()["report_id"]


# -- store ids ----------------------------------------------------------------------------------

def test_hostile_store_ids_round_trip_from_csv_into_the_report(client, hostile) -> None:
    """Loaded from CSV and reported back: the exact text, properly quoted, in code-point order."""
    done = wait_for(client, trigger(client, json={"as_of": AS_OF}))
    assert done.headers["X-Report-Status"] == "Complete"
    rows = report_rows(done)
    assert [r[0] for r in rows] == sorted(HOSTILE_IDS + ["plain"])
    # one active poll, open 24x7: up all the time (SPEC 2.4, the nearest observation holds)
    assert all([float(v) for v in r[1:]] == [60, 24, 168, 0, 0, 0] for r in rows), rows[:3]
    text = done.get_data().decode("utf-8")
    assert '\n"a,b",' in text and '\n"say ""hi""",' in text and '\n"""quoted, with comma""",' in text
    # the tables are all still there
    health = client.get("/health").get_json()
    assert health["stores"] == len(HOSTILE_IDS) + 1 and health["polls"] == len(HOSTILE_IDS) + 1


@pytest.mark.parametrize("how", ["json", "query", "form"])
def test_hostile_store_ids_as_parameters_select_exactly_those_stores(client, hostile, how: str) -> None:
    wanted = ["'; DROP TABLE polls; --", "a,b", 'say "hi"', "店舗-東京", "😀 emoji", "00123", "x" * 255,
              "not loaded ' OR '1'='1"]
    if how == "json":
        report_id = trigger(client, json={"store_id": wanted, "as_of": AS_OF})
    elif how == "query":
        report_id = trigger(client, query_string=[("store_id", s) for s in wanted] + [("as_of", AS_OF)])
    else:
        report_id = trigger(client, data=MultiDict([("store_id", s) for s in wanted] + [("as_of", AS_OF)]))
    rows = report_rows(wait_for(client, report_id))
    assert [r[0] for r in rows] == sorted(wanted[:-1])
    summary = client.get(f"/reports/{report_id}").get_json()
    assert summary["store_ids"] == wanted


def test_store_id_padding_is_stripped_and_integers_are_text(client, hostile) -> None:
    rows = report_rows(wait_for(client, trigger(client, json={"store_id": ["  plain  ", 123], "as_of": AS_OF})))
    assert [r[0] for r in rows] == ["plain"]  # 123 names no loaded store, and is not 123.0


@pytest.mark.parametrize("value, status", [
    ("x" * 255, 202), ("x" * 256, 400), ("店" * 255, 202), ("店" * 256, 400), ("  " + "y" * 255 + "  ", 202),
    ("", 400), ("   ", 400), ("a\x00b", 400), ("a\nb", 400), ("tab\there", 400), ("del\x7f", 400), ("esc\x1b[31m", 400),
])
def test_store_id_length_and_control_characters(client, hostile, value: str, status: int) -> None:
    for kwargs in ({"json": {"store_id": value, "as_of": AS_OF}}, {"query_string": {"store_id": value, "as_of": AS_OF}}):
        response = client.post("/trigger_report", **kwargs)
        if status == 202:
            assert response.status_code == 202, response.get_data()
            assert_security_headers(response)
            rows = report_rows(wait_for(client, response.get_json()["report_id"]))
            assert [r[0] for r in rows] == ([value.strip()] if value.strip() in HOSTILE_IDS else [])
        else:
            assert_json_error(response, status)


def test_store_id_count_limit(client, hostile) -> None:
    limit = hostile.config.max_store_ids
    assert limit == 10_000
    at_limit = [f"store-{i:05d}" for i in range(limit - 1)] + ["plain"]
    report_id = trigger(client, json={"store_id": at_limit, "as_of": AS_OF})
    assert [r[0] for r in report_rows(wait_for(client, report_id))] == ["plain"]
    before = len(report_jobs.recent(hostile.engine, 200))
    message = assert_json_error(client.post("/trigger_report", json={"store_id": at_limit + ["one-more"]}), 400)
    assert str(limit) in message
    # the limit counts the values of every source together
    assert_json_error(client.post("/trigger_report?store_id=extra", json={"store_id": at_limit}), 400)
    assert len(report_jobs.recent(hostile.engine, 200)) == before


# -- report ids ---------------------------------------------------------------------------------

BAD_REPORT_IDS = [
    "../../etc/passwd", "..%2F..%2Fapp.py", "%2e%2e/%2e%2e/app.py", "%2e%2e%2fconfig.py", "..", ".", "...",
    "..\\..\\app.py", "/etc/passwd", "report_data", "report_x.csv", "a" * 65, "a" * 5000, "é" * 10, "😀",
    "%00", "%ff%fe", "id%0d%0aX-Injected:%201", "<script>", "' OR '1'='1", "*", "%25",
]


@pytest.mark.parametrize("report_id", BAD_REPORT_IDS)
def test_bad_report_ids_are_404_json(client, hostile, report_id: str) -> None:
    for url in (f"/get_report?report_id={report_id}", f"/get_report?repid={report_id}",
                f"/get_report/{report_id}", f"/reports/{report_id}"):
        response = client.get(url)
        message = assert_json_error(response, 404)
        assert "X-Injected" not in response.headers
        assert "root:" not in message and "import" not in message


def test_no_file_is_served_from_disk_by_path_tricks(client, hostile) -> None:
    done = wait_for(client, trigger(client, json={"as_of": AS_OF}))
    assert done.status_code == 200
    file_name = next(p.name for p in hostile.config.report_dir.iterdir() if p.suffix == ".csv")
    for url in (f"/get_report/{file_name}", f"/get_report/../report_data/{file_name}", "/static/../app.py",
                "/static/..%2fapp.py", "/static/%2e%2e/config.py", "/static/%2e%2e%2fconfig.py",
                "/get_report/..%2f..%2fapp.py", "/reports/../../app.py", "/app.py", "/config.py", "/.env"):
        response = client.get(url)
        assert_json_error(response, 404)
        assert b"create_app" not in response.get_data() and b"import" not in response.get_data()


def test_missing_report_id_is_400(client, hostile) -> None:
    for url in ("/get_report", "/get_report?report_id=", "/get_report?repid="):
        assert_json_error(client.get(url), 400)


# -- bodies -------------------------------------------------------------------------------------

def test_huge_bodies_are_413_json(client, hostile) -> None:
    huge_json = json.dumps({"store_id": ["s" * 200] * 6_000})  # ~1.2 MB, otherwise valid
    assert len(huge_json) > 1_000_000
    assert_json_error(client.post("/trigger_report", data=huge_json, content_type="application/json"), 413)
    assert_json_error(client.post("/trigger_report", data={"store_id": "s" * 1_100_000}), 413)
    assert_json_error(client.post("/trigger_report", data=b"\x00" * 1_100_000, content_type="application/octet-stream"), 413)
    assert report_jobs.recent(hostile.engine) == []


@pytest.mark.parametrize("body", [
    '{"store_id": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "[" * 50_000,
    '{"a":' * 20_000 + "1" + "}" * 20_000,
])
def test_deeply_nested_json_is_400_not_500(client, hostile, body: str) -> None:
    assert_json_error(client.post("/trigger_report", data=body, content_type="application/json"), 400)
    assert report_jobs.recent(hostile.engine) == []


@pytest.mark.parametrize("body", [
    {"store_id": None}, {"store_id": True}, {"store_id": False}, {"store_id": 1.5}, {"store_id": {"id": "a"}},
    {"store_id": [["a"]]}, {"store_id": [None]}, {"store_id": []} if False else {"store_id": [""]},
    {"as_of": None}, {"as_of": 1674475200}, {"as_of": 1674475200.0}, {"as_of": True}, {"as_of": {"t": AS_OF}},
    {"as_of": [AS_OF, AS_OF]}, {"as_of": []}, {"store_ids": "x" * 300}, {"store_ids": [{"a": 1}]},
])
def test_wrong_json_types_are_400(client, hostile, body: dict) -> None:
    assert_json_error(client.post("/trigger_report", json=body), 400)
    assert report_jobs.recent(hostile.engine) == []


@pytest.mark.parametrize("body, content_type", [
    ("{not json", "application/json"), ('"just a string"', "application/json"), ("[1, 2]", "application/json"),
    ("null", "application/json"), ("123", "application/json"), ('{"as_of": NaN}', "application/json"),
    (b"\xff\xfe{}", "application/json"), ('{"as_of": "' + AS_OF + '"', "application/json"),
])
def test_malformed_json_bodies_are_400(client, hostile, body, content_type: str) -> None:
    assert_json_error(client.post("/trigger_report", data=body, content_type=content_type), 400)
    assert report_jobs.recent(hostile.engine) == []


def test_duplicate_parameters(client, hostile) -> None:
    # as_of may be given once only, wherever it comes from
    assert_json_error(client.post(f"/trigger_report?as_of={AS_OF}&as_of={AS_OF}"), 400)
    assert_json_error(client.post(f"/trigger_report?as_of={AS_OF}", json={"as_of": AS_OF}), 400)
    assert_json_error(client.post(f"/trigger_report?as_of={AS_OF}", data={"as_of": AS_OF}), 400)
    assert report_jobs.recent(hostile.engine) == []
    # a store id given twice (or in two places) is the same store once
    report_id = trigger(client, query_string=[("store_id", "plain"), ("store_id", "plain"), ("as_of", AS_OF)],
                        json={"store_id": ["plain", " plain "]})
    assert [r[0] for r in report_rows(wait_for(client, report_id))] == ["plain"]
    assert client.get(f"/reports/{report_id}").get_json()["store_ids"] == ["plain"]


# -- as_of --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01", "2100-01-01T00:00:00Z",
    "2099-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "yesterday", "now", "", " ", "2023-01-23", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z", "2023-01-23T25:00:00Z",
    "2023-01-23T12:00:00+24:00", "2023-01-23T12:00:00 PST", "1674475200", "2023-01-23T12:00:00Z; DROP TABLE reports",
    "2023-01-23T12:00:00" + "0" * 5_000, "\x00", "２０２３-01-23T12:00:00Z", "<b>2023</b>",
])
def test_bad_as_of_is_400(client, hostile, value: str) -> None:
    for kwargs in ({"json": {"as_of": value}}, {"query_string": {"as_of": value}}, {"data": {"as_of": value}}):
        message = assert_json_error(client.post("/trigger_report", **kwargs), 400, sent=value)
        assert len(message) < 300
    assert report_jobs.recent(hostile.engine) == []


@pytest.mark.parametrize("value", [
    "2023-01-23T17:45:00+05:45", "2023-01-23T06:30:00-05:30", "2023-01-24T02:00:00+14:00", "2023-01-22T23:00:00-13:00",
    "2023-01-23 12:00:00 UTC", "  2023-01-23T12:00:00Z  ", "2023-01-23T12:00:00.000000+00:00", "2023-01-23T12:00:00",
])
def test_as_of_offsets_are_converted_to_utc(client, hostile, value: str) -> None:
    reference = report_rows(wait_for(client, trigger(client, json={"as_of": AS_OF})))
    report_id = trigger(client, json={"as_of": value})
    assert report_rows(wait_for(client, report_id)) == reference
    assert client.get(f"/reports/{report_id}").get_json()["as_of"] == AS_OF


# -- methods, headers, error bodies -----------------------------------------------------------------

def _urls_of_every_route(app) -> list[tuple[str, set[str]]]:
    """Each URL with the methods of every rule that serves it (one URL may have a rule per method)."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        url = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "x", rule.rule)
        routes.setdefault(url, set()).update(rule.methods)
    return list(routes.items())


def test_wrong_methods_on_every_route_are_405_json_with_allow(app, client, hostile) -> None:
    routes = _urls_of_every_route(app)
    assert {"/", "/trigger_report", "/get_report", "/get_report/x", "/reports/x", "/reports", "/health"} <= {
        url for url, _ in routes}
    for url, allowed in routes:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            if method in allowed:
                continue
            response = client.open(url, method=method, json={"store_id": "plain"})
            assert_json_error(response, 405)
            allow = {m.strip() for m in response.headers["Allow"].split(",")}
            assert allow == allowed, (url, method, allow, allowed)
    assert report_jobs.recent(hostile.engine) == []


def test_security_headers_on_pages_and_api_answers(client, hostile) -> None:
    index = client.get("/")
    assert index.status_code == 200 and index.mimetype == "text/html"
    assert_security_headers(index)
    report_id = trigger(client, json={"as_of": AS_OF})
    for response in (client.get("/health"), client.get("/reports"), client.get(f"/reports/{report_id}"),
                     wait_for(client, report_id), client.get(f"/get_report/{report_id}"),
                     client.get("/static/app.js")):
        assert response.status_code == 200
        assert_security_headers(response)
    assert_json_error(client.get("/no/such/page"), 404)
    assert_json_error(client.get("/reports?limit=lots"), 400)


def test_unknown_urls_and_odd_requests_are_json(client, hostile) -> None:
    for url in ("/no/such/page", "/get_report/", "/reports/", "/trigger_report/extra", "/%ff", "/index.html",
                "/static/", "/static/nope.js", "/" + "a" * 10_000, "/..", "/%2e%2e/app.py"):
        assert_json_error(client.get(url), 404)
    odd = client.post("/trigger_report", data="store_id=plain", content_type="multipart/form-data; boundary=")
    assert odd.status_code in (202, 400)
    if odd.status_code == 400:
        assert_json_error(odd, 400)
    else:
        wait_for(client, odd.get_json()["report_id"])
