"""`POST /polls` (SPEC 10) through Flask's test client on SQLite and MySQL: the answer's counts and
rejections, idempotency, inactive winning a conflict, NDJSON, limits, bad bodies, what the live
write leaves in the database (stores, first polls, arrivals, batch numbers, data version), live
polls ending up exactly like the same polls loaded from a CSV, and a CSV load running at the same
time as live writes."""
from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from conftest import combine_examples, write_inputs
from models import store_data
from models.db import read_tx
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant, parse_timestamps
from services.live.signals import polls_committed

EXAMPLES = ["ex1", "ex2", "ex3", "ex4", "ex5"]


def poll(store: str, status: str, ts: str) -> dict[str, str]:
    return {"store_id": store, "status": status, "timestamp_utc": ts}


def post(client: Any, polls: Any, **kwargs: Any) -> Any:
    return client.post("/polls", json=polls, **kwargs)


def stored_polls(engine: Engine) -> list[tuple[str, int, int]]:
    with read_tx(engine) as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, p.ts_us, p.active FROM polls p JOIN stores s ON s.id = p.store_key"
        )).all()
    return sorted((str(s), int(t), int(a)) for s, t, a in rows)


def arrivals(engine: Engine) -> list[tuple[int, str, int, int]]:
    with read_tx(engine) as conn:
        rows = conn.execute(text(
            "SELECT a.seq, s.store_id, a.ts_us, a.active FROM poll_arrivals a JOIN stores s ON s.id = a.store_key"
        )).all()
    return sorted((int(q), str(s), int(t), int(a)) for q, s, t, a in rows)


def versions(engine: Engine) -> tuple[int, int]:
    with read_tx(engine) as conn:
        return store_data.live_version(conn), store_data.data_version(conn)


def us(ts: str) -> int:
    return parse_instant(ts)


def test_accepted_duplicates_and_rejections_by_index(client, runtime) -> None:
    polls_committed.wait(0)  # whatever an earlier test announced
    body = [
        poll("s1", "active", "2023-01-22 12:09:39.388884 UTC"),
        poll("s1", "inactive", "2023-01-22T12:09:39.388884Z"),  # the same instant: inactive wins
        poll(" s2 ", " Active ", "2023-01-22T14:09:39+02:00"),  # = 12:09:39 UTC, id and status trimmed
        poll("s1", "up", "2023-01-22 13:00:00"),
        poll("s3", "active", "2023-01-22 13:00"),  # a timestamp cut short
        {"store_id": 8419537941919820732, "status": "inactive", "timestamp_utc": "2023-01-22 13:00:00"},
    ]
    response = post(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "accepted": 3, "duplicates": 1,
        "rejected": [{"index": 3, "reason": "unknown status 'up'"},
                     {"index": 4, "reason": "bad timestamp '2023-01-22 13:00'"}],
    }
    engine = runtime.engine
    t0, t1 = us("2023-01-22 12:09:39.388884"), us("2023-01-22 12:09:39")
    big = us("2023-01-22 13:00:00")
    assert stored_polls(engine) == sorted([("s1", t0, 0), ("s2", t1, 1), ("8419537941919820732", big, 0)])
    assert arrivals(engine) == sorted([(1, "s1", t0, 0), (1, "s2", t1, 1), (1, "8419537941919820732", big, 0)])
    assert versions(engine) == (1, 1)  # no load yet: the data version is the live version
    with read_tx(engine) as conn:
        firsts = dict(conn.execute(text("SELECT store_id, first_poll_us FROM stores")).all())
    assert firsts == {"s1": t0, "s2": t1, "8419537941919820732": big}
    assert polls_committed.wait(0)  # the evaluator of this process is woken


def test_the_same_polls_again_add_nothing_and_take_no_batch_number(client, runtime) -> None:
    body = [poll(f"store-{i % 7}", "active" if i % 3 else "inactive", f"2023-01-22 10:{i // 60:02d}:{i % 60:02d}")
            for i in range(300)]
    first = post(client, body).get_json()
    assert first == {"accepted": 300, "duplicates": 0, "rejected": []}
    state = stored_polls(runtime.engine), arrivals(runtime.engine), versions(runtime.engine)
    again = post(client, body).get_json()
    assert again == {"accepted": 0, "duplicates": 300, "rejected": []}
    # Nothing changed, so no arrival, no batch number, no new data version (report caches stay warm).
    assert (stored_polls(runtime.engine), arrivals(runtime.engine), versions(runtime.engine)) == state
    # Half old, half new: only the new ones count and arrive, under the next batch number.
    more = body[150:] + [poll("store-9", "active", f"2023-01-22 11:00:{i:02d}") for i in range(40)]
    assert post(client, more).get_json() == {"accepted": 40, "duplicates": 150, "rejected": []}
    assert {seq for seq, *_ in arrivals(runtime.engine)} == {1, 2}
    assert len(arrivals(runtime.engine)) == 340 and versions(runtime.engine) == (2, 2)


