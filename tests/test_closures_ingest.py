"""closures.csv (SPEC 9) on SQLite and MySQL: formats, rejections with line numbers, snapshot
semantics that keep API closures, half-written lines, unchanged files, and local times that
follow the store's zone (fold=0, like business hours)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from conftest import write_inputs
from models import closures as closure_rows
from models.db import write_tx
from models.store_data import data_version
from services.ingest.loader import load_directory

HEADER = "store_id,start_local,end_local,reason\n"
POLLS = "store_id,status,timestamp_utc\nchi,active,2023-12-20 12:00:00 UTC\nny,active,2023-12-20 12:00:00 UTC\n"


def local_us(text_value: str, zone: str) -> int:
    """The instant of a local wall time with zoneinfo's fold=0 (SPEC 2.2), the reference rule."""
    wall = dt.datetime.fromisoformat(text_value).replace(tzinfo=ZoneInfo(zone))
    return int(wall.timestamp()) * 1_000_000


def closures_in_db(runtime) -> set[tuple[str, int, int, str | None, str]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, c.start_us, c.end_us, c.reason, c.source FROM closures c "
            "JOIN stores s ON s.id = c.store_key")).all()
    return {(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows}


def write_closures(directory: Path, content: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "closures.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return directory


def closures_result(result):
    return next(f for f in result.files if f.kind == "closures")


def test_formats_and_local_times_converted_like_business_hours(runtime, tmp_path: Path) -> None:
    folder = write_inputs(tmp_path / "in", POLLS, zones="store_id,timezone_str\nny,America/New_York\n")
    content = (
        "\ufeffstore_id , start_local,end_local ,reason,extra\r\n"
        "chi,2023-12-25 00:00,2023-12-26 00:00,\"Christmas, all day\",x\r\n"
        "\"ny\", 2023-12-24T17:00 ,2023-12-24 24:00,early closing,x\r\n"
        "chi,2023-03-12 02:30,2023-03-12 04:00:30,,x\r\n"  # 02:30 does not exist that night in Chicago
        "chi,2023-11-05 01:30,2023-11-05 03:00,fall back,x\r\n"  # 01:30 happens twice: the first counts
    )
    result = load_directory(runtime.engine, write_closures(folder, content))
    file = closures_result(result)
    assert file.status == "loaded" and file.rows_loaded == 4 and file.rejected == 0, file
    chicago = "America/Chicago"  # chi has no zone row (SPEC 2.3)
    assert closures_in_db(runtime) == {
        ("chi", local_us("2023-12-25 00:00", chicago), local_us("2023-12-26 00:00", chicago), "Christmas, all day",
         "csv"),
        ("ny", local_us("2023-12-24 17:00", "America/New_York"), local_us("2023-12-25 00:00", "America/New_York"),
         "early closing", "csv"),
        ("chi", local_us("2023-03-12 02:30", chicago), local_us("2023-03-12 04:00:30", chicago), None, "csv"),
        ("chi", local_us("2023-11-05 01:30", chicago), local_us("2023-11-05 03:00", chicago), "fall back", "csv"),
    }
    # The SPEC 2.2 rule spelled out: 02:30 CST on the spring-forward night is 08:30 UTC, and the
    # first 01:30 of the autumn night is 01:30 CDT = 06:30 UTC.
    assert local_us("2023-03-12 02:30", chicago) == int(dt.datetime(2023, 3, 12, 8, 30, tzinfo=dt.timezone.utc)
                                                         .timestamp()) * 1_000_000
    assert local_us("2023-11-05 01:30", chicago) == int(dt.datetime(2023, 11, 5, 6, 30, tzinfo=dt.timezone.utc)
                                                         .timestamp()) * 1_000_000


def test_bad_rows_are_rejected_with_their_line_and_the_valid_rows_load(runtime, tmp_path: Path) -> None:
    long_reason = "r" * 201
    content = (
        HEADER
        + "a,2023-12-25 09:00,2023-12-25 17:00,ok\n"  # line 2
        + "a,2023-12-25 17:00,2023-12-25 17:00,empty\n"  # 3: end == start
        + "a,2023-12-25 17:00,2023-12-25 09:00,reversed\n"  # 4
        + "a,2023-01-01 00:00,2024-01-02 00:00:01,too long\n"  # 5: more than 366 days
        + "a,2023-12-25 1,2023-12-25 17:00,cut\n"  # 6: bad start
        + "a,2023-12-25 09:00,2023-13-01 00:00,no month 13\n"  # 7: bad end
        + ",2023-12-25 09:00,2023-12-25 17:00,no store\n"  # 8: empty store_id
        + f"a,2023-12-26 09:00,2023-12-26 17:00,{long_reason}\n"  # 9: reason too long
        + "\n"  # 10: blank, skipped
        + "b,2023-01-01 00:00,2024-01-02 00:00,exactly 366 days\n"  # 11
        + f"b,2023-12-27 09:00,2023-12-27 17:00,{'r' * 200}\n"  # 12: 200 characters are fine
    )
    result = load_directory(runtime.engine, write_closures(tmp_path / "in", content))
    file = closures_result(result)
    assert file.status == "loaded" and file.rows_loaded == 3 and file.rejected == 7, file
    reasons = {r.line: r.reason for r in file.rejections}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "end_local is not after start_local" in reasons[3] and "not after" in reasons[4]
    assert "longer than 366 days" in reasons[5]
    assert "bad start_local" in reasons[6] and "2023-12-25 1" in reasons[6]
    assert "bad end_local" in reasons[7]
    assert "empty store_id" in reasons[8]
    assert "reason longer than 200 characters" in reasons[9]
    assert {(c[0], c[3]) for c in closures_in_db(runtime)} == {("a", "ok"), ("b", "exactly 366 days"), ("b", "r" * 200)}


def test_a_load_replaces_the_csv_closures_and_keeps_the_api_ones(runtime, tmp_path: Path) -> None:
    folder = write_closures(tmp_path / "in", HEADER + "a,2023-12-25 00:00,2023-12-26 00:00,Christmas\n")
    load_directory(runtime.engine, folder)
    with write_tx(runtime.engine) as conn:
        key = closure_rows.store_key_of(conn, "a")
        api_id = closure_rows.insert_closure(conn, key, 10**15, 10**15 + 3_600_000_000, "renovation", None)
    before = _version(runtime)
    again = load_directory(runtime.engine, folder)
    assert closures_result(again).status == "unchanged" and not again.changed and _version(runtime) == before
    (folder / "closures.csv").write_text(HEADER + "b,2024-01-01 00:00,2024-01-02 00:00,New Year\n")
    third = load_directory(runtime.engine, folder)
    assert closures_result(third).status == "loaded" and _version(runtime) > before
    stored = closures_in_db(runtime)
    assert {(c[0], c[3], c[4]) for c in stored} == {("a", "renovation", "api"), ("b", "New Year", "csv")}
    with runtime.engine.connect() as conn:
        assert api_id in set(closure_rows.read_closures(conn, 0, 2**62)["closure_id"])
    # A file left with its header alone empties the CSV closures (it is a snapshot).
    (folder / "closures.csv").write_text(HEADER)
    load_directory(runtime.engine, folder)
    assert {(c[0], c[4]) for c in closures_in_db(runtime)} == {("a", "api")}


def _version(runtime) -> int:
    with runtime.engine.connect() as conn:
        return data_version(conn)


def test_cr_line_ends_no_reason_column_and_no_file_at_all(runtime, tmp_path: Path) -> None:
    without = load_directory(runtime.engine, write_inputs(tmp_path / "none", POLLS))
    assert [f.kind for f in without.files] == ["polls", "hours", "zones"]  # the file is optional
    content = (b"store_id,start_local,end_local\rchi,2023-12-25 00:00,2023-12-26 00:00"
               b"\rny,2023-12-31 18:00,2024-01-01 00:00")
    result = load_directory(runtime.engine, write_closures(tmp_path / "cr", content))
    assert closures_result(result).rows_loaded == 2
    assert {(c[0], c[3]) for c in closures_in_db(runtime)} == {("chi", None), ("ny", None)}


def test_a_file_missing_a_column_is_refused_whole_and_keeps_the_closures(runtime, tmp_path: Path) -> None:
    folder = write_closures(tmp_path / "in", HEADER + "a,2023-12-25 00:00,2023-12-26 00:00,Christmas\n")
    load_directory(runtime.engine, folder)
    (folder / "closures.csv").write_text("store_id,start_local,reason\na,2023-12-25 00:00,x\n")
    result = load_directory(runtime.engine, folder)
    file = closures_result(result)
    assert file.status == "refused" and "end_local" in file.message and "closures.csv" in file.message
    assert {c[3] for c in closures_in_db(runtime)} == {"Christmas"}


def test_a_half_written_last_line_is_rejected_then_loaded_once_complete(runtime, tmp_path: Path, database_url: str
                                                                        ) -> None:
    complete = HEADER + "a,2023-12-25 00:00,2023-12-26 00:00,Christmas\nb,2023-12-31 18:00,2024-01-01 02:00,NYE\n"
    cut = complete[: complete.index("2024-01-01 02:00") + len("2024-01-01 0")]
    folder = write_closures(tmp_path / "in", cut)
    first = closures_result(load_directory(runtime.engine, folder))
    assert first.rows_loaded == 1 and first.rejected == 1 and first.rejections[0].line == 3
    assert any("line 3 has no line end yet" in w for w in first.warnings)
    (folder / "closures.csv").write_text(complete)
    assert closures_result(load_directory(runtime.engine, folder)).rows_loaded == 2
    completed = {(c[0], c[1], c[2], c[3]) for c in closures_in_db(runtime)}
    assert completed == {
        ("a", local_us("2023-12-25 00:00", "America/Chicago"), local_us("2023-12-26 00:00", "America/Chicago"),
         "Christmas"),
        ("b", local_us("2023-12-31 18:00", "America/Chicago"), local_us("2024-01-01 02:00", "America/Chicago"), "NYE"),
    }


def test_closures_follow_their_stores_zone_when_time_zones_load_later(runtime, tmp_path: Path) -> None:
    folder = write_closures(write_inputs(tmp_path / "in", POLLS), HEADER + "ny,2023-12-25 00:00,2023-12-26 00:00,x\n")
    load_directory(runtime.engine, folder)
    chicago = {("ny", local_us("2023-12-25 00:00", "America/Chicago"), local_us("2023-12-26 00:00", "America/Chicago"))}
    assert {c[:3] for c in closures_in_db(runtime)} == chicago
    # The zone arrives with a later load; closures.csv itself is unchanged (skipped).
    write_inputs(folder, zones="store_id,timezone_str\nny,America/New_York\n")
    result = load_directory(runtime.engine, folder)
    assert closures_result(result).status == "unchanged"
    new_york = ("ny", local_us("2023-12-25 00:00", "America/New_York"),
                local_us("2023-12-26 00:00", "America/New_York"))
    assert {c[:3] for c in closures_in_db(runtime)} == {new_york}
    # An API closure names an instant: a zone change does not move it.
    with write_tx(runtime.engine) as conn:
        ny = closure_rows.store_key_of(conn, "ny")
        closure_rows.insert_closure(conn, ny, 5 * 10**15, 5 * 10**15 + 1, "api", None)
    write_inputs(folder, zones="store_id,timezone_str\nny,Europe/Berlin\n")
    load_directory(runtime.engine, folder)
    assert {c[:3] for c in closures_in_db(runtime)} == {
        ("ny", local_us("2023-12-25 00:00", "Europe/Berlin"), local_us("2023-12-26 00:00", "Europe/Berlin")),
        ("ny", 5 * 10**15, 5 * 10**15 + 1),
    }
