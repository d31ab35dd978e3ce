"""Ingestion (SPEC section 1) on SQLite and MySQL: formats, rejections, idempotency, growth."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_inputs
from support.stored import hours_in_db, polls_in_db, zones_in_db
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant

POLL_HEADER = "store_id,status,timestamp_utc\n"


def us(text_value: str) -> int:
    return parse_instant(text_value)


def test_every_timestamp_form_and_value_variant(runtime, tmp_path: Path) -> None:
    polls = (
        "\ufeffstore_id , status ,timestamp_utc,extra\r\n"
        "a,active,2023-01-22 12:09:39.388884 UTC,x\r\n"
        "b, Active ,2023-01-22 12:09:39 UTC,x\r\n"
        "c,INACTIVE,2023-01-22T12:09:39Z,x\r\n"
        "\"d\",inactive,\"2023-01-22T12:09:39.388+00:00\",x\r\n"
        "  e  ,active,2023-01-22 12:09:39,x\r\n"
        "f,active,2023-01-22T07:09:39-05:00,x\r\n"
        "12345678901234567890,active,2023-01-22 12:00:00 UTC,x\r\n"
    )
    hours = (
        "store_id,day,start_time_local,end_time_local\n"
        "a,0,09:00,17:00\n"
        "a,1,22:00:00,24:00\n"
        "b,6, 10:00:00 ,24:00:00\n"
    )
    zones = "store_id,timezone_str,other\na,America/Denver,1\nb, Asia/Kolkata ,2\n"
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls, hours, zones))
    assert result.ok and result.changed
    assert [f.rejected for f in result.files] == [0, 0, 0]
    base = us("2023-01-22T12:09:39Z")
    assert polls_in_db(runtime) == {
        ("a", base + 388884, True),
        ("b", base, True),
        ("c", base, False),
        ("d", base + 388000, False),
        ("e", base, True),
        ("f", base, True),
        ("12345678901234567890", us("2023-01-22T12:00:00Z"), True),
    }
    assert hours_in_db(runtime) == {("a", 0, 32400, 61200), ("a", 1, 79200, 86400), ("b", 6, 36000, 86400)}
    assert zones_in_db(runtime) == {"a": "America/Denver", "b": "Asia/Kolkata"}


@pytest.mark.parametrize("day_header", ["dayOfWeek", "day", "day_of_week", "DayOfWeek"])
def test_day_column_aliases(runtime, tmp_path: Path, day_header: str) -> None:
    hours = f"store_id,{day_header},start_time_local,end_time_local\ns1,3,08:00:00,09:00:00\n"
    load_directory(runtime.engine, write_inputs(tmp_path / "in", hours=hours))
    assert hours_in_db(runtime) == {("s1", 3, 28800, 32400)}


def test_alternative_file_names(runtime, tmp_path: Path) -> None:
    directory = write_inputs(
        tmp_path / "in",
        hours="store_id,dayOfWeek,start_time_local,end_time_local\ns1,0,01:00,02:00\n",
        zones="store_id,timezone_str\ns1,Europe/Berlin\n",
        hours_name="business_hours.csv",
        zones_name="bq-results-20230125-202210-1674678181880.csv",
    )
    result = load_directory(runtime.engine, directory)
    assert [f.status for f in result.files] == ["missing", "loaded", "loaded"]
    assert zones_in_db(runtime) == {"s1": "Europe/Berlin"}
    (directory / "store_timezone.csv").write_text("store_id,timezone_str\ns1,Asia/Tokyo\n")
    # timezones.csv > store_timezone.csv > bq-results*.csv, in that order of preference
    load_directory(runtime.engine, directory)
    assert zones_in_db(runtime) == {"s1": "Asia/Tokyo"}


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_kept(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + (
        "a,active,2023-01-22 10:00:00 UTC\n"     # line 2 ok
        "a,maybe,2023-01-22 11:00:00 UTC\n"      # line 3 unknown status
        "a,active,yesterday\n"                   # line 4 bad timestamp
        ",active,2023-01-22 12:00:00 UTC\n"      # line 5 empty store_id
        "\n"                                     # line 6 blank: skipped, not rejected
        "a,inactive,2023-01-22 13:00:00 UTC\n"   # line 7 ok
        "a,active,2023-01-22\n"                  # line 8 a date is not an instant
        "a,active,2023-13-01 00:00:00 UTC\n"     # line 9 impossible date
    )
    hours = (
        "store_id,dayOfWeek,start_time_local,end_time_local\n"
        "a,7,09:00,10:00\n"        # line 2 day outside 0-6
        "a,-1,09:00,10:00\n"       # line 3
        "a,1,25:00,10:00\n"        # line 4 bad start
        "a,1,09:00,12:61\n"        # line 5 bad end
        "a,2,09:00,10:00\n"        # line 6 ok
        "a,x,09:00,10:00\n"        # line 7
    )
    zones = "store_id,timezone_str\na,Mars/Olympus\n,UTC\nb,UTC\n"
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls, hours, zones))
    poll_file, hours_file, zone_file = result.files
    assert poll_file.rejected == 5 and poll_file.rows_loaded == 2
    assert [r.line for r in poll_file.rejections] == [3, 4, 5, 8, 9]
    reasons = [r.reason for r in poll_file.rejections]
    assert "unknown status" in reasons[0] and "'maybe'" in reasons[0]
    assert "bad timestamp" in reasons[1]
    assert reasons[2] == "empty store_id"
    assert hours_file.rejected == 5
    assert [r.line for r in hours_file.rejections] == [2, 3, 4, 5, 7]
    assert "day outside 0-6" in hours_file.rejections[0].reason
    assert "start_time_local" in hours_file.rejections[2].reason
    assert "end_time_local" in hours_file.rejections[3].reason
    assert zone_file.rejected == 1 and zone_file.rejections[0].line == 3
    assert any("Mars/Olympus" in w for w in zone_file.warnings)
    assert polls_in_db(runtime) == {
        ("a", us("2023-01-22T10:00:00Z"), True),
        ("a", us("2023-01-22T13:00:00Z"), False),
    }
    assert hours_in_db(runtime) == {("a", 2, 32400, 36000)}
    assert zones_in_db(runtime) == {"b": "UTC"}  # the unknown zone counts as missing


def test_at_least_100_rejections_are_listed(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + "".join(f"s{i},broken,2023-01-22 10:00:00 UTC\n" for i in range(250))
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls))
    assert result.files[0].rejected == 250
    assert len(result.files[0].rejections) >= 100
    assert result.files[0].rejections[99].line == 101


def test_missing_column_refuses_the_file_and_keeps_the_data(runtime, tmp_path: Path) -> None:
    good = write_inputs(
        tmp_path / "good",
        POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\n",
        "store_id,dayOfWeek,start_time_local,end_time_local\na,0,09:00,10:00\n",
        "store_id,timezone_str\na,UTC\n",
    )
    load_directory(runtime.engine, good)
    before = (polls_in_db(runtime), hours_in_db(runtime), zones_in_db(runtime))
    bad = write_inputs(
        tmp_path / "bad",
        "store_id,timestamp_utc\na,2023-01-22 11:00:00 UTC\n",
        "store_id,start_time_local,end_time_local\na,09:00,10:00\n",
        "store_id,tz\na,Asia/Tokyo\n",
    )
    result = load_directory(runtime.engine, bad)
    assert not result.ok and not result.changed
    assert [f.status for f in result.files] == ["refused"] * 3
    assert "store_status.csv" in result.files[0].message and "status" in result.files[0].message
    assert "dayofweek or day or day_of_week" in result.files[1].message
    assert "timezone_str" in result.files[2].message
    assert (polls_in_db(runtime), hours_in_db(runtime), zones_in_db(runtime)) == before


def test_loading_twice_is_idempotent_and_skips_unchanged_files(runtime, tmp_path: Path) -> None:
    directory = write_inputs(
        tmp_path / "in",
        POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\nb,inactive,2023-01-22 10:00:00.5 UTC\n",
        "store_id,dayOfWeek,start_time_local,end_time_local\na,0,09:00,10:00\n",
        "store_id,timezone_str\na,UTC\n",
    )
    first = load_directory(runtime.engine, directory)
    state = (polls_in_db(runtime), hours_in_db(runtime), zones_in_db(runtime))
    second = load_directory(runtime.engine, directory)
    assert [f.status for f in second.files] == ["unchanged"] * 3
    assert second.ok and not second.changed and second.data_version == first.data_version
    assert (polls_in_db(runtime), hours_in_db(runtime), zones_in_db(runtime)) == state


def test_same_rows_in_a_new_file_add_nothing(runtime, tmp_path: Path) -> None:
    rows = "a,active,2023-01-22 10:00:00.123456 UTC\na,active,2023-01-22 11:00:00 UTC\n"
    load_directory(runtime.engine, write_inputs(tmp_path / "one", POLL_HEADER + rows))
    # Same polls written differently, reordered, with a duplicate: still the same two polls.
    other = POLL_HEADER + "a,active,2023-01-22T11:00:00Z\na,ACTIVE,2023-01-22T10:00:00.123456+00:00\na,active,2023-01-22 11:00:00\n"
    result = load_directory(runtime.engine, write_inputs(tmp_path / "two", other))
    assert result.files[0].rows_new == 0
    assert len(polls_in_db(runtime)) == 2


def test_grown_poll_file_adds_only_the_new_polls(runtime, tmp_path: Path) -> None:
    directory = write_inputs(tmp_path / "in", POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\n")
    load_directory(runtime.engine, directory)
    with open(directory / "store_status.csv", "a") as handle:
        handle.write("a,active,2023-01-22 11:00:00 UTC\nb,bogus,2023-01-22 11:00:00 UTC\nb,inactive,2023-01-22 11:05:00 UTC\n")
    result = load_directory(runtime.engine, directory)
    poll_file = result.files[0]
    assert poll_file.status == "loaded" and poll_file.rows_new == 2 and poll_file.rows_read == 3
    assert [(r.line, r.reason.split()[0]) for r in poll_file.rejections] == [(4, "unknown")]  # true file line
    assert len(polls_in_db(runtime)) == 3


def test_conflicting_statuses_keep_inactive(runtime, tmp_path: Path) -> None:
    same_file = POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\na,inactive,2023-01-22T10:00:00Z\n"
    load_directory(runtime.engine, write_inputs(tmp_path / "one", same_file))
    assert polls_in_db(runtime) == {("a", us("2023-01-22T10:00:00Z"), False)}
    # Across loads: an inactive never turns back into active, an active becomes inactive.
    load_directory(runtime.engine, write_inputs(tmp_path / "two", POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\nb,active,2023-01-22 10:00:00 UTC\n"))
    load_directory(runtime.engine, write_inputs(tmp_path / "three", POLL_HEADER + "b,inactive,2023-01-22 10:00:00 UTC\n"))
    assert polls_in_db(runtime) == {("a", us("2023-01-22T10:00:00Z"), False), ("b", us("2023-01-22T10:00:00Z"), False)}


def test_hours_and_zones_are_snapshots(runtime, tmp_path: Path) -> None:
    hours1 = "store_id,dayOfWeek,start_time_local,end_time_local\na,0,09:00,10:00\nb,1,09:00,10:00\n"
    zones1 = "store_id,timezone_str\na,UTC\nb,Asia/Tokyo\n"
    load_directory(runtime.engine, write_inputs(tmp_path / "one", hours=hours1, zones=zones1))
    hours2 = "store_id,dayOfWeek,start_time_local,end_time_local\na,2,11:00,12:00\n"
    zones2 = "store_id,timezone_str\na,Europe/Paris\n"
    load_directory(runtime.engine, write_inputs(tmp_path / "two", hours=hours2, zones=zones2))
    assert hours_in_db(runtime) == {("a", 2, 39600, 43200)}  # b left the file: back to 24x7
    assert zones_in_db(runtime) == {"a": "Europe/Paris"}      # b back to the default zone


def test_store_ids_are_text_and_case_sensitive(runtime, tmp_path: Path) -> None:
    polls = POLL_HEADER + (
        "00123,active,2023-01-22 10:00:00 UTC\n123,active,2023-01-22 10:00:00 UTC\n"
        "Store-A,active,2023-01-22 10:00:00 UTC\nstore-a,inactive,2023-01-22 10:00:00 UTC\n"
        "8419537941919820732,active,2023-01-22 10:00:00 UTC\n"
    )
    load_directory(runtime.engine, write_inputs(tmp_path / "in", polls))
    assert {p[0] for p in polls_in_db(runtime)} == {"00123", "123", "Store-A", "store-a", "8419537941919820732"}


def test_store_ids_with_backslashes_and_other_characters_arrive_whole(runtime, tmp_path: Path) -> None:
    """MySQL receives the stores as LOAD DATA text, where a backslash is an escape and \\N a NULL."""
    ids = ["a\\b", "\\N", "c\\", "\\t", "ümlaut-店", "quote'd", 'x"y', "semi;colon", " -lead"]
    polls = POLL_HEADER + "".join(f"{_csv_cell(i)},active,2023-01-22 10:00:00 UTC\n" for i in ids)
    hours = "store_id,day,start_time_local,end_time_local\n" + "".join(f"{_csv_cell(i)},0,09:00:00,17:00:00\n" for i in ids)
    zones = "store_id,timezone_str\n" + "".join(f"{_csv_cell(i)},Asia/Tokyo\n" for i in ids)
    result = load_directory(runtime.engine, write_inputs(tmp_path / "in", polls, hours, zones))
    assert [f.rejected for f in result.files] == [0, 0, 0]
    assert {p[0] for p in polls_in_db(runtime)} == {i.strip() for i in ids}
    with runtime.engine.connect() as conn:
        zoned = conn.exec_driver_sql(
            "SELECT s.store_id, z.tz FROM store_timezones z JOIN stores s ON s.id = z.store_key").all()
        hours_of = conn.exec_driver_sql(
            "SELECT s.store_id, h.start_s FROM business_hours h JOIN stores s ON s.id = h.store_key").all()
    assert dict(zoned) == {i.strip(): "Asia/Tokyo" for i in ids}
    assert dict(hours_of) == {i.strip(): 9 * 3600 for i in ids}


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"') else value


def test_malformed_csv_never_loads_a_bad_row(runtime, tmp_path: Path) -> None:
    polls = (POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC,extra,fields\n"
             "\xff\xfe,active,2023-01-22 10:00:00 UTC\n"
             "b,active,2023-01-22 11:00:00 UTC\n").encode("latin-1")
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "store_status.csv").write_bytes(polls)
    result = load_directory(runtime.engine, directory)
    assert result.files[0].rejected == 2
    assert {p[0] for p in polls_in_db(runtime)} == {"b"}


def test_touched_file_with_same_content_is_unchanged_but_edited_file_loads(runtime, tmp_path: Path) -> None:
    import os

    directory = write_inputs(tmp_path / "in", POLL_HEADER + "a,active,2023-01-22 10:00:00 UTC\n")
    load_directory(runtime.engine, directory)
    path = directory / "store_status.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched
    assert load_directory(runtime.engine, directory).files[0].status == "unchanged"
    path.write_text(POLL_HEADER + "a,active,2023-01-22 11:00:00 UTC\n")  # same size, new content
    result = load_directory(runtime.engine, directory)
    assert result.files[0].status == "loaded" and result.files[0].rows_new == 1