def test_a_conflict_keeps_inactive(client, runtime) -> None:
    ts = "2023-01-22 12:00:00"
    assert post(client, [poll("s", "active", ts)]).get_json()["accepted"] == 1
    assert post(client, [poll("s", "INACTIVE", ts)]).get_json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert post(client, [poll("s", "active", ts)]).get_json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert stored_polls(runtime.engine) == [("s", us(ts), 0)]
    # The change to inactive arrived as a batch of its own; the active repeat did not.
    assert arrivals(runtime.engine) == [(1, "s", us(ts), 1), (2, "s", us(ts), 0)]


def test_ndjson_lines_are_polls_and_a_bad_line_is_rejected_alone(client, runtime) -> None:
    lines = [json.dumps(poll("a", "active", "2023-01-22 12:00:00")), "",
             "{not json", json.dumps(poll("b", "inactive", "2023-01-22 12:00:00")),
             json.dumps([1, 2]), "   ", json.dumps(poll("a", "active", "2023-01-22T12:00:00Z"))]
    response = client.post("/polls", data="\r\n".join(lines) + "\n", content_type="application/x-ndjson")
    answer = response.get_json()
    assert response.status_code == 200 and (answer["accepted"], answer["duplicates"]) == (2, 1)
    assert [r["index"] for r in answer["rejected"]] == [2, 4]  # indexes are line numbers (0-based)
    assert answer["rejected"][0]["reason"].startswith("line is not valid JSON")
    assert answer["rejected"][1]["reason"] == "not a poll object (a JSON array)"
    assert len(stored_polls(runtime.engine)) == 2
    # A line separator inside a JSON string does not end the line (only LF does).
    line = json.dumps(poll("c\u2028d", "active", "2023-01-22 12:00:00"), ensure_ascii=False)
    response = client.post("/polls", data=line.encode("utf-8"), content_type="application/x-ndjson")
    assert response.get_json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert ("c\u2028d", us("2023-01-22 12:00:00"), 1) in stored_polls(runtime.engine)


@pytest.mark.parametrize("body, content_type, message", [
    (b"[{", "application/json", "not valid JSON"),
    (b'{"store_id": "a", "status": "active", "timestamp_utc": "2023-01-22 12:00:00"}', "application/json",
     "send a JSON array"),
    (b'"polls"', "application/json", "send a JSON array"),
    (b"", "application/json", "empty body"),
    (b"   \n", "application/x-ndjson", None),  # no poll at all: nothing to do, not an error
    (b"[]", "text/plain", "Content-Type"),
    (b"store_id=a", "application/x-www-form-urlencoded", "Content-Type"),
    ('[{"store_id": "é"}]'.encode("latin-1"), "application/json", "not UTF-8"),
    (b"\xff\xfe\x00", "application/x-ndjson", "not UTF-8"),
])
def test_bad_bodies_are_refused_whole(client, runtime, body: bytes, content_type: str, message: str | None) -> None:
    response = client.post("/polls", data=body, content_type=content_type)
    if message is None:
        assert response.status_code == 200 and response.get_json() == {"accepted": 0, "duplicates": 0, "rejected": []}
    else:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert message in response.get_json()["error"]
    assert stored_polls(runtime.engine) == [] and versions(runtime.engine) == (0, 0)


def test_limits_10000_polls_fit_and_more_are_refused(client, runtime) -> None:
    ids = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(10_000)]  # UUID-like ids: ~1.2 MB of JSON
    body = [poll(ids[i], "active", f"2023-01-22 12:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i:06d}Z")
            for i in range(10_000)]
    raw = json.dumps(body).encode()
    assert len(raw) > 1_000_000  # above the service's general request limit
    response = client.post("/polls", data=raw, content_type="application/json")
    assert response.status_code == 200 and response.get_json()["accepted"] == 10_000
    response = post(client, body + [body[0]])
    assert response.status_code == 400 and "at most 10000" in response.get_json()["error"]
    ndjson = "\n".join(json.dumps(p) for p in body + [body[1]])
    response = client.post("/polls", data=ndjson, content_type="application/x-ndjson")
    assert response.status_code == 400 and "at most 10000" in response.get_json()["error"]
    huge = b"[" + b" " * (9 * 1024 * 1024) + b"]"
    response = client.post("/polls", data=huge, content_type="application/json")
    assert response.status_code == 413 and "error" in response.get_json()
    assert len(stored_polls(runtime.engine)) == 10_000


