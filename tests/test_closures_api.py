"""The closure API of SPEC 9 through real HTTP (Flask's test client) on SQLite and MySQL: local
and absolute bounds, listing with a range, removal, bad input answered 400 JSON, owner scoping
(SPEC 8), API closures kept across closures.csv loads, and report caches that see every change."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import write_inputs
from models.store_data import data_version
from services.ingest.loader import load_directory
from test_access import Tenants, close_settled, make_tenants

POLLS = ("store_id,status,timestamp_utc\n"
         "ny,inactive,2023-12-22 15:00:00 UTC\nny,inactive,2023-12-26 15:00:00 UTC\n"
         "chi,active,2023-12-22 15:00:00 UTC\n")
HOURS = "store_id,day,start_time_local,end_time_local\n" + "".join(f"ny,{d},09:00,17:00\n" for d in range(7))
ZONES = "store_id,timezone_str\nny,America/New_York\n"


def utc_z(local: str, zone: str) -> str:
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))  # fold=0
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def loaded(runtime, tmp_path: Path) -> Path:
    folder = write_inputs(tmp_path / "in", POLLS, HOURS, ZONES)
    load_directory(runtime.engine, folder)
    return folder


def test_add_list_and_remove(client, loaded: Path) -> None:
    made = client.post("/stores/ny/closures", json={"start": "2023-12-25T00:00", "end": "2023-12-26T00:00:00",
                                                    "reason": "  Christmas  "})
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert set(body) == {"closure_id", "start", "end", "reason"}
    assert body["start"] == "2023-12-25T05:00:00Z" == utc_z("2023-12-25 00:00", "America/New_York")
    assert body["end"] == "2023-12-26T05:00:00Z" and body["reason"] == "Christmas"
    # Instants, with Z or an offset; no reason at all.
    second = client.post("/stores/ny/closures", json={"start": "2023-12-31T22:00:00Z", "end": "2024-01-01T03:30-01:00",
                                                      "reason": None})
    assert second.status_code == 201 and second.get_json() == {
        "closure_id": second.get_json()["closure_id"], "start": "2023-12-31T22:00:00Z", "end": "2024-01-01T04:30:00Z",
        "reason": None}
    # The availability JSON lists it clipped to the range, a missing reason as null.
    around = client.get("/stores/ny/availability?from=2023-12-31T00:00:00Z&to=2024-01-01T00:00:00Z")
    assert around.status_code == 200 and around.get_json()["closures"] == [
        {"start": "2023-12-31T22:00:00Z", "end": "2024-01-01T00:00:00Z", "reason": None}]
    listed = client.get("/stores/ny/closures")
    assert listed.status_code == 200
    answer = listed.get_json()
    assert answer["store_id"] == "ny" and answer["timezone"] == "America/New_York"
    assert [(c["closure_id"], c["start"], c["end"], c["reason"], c["source"]) for c in answer["closures"]] == [
        (body["closure_id"], body["start"], body["end"], "Christmas", "api"),
        (second.get_json()["closure_id"], "2023-12-31T22:00:00Z", "2024-01-01T04:30:00Z", None, "api")]
    assert answer["closures"][0]["start_local"] == "2023-12-25T00:00:00"
    # from/to select the closures overlapping [from, to): touching is not overlapping.
    only_first = client.get("/stores/ny/closures?from=2023-12-20T00:00:00Z&to=2023-12-31T22:00:00Z").get_json()
    assert [c["closure_id"] for c in only_first["closures"]] == [body["closure_id"]]
    between = client.get("/stores/ny/closures?from=2023-12-26T05:00:00Z&to=2023-12-31T22:00:00Z").get_json()
    assert between["closures"] == []

    removed = client.delete(f"/stores/ny/closures/{body['closure_id']}")
    assert removed.status_code == 204 and removed.get_data() == b""
    assert [c["closure_id"] for c in client.get("/stores/ny/closures").get_json()["closures"]] == [
        second.get_json()["closure_id"]]
    again = client.delete(f"/stores/ny/closures/{body['closure_id']}")
    assert again.status_code == 404 and "error" in again.get_json()
    # A closure is removed through its own store only.
    assert client.delete(f"/stores/chi/closures/{second.get_json()['closure_id']}").status_code == 404


@pytest.mark.parametrize("body, said", [
    ({"end": "2023-12-26T00:00"}, "start"),
    ({"start": "2023-12-25T00:00", "end": "2023-12-26T00:00", "colour": "red"}, "unknown parameter 'colour'"),
    ({"start": "2023-12-25 9:00", "end": "2023-12-26T00:00"}, "start"),
    ({"start": "2023-12-25T00:0", "end": "2023-12-26T00:00"}, "start"),
    ({"start": "2023-02-30T00:00", "end": "2023-03-01T00:00"}, "calendar"),
    ({"start": 1703480400, "end": "2023-12-26T00:00"}, "start"),
    ({"start": "2023-12-25T00:00", "end": "2023-12-25T00:00"}, "end must be after start"),
    ({"start": "2023-12-26T00:00", "end": "2023-12-25T00:00"}, "end must be after start"),
    ({"start": "2023-01-01T00:00Z", "end": "2024-01-02T00:00:01Z"}, "366 days"),
    ({"start": "2023-12-25T00:00", "end": "2023-12-26T00:00", "reason": "x" * 201}, "reason"),
    ({"start": "2023-12-25T00:00", "end": "2023-12-26T00:00", "reason": 5}, "reason"),
    ({"start": "2023-12-25T00:00", "end": "2023-12-26T00:00+25:00"}, "offset"),
    ({"start": "2150-01-01T00:00", "end": "2150-01-02T00:00"}, "2100"),
    # 05:00 local in New York is 10:00 UTC: the instant 09:00Z is before it.
    ({"start": "2023-12-25T05:00", "end": "2023-12-25T09:00:00Z"}, "end must be after start"),
])
def test_bad_input_is_a_400_json(client, loaded: Path, body: dict, said: str) -> None:
    response = client.post("/stores/ny/closures", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert said in response.get_json()["error"]
    assert client.get("/stores/ny/closures").get_json()["closures"] == []


def test_other_bad_requests(client, loaded: Path) -> None:
    not_json = client.post("/stores/ny/closures", data="start=x", content_type="text/plain")
    assert not_json.status_code == 400 and "Content-Type" in not_json.get_json()["error"]
    assert client.post("/stores/ny/closures", data="[1]", content_type="application/json").status_code == 400
    assert client.post("/stores/ny/closures", data="{", content_type="application/json").status_code == 400
    assert client.get("/stores/ny/closures?from=yesterday").status_code == 400
    assert client.get("/stores/ny/closures?from=2023-12-26T00:00:00Z&to=2023-12-25T00:00:00Z").status_code == 400
    assert client.get("/stores/ny/closures?colour=red").status_code == 400
    assert client.delete("/stores/ny/closures/not-an-id").status_code == 400
    assert client.post("/stores/%20/closures", json={"start": "2023-12-25T00:00", "end": "2023-12-26T00:00"}
                       ).status_code == 400
    unknown = client.get("/stores/nowhere/closures")
    assert unknown.status_code == 404 and "error" in unknown.get_json()


def test_a_store_not_seen_yet_is_added_and_uses_the_default_zone(client, runtime, loaded: Path) -> None:
    made = client.post("/stores/new-store/closures", json={"start": "2023-07-04T00:00", "end": "2023-07-05T00:00"})
    assert made.status_code == 201
    assert made.get_json()["start"] == utc_z("2023-07-04 00:00", "America/Chicago") == "2023-07-04T05:00:00Z"
    listed = client.get("/stores/new-store/closures").get_json()
    assert listed["timezone"] == "America/Chicago" and len(listed["closures"]) == 1
    # It has no polls: it is in no report.
    assert client.get("/stores/new-store/availability?to=2023-12-27T00:00:00Z").status_code == 404


def test_api_closures_survive_loads_and_every_change_moves_the_data_version(client, runtime, loaded: Path) -> None:
    def version() -> int:
        with runtime.engine.connect() as conn:
            return data_version(conn)

    def week() -> dict:
        return client.get("/stores/ny/availability?from=2023-12-20T00:00:00Z&to=2023-12-27T00:00:00Z").get_json()

    first = week()
    assert first["business_hours"] == 56 and first["closed_hours"] == 0 and first["closures"] == []
    start = version()
    made = client.post("/stores/ny/closures", json={"start": "2023-12-25T00:00", "end": "2023-12-26T00:00",
                                                    "reason": "Christmas"}).get_json()
    assert version() > start
    closed = week()  # not the cached answer of the old data
    assert closed["business_hours"] == 48 and closed["closed_hours"] == 8
    assert closed["closures"] == [
        {"start": "2023-12-25T05:00:00Z", "end": "2023-12-26T05:00:00Z", "reason": "Christmas"}]
    assert [d["business_hours"] for d in closed["days"] if d["date"] == "2023-12-25"] == [0]
    # A load of closures.csv replaces the CSV closures only.
    (loaded / "closures.csv").write_text(
        "store_id,start_local,end_local,reason\nny,2023-12-24 00:00,2023-12-24 12:00,eve\n")
    load_directory(runtime.engine, loaded)
    reasons = sorted((c["reason"], c["source"]) for c in client.get("/stores/ny/closures").get_json()["closures"])
    assert reasons == [("Christmas", "api"), ("eve", "csv")]
    assert week()["business_hours"] == 45
    before_delete = version()
    assert client.delete(f"/stores/ny/closures/{made['closure_id']}").status_code == 204
    assert version() > before_delete and week()["business_hours"] == 53
    health = client.get("/health").get_json()
    assert health.get("status") != "degraded", health  # a closure change is not a (failed) load


@pytest.fixture
def tenants(config, tmp_path: Path):
    tenants = make_tenants(config, tmp_path)
    yield tenants
    close_settled(tenants.app)


def test_owners_reach_only_their_stores(tenants: Tenants) -> None:
    body = {"start": "2023-01-20T09:00", "end": "2023-01-20T12:00", "reason": "inventory"}
    own = tenants.call("owner", "POST", "/stores/store-1/closures", json=body)
    assert own.status_code == 201
    closure_id = own.get_json()["closure_id"]
    # Another tenant's store answers like a store that does not exist, whatever the method.
    for role in ("other_owner",):
        assert tenants.call(role, "POST", "/stores/store-1/closures", json=body).status_code == 404
        assert tenants.call(role, "GET", "/stores/store-1/closures").status_code == 404
        assert tenants.call(role, "DELETE", f"/stores/store-1/closures/{closure_id}").status_code == 404
    not_mine = tenants.call("owner", "GET", "/stores/store-2/closures")
    missing = tenants.call("owner", "GET", "/stores/store-404/closures")
    assert not_mine.status_code == missing.status_code == 404
    assert not_mine.get_json()["error"].replace("store-2", "X") == missing.get_json()["error"].replace("store-404", "X")
    # Reporters and admins see and change every store; the owner's closure is still there.
    listed = tenants.call("reporter", "GET", "/stores/store-1/closures").get_json()["closures"]
    assert [c["closure_id"] for c in listed] == [closure_id]
    assert tenants.call("admin", "POST", "/stores/store-2/closures", json=body).status_code == 201
    assert tenants.call("owner", "DELETE", f"/stores/store-1/closures/{closure_id}").status_code == 204
    assert tenants.call("none", "GET", "/stores/store-1/closures").status_code == 401
