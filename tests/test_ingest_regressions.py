"""Regressions of issue 10 (hostile input to the loader), each on SQLite and MySQL.

Every test writes the broken file itself: truncated timestamps, a line cut mid-write, CR-only
line ends, gzip / binary / UTF-16 files, a poll before 1970, a 200 KB header, trailing commas,
repeated time-zone rows, a same-size replacement with restored mtime, files still being written,
and concurrent first loads on a new database.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import ROOT, write_inputs
from models import loads
from models.db import read_tx
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant as us
from support.stored import hours_in_db, polls_in_db, zones_in_db

POLL_HEADER = "store_id,status,timestamp_utc\n"
HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\nh1,0,09:00,17:00\n"
ZONES = "store_id,timezone_str\nz1,Europe/Berlin\n"


def by_kind(result) -> dict:
    return {f.kind: f for f in result.files}


def first_polls(runtime) -> dict[str, int | None]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT store_id, first_poll_us FROM stores")).all()
    return {r[0]: (None if r[1] is None else int(r[1])) for r in rows}


# -- 1. timestamps are never guessed ---------------------------------------------------------------

def test_truncated_timestamps_are_rejected_with_their_line(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + (
        "ok,active,2023-01-23 11:00:00\n"
        "a,active,2023-01-23 11:0\n"
        "b,active,2023-01-23 11:59:3\n"
        "c,active,2023-1-23 09:00:00\n"
        "d,active,2023-01-23 11:59\n"
        "e,active,2023-01-23T11:59:03+00:0\n"
        "f,active,2023-01-23 11:59:03 UT\n"
        "g,active,2023-01-23\n"
    )
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls=polls))
    rejected = {r.line: r.reason for r in by_kind(result)["polls"].rejections}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 8, 9]
    assert all(reason.startswith("bad timestamp") for reason in rejected.values())
    assert polls_in_db(runtime) == {("ok", us("2023-01-23T11:00:00Z"), True)}


COMPLETE_LINES = [
    "s1,inactive,2023-01-22 12:09:39.388884 UTC",
    "s2,active,2023-01-22 12:09:39.388884 UTC",
    "s3,active,2023-01-22T12:09:39.5+00:00",
    "s4,inactive,2023-01-22 13:00:00",
    "s5,active,2023-01-22 14:00:00",
]
# Where each line is cut while its writer is still at it: mid-minute, after the seconds, inside
# the fraction (a valid but different instant), inside the zone, inside the status.
CUTS = [len("s1,inactive,2023-01-22 12:0"), len("s2,active,2023-01-22 12:09:39"),
        len("s3,active,2023-01-22T12:09:39.5+00:0"), len("s4,inac"), len("s5,active,2023-01-22 14:00:00")]


def test_completing_a_cut_last_line_gives_the_data_of_the_completed_file(runtime, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "store_status.csv"
    written = POLL_HEADER
    for line, cut in zip(COMPLETE_LINES, CUTS):
        path.write_text(written + line[:cut])  # the writer is mid-line
        result = load_directory(runtime.engine, folder)
        assert by_kind(result)["polls"].status == "loaded"
        written += line + "\n"
        path.write_text(written)  # ... and finishes it
        load_directory(runtime.engine, folder)
    expected = {
        ("s1", us("2023-01-22T12:09:39.388884Z"), False), ("s2", us("2023-01-22T12:09:39.388884Z"), True),
        ("s3", us("2023-01-22T12:09:39.5Z"), True), ("s4", us("2023-01-22T13:00:00Z"), False),
        ("s5", us("2023-01-22T14:00:00Z"), True),
    }
    assert polls_in_db(runtime) == expected
    assert first_polls(runtime) == {store: ts for store, ts, _ in expected}


def test_a_complete_file_without_a_final_line_end_loads_its_last_row(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + "a,active,2023-01-22 10:00:00\nb,inactive,2023-01-22 11:00:00"
    folder = write_inputs(tmp_path / "in", polls=polls)
    load_directory(runtime.engine, folder)
    load_directory(runtime.engine, folder)  # unchanged: nothing undone
    assert polls_in_db(runtime) == {("a", us("2023-01-22T10:00:00Z"), True), ("b", us("2023-01-22T11:00:00Z"), False)}


# -- 2. CR line ends load; files that are not CSV text are refused alone ----------------------------

def test_cr_only_line_ends_load(runtime, tmp_path: Path) -> None:
    polls = (POLL_HEADER + "a,active,2023-01-22 10:00:00\nb,maybe,2023-01-22 10:00:00\n").replace("\n", "\r")
    folder = write_inputs(tmp_path / "in", polls=polls, hours=HOURS.replace("\n", "\r"), zones=ZONES.replace("\n", "\r"))
    result = by_kind(load_directory(runtime.engine, folder))
    assert [r.line for r in result["polls"].rejections] == [3]
    assert polls_in_db(runtime) == {("a", us("2023-01-22T10:00:00Z"), True)}
    assert hours_in_db(runtime) == {("h1", 0, 9 * 3600, 17 * 3600)}
    assert zones_in_db(runtime) == {"z1": "Europe/Berlin"}


@pytest.mark.parametrize("content, said", [
    # mtime=0: the same bytes in every process (pytest-xdist workers must collect the same tests)
    (gzip.compress((POLL_HEADER + "a,active,2023-01-22 10:00:00\n").encode(), mtime=0), "gzip"),
    ((POLL_HEADER + "a,active,2023-01-22 10:00:00\n").encode("utf-16"), "UTF-16"),
    (bytes(range(256)) * 20, "not CSV text"),
], ids=["gzip", "utf-16", "binary"])
def test_a_file_that_is_not_csv_text_is_refused_and_the_others_load(runtime, tmp_path: Path, content: bytes, said: str) -> None:
    folder = write_inputs(tmp_path / "in", hours=HOURS, zones=ZONES)
    (folder / "store_status.csv").write_bytes(content)
    result = load_directory(runtime.engine, folder)
    files = by_kind(result)
    assert files["polls"].status == "refused" and said in files["polls"].message
    assert files["polls"].message.startswith("store_status.csv: not CSV text")
    assert files["hours"].status == files["zones"].status == "loaded"
    assert hours_in_db(runtime) == {("h1", 0, 9 * 3600, 17 * 3600)} and polls_in_db(runtime) == set()


# -- 3. polls before 1970 -----------------------------------------------------------------------------

def test_polls_before_1970_load(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + "a,active,1969-12-31 23:59:59.5 UTC\nb,inactive,1950-06-01T00:00:00Z\nc,active,2023-01-22 10:00:00\n"
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls=polls))
    assert by_kind(result)["polls"].rows_new == 3
    assert polls_in_db(runtime) == {
        ("a", -500_000, True), ("b", us("1950-06-01T00:00:00Z"), False), ("c", us("2023-01-22T10:00:00Z"), True),
    }


# -- 4. what is stored about a load is bounded ----------------------------------------------------------

def test_a_refused_file_with_a_huge_header_does_not_fail_the_load(runtime, tmp_path: Path) -> None:
    header = ",".join(f"column_{i}" for i in range(20_000))  # ~230 KB, no required column
    folder = write_inputs(tmp_path / "in", polls=POLL_HEADER + "a,active,2023-01-22 10:00:00\n", zones=ZONES)
    (folder / "menu_hours.csv").write_text(header + "\n" + "x," * 100 + "\n")
    result = by_kind(load_directory(runtime.engine, folder))
    assert result["hours"].status == "refused" and "missing required column" in result["hours"].message
    assert result["polls"].status == result["zones"].status == "loaded"
    with read_tx(runtime.engine) as conn:
        newest = loads.newest_load(conn)
    assert len(newest.summary) <= loads.MAX_SUMMARY_CHARS
    assert loads.parse_summary(newest.summary)["files"][1]["status"] == "refused"


# -- 5. several processes creating the schema of a new database at once -------------------------------

def test_three_concurrent_first_loads_on_a_new_database(database_url: str, tmp_path: Path) -> None:
    folder = write_inputs(tmp_path / "in", polls=POLL_HEADER + "a,active,2023-01-22 10:00:00\n", hours=HOURS, zones=ZONES)
    env = {k: v for k, v in os.environ.items() if k not in ("CSV_DIR", "REPORT_DIR")}
    env.update(DATABASE_URL=database_url, REPORT_DIR=str(tmp_path / "reports"))
    processes = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "load-data", "--dir", str(folder)], cwd=ROOT,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], "\n".join(outputs)
    from sqlalchemy import create_engine
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM polls")).scalar_one() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM data_loads")).scalar_one() == 3
    finally:
        engine.dispose()


# -- 6. trailing commas ----------------------------------------------------------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_trailing_comma_on_every_row_is_read_normally(runtime, tmp_path: Path, newline: str) -> None:
    rows = [f"s{i},active,2023-01-22 10:00:{i:02d}," for i in range(50)] + ["late,active,2023-01-22 11:00:00,oops"]
    polls = newline.join([POLL_HEADER.strip()] + rows) + newline
    hours = "store_id,dayOfWeek,start_time_local,end_time_local\nh1,0,09:00,17:00,\n"
    result = by_kind(load_directory(runtime.engine, write_inputs(tmp_path / "in", polls=polls, hours=hours)))
    assert result["polls"].rows_loaded == 50
    assert [(r.line, r.reason) for r in result["polls"].rejections] == [(52, "row has 4 fields, the header has 3")]
    assert hours_in_db(runtime) == {("h1", 0, 9 * 3600, 17 * 3600)}


# -- 7. several time-zone rows for one store: the last counts, and the warning says so --------------------

def test_the_last_time_zone_row_of_a_store_counts(runtime, tmp_path: Path) -> None:
    zones = ("store_id,timezone_str\n"
             "a,Europe/Berlin\na,Mars/Olympus\n"  # known, then unknown: the default zone
             "b,Mars/Olympus\nb,Asia/Tokyo\n")  # unknown, then known: Tokyo
    result = by_kind(load_directory(runtime.engine, write_inputs(tmp_path / "in", zones=zones)))
    assert zones_in_db(runtime) == {"b": "Asia/Tokyo"}
    warnings = result["zones"].warnings
    assert "line 3: unknown time zone 'Mars/Olympus' for store 'a': using America/Chicago" in warnings
    assert not any(w.startswith("line 4") for w in warnings)
    assert any("the last row of each store counts" in w for w in warnings)


# -- 8. a replacement with the same size and mtime is noticed --------------------------------------------

@pytest.mark.parametrize("how", ["replace", "in_place"])
def test_same_size_same_mtime_replacement_is_loaded(runtime, tmp_path: Path, how: str) -> None:
    folder = write_inputs(tmp_path / "in", hours=HOURS)
    path = folder / "menu_hours.csv"
    load_directory(runtime.engine, folder)
    stat = path.stat()
    changed = HOURS.replace("09:00,17:00", "10:00,18:00")
    assert len(changed) == len(HOURS)
    if how == "replace":  # what cp -p, rsync -t or tar do
        (folder / "new.tmp").write_text(changed)
        os.replace(folder / "new.tmp", path)
    else:
        path.write_text(changed)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    result = by_kind(load_directory(runtime.engine, folder))
    assert result["hours"].status == "loaded"
    assert hours_in_db(runtime) == {("h1", 0, 10 * 3600, 18 * 3600)}
    assert by_kind(load_directory(runtime.engine, folder))["hours"].status == "unchanged"


# -- 9. the running service waits for files that are still changing ---------------------------------------

def test_a_file_changed_just_now_is_waited_for(runtime, tmp_path: Path) -> None:
    folder = write_inputs(tmp_path / "in", hours=HOURS)
    os.utime(folder / "menu_hours.csv")  # modified now
    result = by_kind(load_directory(runtime.engine, folder, settle_seconds=0.3))
    assert result["hours"].status == "loaded" and result["hours"].waited_seconds > 0
    assert "waited" in result["hours"].message


def test_a_file_that_keeps_changing_is_left_for_the_next_load(runtime, tmp_path: Path) -> None:
    folder = write_inputs(tmp_path / "in", hours=HOURS)
    load_directory(runtime.engine, folder)
    stop = threading.Event()

    def writer() -> None:  # a slow writer rewriting the snapshot in place
        index = 0
        while not stop.wait(0.05):
            index += 1
            (folder / "menu_hours.csv").write_text(HOURS + "".join(f"x{i},1,00:00,01:00\n" for i in range(index)))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # A settle time 20 times the writer's interval: a loaded machine that delays the writer
        # thread a few hundred milliseconds does not make the file look finished.
        result = by_kind(load_directory(runtime.engine, folder, settle_seconds=1.0, max_wait_seconds=2.0))
    finally:
        stop.set()
        thread.join()
    assert result["hours"].status == "unsettled" and "still changing" in result["hours"].message
    assert hours_in_db(runtime) == {("h1", 0, 9 * 3600, 17 * 3600)}
    # Once it is still, the next load takes the finished file.
    final = by_kind(load_directory(runtime.engine, folder, settle_seconds=0.3))
    assert final["hours"].status == "loaded" and len(hours_in_db(runtime)) > 1


def test_the_running_service_reload_uses_the_settle_time(app, config, tmp_path: Path) -> None:
    from runtime import Runtime

    runtime = Runtime.build(config.with_changes(load_settle_seconds=0.3))
    try:
        write_inputs(config.csv_dir, hours=HOURS)
        os.utime(config.csv_dir / "menu_hours.csv")
        result = by_kind(runtime.reload_loop.run_once())
        assert result["hours"].status == "loaded" and result["hours"].waited_seconds > 0
    finally:
        runtime.close()


# -- 10. /health says degraded while the newest load refused a file or failed ------------------------------

def test_health_is_degraded_while_the_newest_load_refused_or_failed(client, runtime, config, monkeypatch) -> None:
    write_inputs(config.csv_dir, polls=POLL_HEADER + "a,active,2023-01-22 10:00:00\n", hours=HOURS, zones=ZONES)
    runtime.reload_loop.run_once()
    assert client.get("/health").get_json()["status"] == "ok"

    (config.csv_dir / "menu_hours.csv").write_bytes(gzip.compress(HOURS.encode()))
    runtime.reload_loop.run_once()
    body = client.get("/health").get_json()
    assert body["status"] == "degraded" and "menu_hours.csv: not CSV text" in body["reason"]

    (config.csv_dir / "menu_hours.csv").write_text(HOURS)
    runtime.reload_loop.run_once()
    assert client.get("/health").get_json()["status"] == "ok"

    from models import store_writes

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_writes, "insert_polls", broken)
    (config.csv_dir / "store_status.csv").write_text(POLL_HEADER + "b,active,2023-01-22 11:00:00\n")
    assert runtime.reload_loop.run_once() is None
    body = client.get("/health").get_json()
    assert body["status"] == "degraded" and "disk full" in body["reason"]
    monkeypatch.undo()
    runtime.reload_loop.run_once()
    assert client.get("/health").get_json()["status"] == "ok"
    assert ("b", us("2023-01-22T11:00:00Z"), True) in polls_in_db(runtime)


# -- issue 9: progress through a callback; the CLI is quiet when its output is not a terminal -----------

def test_load_reports_progress_to_a_callback(runtime, tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    folder = write_inputs(tmp_path / "in", polls=POLL_HEADER + "a,active,2023-01-22 10:00:00\n", hours=HOURS, zones=ZONES)
    load_directory(runtime.engine, folder, progress=lambda fraction, what: seen.append((fraction, what)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0
    assert {"reading polls", "writing polls", "writing hours", "writing zones"} <= {w for _, w in seen}


def test_load_data_cli_prints_no_progress_bar_into_a_pipe(app, tmp_path: Path) -> None:
    folder = write_inputs(tmp_path / "in", polls=POLL_HEADER + "a,active,2023-01-22 10:00:00\n")
    result = app.test_cli_runner().invoke(args=["load-data", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert "polls  loaded" in result.output
    assert "loading" not in result.output and "%" not in result.output