def raw_poll(store: Any, status: Any, ts: Any) -> dict[str, Any]:
    return {"store_id": store, "status": status, "timestamp_utc": ts}


REJECTIONS = [
    (5, "not a poll object (a JSON number)"),
    ("x", "not a poll object (a JSON string)"),
    (None, "not a poll object (a JSON null)"),
    ([], "not a poll object (a JSON array)"),
    (True, "not a poll object (a JSON boolean)"),
    ({}, "missing store_id, status, timestamp_utc"),
    ({"store_id": "a", "status": "active"}, "missing timestamp_utc"),
    ({**poll("a", "active", "2023-01-22 12:00:00"), "extra": 1}, "unknown field(s) 'extra'"),
    (raw_poll(1.5, "active", "2023-01-22 12:00:00"),
     "store_id must be a string, not a JSON number"),
    (raw_poll(None, "active", "2023-01-22 12:00:00"),
     "store_id must be a string, not a JSON null"),
    (raw_poll(True, "active", "2023-01-22 12:00:00"),
     "store_id must be a string, not a JSON boolean"),
    (raw_poll("a", 1, "2023-01-22 12:00:00"),
     "status must be a string, not a JSON number"),
    (raw_poll("a", "active", 1674389379),
     "timestamp_utc must be a string, not a JSON number"),
    (poll("  ", "active", "2023-01-22 12:00:00"), "empty store_id"),
    (poll("x" * 256, "active", "2023-01-22 12:00:00"), "store_id longer than 255 characters"),
    (poll("a\tb", "active", "2023-01-22 12:00:00"), "store_id contains control characters"),
    (poll("a", "open", "2023-01-22 12:00:00"), "unknown status 'open'"),
    (poll("a", "", "2023-01-22 12:00:00"), "unknown status ''"),
    (poll("a", "active", "2023-01-22 12:0"), "bad timestamp '2023-01-22 12:0'"),
    (poll("a", "active", "2023-1-22 12:00:00"), "bad timestamp '2023-1-22 12:00:00'"),
    (poll("a", "active", "2023-02-30 12:00:00"), "bad timestamp '2023-02-30 12:00:00'"),
    (poll("a", "active", "yesterday"), "bad timestamp 'yesterday'"),
    (poll("a", "active", "2200-01-01 00:00:00"), "timestamp in the future '2200-01-01 00:00:00'"),
]


def test_every_kind_of_bad_poll_is_rejected_with_its_index_and_reason(client, runtime) -> None:
    good = poll("good", "active", "2023-01-22 12:00:00")
    body = [good] + [item for item, _ in REJECTIONS]
    answer = post(client, body).get_json()
    assert answer["accepted"] == 1 and answer["duplicates"] == 0
    assert answer["rejected"] == [{"index": i + 1, "reason": reason} for i, (_, reason) in enumerate(REJECTIONS)]
    assert stored_polls(runtime.engine) == [("good", us("2023-01-22 12:00:00"), 1)]
    # A request of bad polls only is answered the same way and writes nothing.
    answer = post(client, [item for item, _ in REJECTIONS]).get_json()
    assert (answer["accepted"], len(answer["rejected"])) == (0, len(REJECTIONS))
    assert versions(runtime.engine) == (1, 1)


def random_polls(count: int, seed: int, stores: int = 40) -> list[dict[str, str]]:
    """Polls with repeats and conflicting statuses for one instant, in no order."""
    rng = random.Random(seed)
    polls = []
    for _ in range(count):
        minute = rng.randrange(0, 3 * 24 * 60)
        ts = f"2023-01-{20 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}:{rng.randrange(3) * 7:02d}"
        polls.append(poll(f"live-{rng.randrange(stores)}", rng.choice(["active", "active", "inactive"]), ts))
    return polls


def polls_csv(polls: list[dict[str, str]]) -> str:
    return "store_id,status,timestamp_utc\n" + "".join(
        f"{p['store_id']},{p['status']},{p['timestamp_utc']}\n" for p in polls)


def expected_polls(polls: list[dict[str, str]]) -> list[tuple[str, int, int]]:
    """Each (store, instant) once, inactive if any of its polls says so."""
    micros, ok = parse_timestamps(pd.Series([p["timestamp_utc"] for p in polls], dtype=object))
    assert ok.all()
    best: dict[tuple[str, int], int] = {}
    for p, ts in zip(polls, micros.tolist()):
        key = (p["store_id"].strip(), ts)
        best[key] = min(best.get(key, 1), 1 if p["status"].strip().lower() == "active" else 0)
    return sorted((s, t, a) for (s, t), a in best.items())


def test_live_polls_equal_the_same_polls_loaded_from_a_csv(app, client, runtime, config, tmp_path: Path) -> None:
    """Hours and zones from CSV, polls only live: the database and the report are those of
    loading everything from CSV (reports see live polls as data like any other)."""
    from app import create_app
    from runtime import runtime_of

    examples = combine_examples(EXAMPLES, tmp_path / "examples")
    extra = random_polls(3_000, seed=19)
    status_rows = (examples / "store_status.csv").read_text().splitlines()[1:]
    example_polls = [dict(zip(("store_id", "status", "timestamp_utc"), line.split(",")))
                     for line in status_rows if line]
    everything = example_polls + extra
    write_inputs(tmp_path / "all", polls=polls_csv(everything),
                 hours=(examples / "menu_hours.csv").read_text(), zones=(examples / "timezones.csv").read_text())
    write_inputs(tmp_path / "no_polls", hours=(examples / "menu_hours.csv").read_text(),
                 zones=(examples / "timezones.csv").read_text())
    load_directory(runtime.engine, tmp_path / "no_polls")
    for lo in range(0, len(everything), 700):
        response = post(client, everything[lo : lo + 700])
        assert response.status_code == 200 and response.get_json()["rejected"] == []
    assert stored_polls(runtime.engine) == expected_polls(everything)

    reference_url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    reference = create_app(config.with_changes(database_url=reference_url, report_dir=tmp_path / "ref-reports"))
    try:
        load_directory(runtime_of(reference).engine, tmp_path / "all")
        assert stored_polls(runtime_of(reference).engine) == stored_polls(runtime.engine)
        outputs = []
        for which in (app, reference):
            out = tmp_path / f"report-{len(outputs)}.csv"
            args = ["report", "--as-of", "2023-01-23T12:00:00Z", "--out", str(out)]
            result = which.test_cli_runner().invoke(args=args)
            assert result.exit_code == 0, result.output
            outputs.append(out.read_text())
        assert outputs[0] == outputs[1] and outputs[0].count("\n") > 10
    finally:
        runtime_of(reference).close()


def test_a_csv_load_and_live_polls_at_the_same_time_lose_nothing(client, runtime, tmp_path: Path) -> None:
    """The load writes polls that the live requests also send (with other statuses), both at once;
    afterwards every poll of both is stored once, with inactive kept, and loading the CSV again
    changes nothing."""
    csv_polls = random_polls(20_000, seed=1, stores=300)
    live_polls = random_polls(6_000, seed=2, stores=300) + csv_polls[::7]
    random.Random(3).shuffle(live_polls)
    folder = write_inputs(tmp_path / "csv", polls=polls_csv(csv_polls))
    errors: list[BaseException] = []

    def load() -> None:
        try:
            load_directory(runtime.engine, folder)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    answers, during_load = [], 0
    # Live batches go on while the load runs (the first pass, then repeats, which add nothing).
    for n in range(10_000):
        lo = (n * 500) % len(live_polls)
        if n * 500 >= len(live_polls) and not loader.is_alive():
            break
        loading = loader.is_alive()  # when the batch is sent: it then overlaps the load, however long it waits
        response = post(client, live_polls[lo : lo + 500])
        assert response.status_code == 200, response.get_data(as_text=True)
        answers.append(response.get_json())
        during_load += loading
    loader.join(120)
    assert not loader.is_alive() and errors == []
    assert during_load >= 1  # live writes did meet the load
    assert stored_polls(runtime.engine) == expected_polls(csv_polls + live_polls)
    # Every change a live batch made is in its arrivals, with the status that was stored then.
    assert len(arrivals(runtime.engine)) == sum(a["accepted"] for a in answers)
    again = load_directory(runtime.engine, folder)
    assert stored_polls(runtime.engine) == expected_polls(csv_polls + live_polls) and not again.changed
