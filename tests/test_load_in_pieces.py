"""A poll file read in pieces loads exactly what the same file read in one piece loads (issue 15).

The piece size is a parameter: one byte (every line its own piece), sizes that cut between
rows at odd places, and the default (the whole file in one piece). Each load is checked against
the same explicit expectations, on SQLite and MySQL: the polls, their first-poll instants, the
rejections and their file line numbers, duplicates and conflicts across piece borders and against
rows already in the database, a quoted field spanning lines, CR and CRLF line ends, and the
half-written last line of a grown file.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import write_inputs
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant as us
from services.ingest.pieces import PIECE_BYTES
from support.stored import polls_in_db

FIRST = (
    "store_id,status,timestamp_utc\n"
    "a,active,2023-01-23 10:00:00 UTC\n"           # 2
    "b,inactive,2023-01-23 10:00:00 UTC\n"         # 3
    "a,bogus,2023-01-23 11:00:00 UTC\n"            # 4: unknown status
    "\n"                                           # 5: blank, skipped
    "c,active,2023-01-23 12:0\n"                   # 6: bad timestamp
    '"q\n'                                         # 7: a quoted store id spanning two lines
    'x",active,2023-01-23 10:00:00 UTC\n'          # 8
    "a,inactive,2023-01-23 10:00:00.000000 UTC\n"  # 9: same instant as line 2: inactive wins
    "b,active,2023-01-23T10:00:00Z\r\n"            # 10: same as line 3: inactive stays
    "d,active,2023-01-23 09:00:00\r"               # 11: a lone CR ends this line
    ",active,2023-01-23 09:00:00\n"                # 12: empty store_id
    "d,active,2023-01-22 08:00:00 UTC\n"           # 13
    "a,active,2023-01-23 13:00:00 UTC\n"           # 14
)
APPENDED = (
    "a,active,2023-01-23 10:00:00 UTC\n"           # 15: the database says inactive: it stays
    "e,inactive,2023-01-23 10:00:00 UTC\n"         # 16
    "e,active,2023-01-23 10:00:00 UTC\n"           # 17: same instant, later piece
    "f,active,2023-01-21 07:00:00 UTC\n"           # 18
    "d,active,2023-01-21 07:00:0"                  # 19: still being written
)
PIECE_SIZES = [1, 23, 64, 150, PIECE_BYTES]


def first_polls(runtime) -> dict[str, int | None]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT store_id, first_poll_us FROM stores")).all()
    return {r[0]: (None if r[1] is None else int(r[1])) for r in rows if r[1] is not None}


def polls_of(result):
    return next(f for f in result.files if f.kind == "polls")


@pytest.mark.parametrize("piece_bytes", PIECE_SIZES)
def test_pieces_load_what_one_piece_loads(runtime, tmp_path: Path, piece_bytes: int) -> None:
    folder = write_inputs(tmp_path / "in", polls=FIRST)
    polls = polls_of(load_directory(runtime.engine, folder, piece_bytes=piece_bytes))
    assert [(r.line, r.reason.split(" ")[0]) for r in polls.rejections] == [
        (4, "unknown"), (6, "bad"), (7, "store_id"), (12, "empty"),
    ]
    assert (polls.rows_read, polls.rows_loaded, polls.rejected, polls.rows_new) == (11, 7, 4, 5)
    expected = {
        ("a", us("2023-01-23T10:00:00Z"), False), ("b", us("2023-01-23T10:00:00Z"), False),
        ("d", us("2023-01-23T09:00:00Z"), True), ("d", us("2023-01-22T08:00:00Z"), True),
        ("a", us("2023-01-23T13:00:00Z"), True),
    }
    assert polls_in_db(runtime) == expected
    firsts = {"a": us("2023-01-23T10:00:00Z"), "b": us("2023-01-23T10:00:00Z"), "d": us("2023-01-22T08:00:00Z")}
    assert first_polls(runtime) == firsts

    # The file grows: only the tail is read (in pieces too), against the rows stored before.
    path = folder / "store_status.csv"
    path.write_bytes(FIRST.encode() + APPENDED.encode())
    polls = polls_of(load_directory(runtime.engine, folder, piece_bytes=piece_bytes))
    assert [(r.line, r.reason.split(" ")[0]) for r in polls.rejections] == [(19, "bad")]
    assert any("line 19 has no line end yet" in w for w in polls.warnings)
    assert (polls.rows_read, polls.rows_loaded, polls.rows_new) == (5, 4, 2)
    expected |= {("e", us("2023-01-23T10:00:00Z"), False), ("f", us("2023-01-21T07:00:00Z"), True)}
    assert polls_in_db(runtime) == expected

    # Its writer completes line 19 and starts a line 20 that already parses (a valid poll, kept
    # as the open poll); then line 20 is completed differently: its first reading is undone.
    with path.open("ab") as f:
        f.write(b"0\ng,inactive,2023-01-20 05:00:00")
    polls = polls_of(load_directory(runtime.engine, folder, piece_bytes=piece_bytes))
    assert (polls.rejected, polls.rows_new) == (0, 2)
    with path.open("ab") as f:
        f.write(b".5\nh,active,2023-01-19 04:00:00 UTC\n")
    polls = polls_of(load_directory(runtime.engine, folder, piece_bytes=piece_bytes))
    assert (polls.rows_read, polls.rejected) == (2, 0)
    expected |= {
        ("d", us("2023-01-21T07:00:00Z"), True), ("g", us("2023-01-20T05:00:00.5Z"), False),
        ("h", us("2023-01-19T04:00:00Z"), True),
    }
    assert polls_in_db(runtime) == expected
    firsts |= {"d": us("2023-01-21T07:00:00Z"), "e": us("2023-01-23T10:00:00Z"), "f": us("2023-01-21T07:00:00Z"),
               "g": us("2023-01-20T05:00:00.5Z"), "h": us("2023-01-19T04:00:00Z")}
    assert first_polls(runtime) == firsts


@pytest.mark.parametrize("piece_bytes", [1, 40])
def test_rejections_listed_are_the_first_hundred_across_pieces(runtime, tmp_path: Path, piece_bytes: int) -> None:
    rows = "".join(f"s{i},{'active' if i % 3 else 'unknown'},2023-01-23 10:00:{i % 60:02d}\n" for i in range(400))
    folder = write_inputs(tmp_path / "in", polls="store_id,status,timestamp_utc\n" + rows)
    polls = polls_of(load_directory(runtime.engine, folder, piece_bytes=piece_bytes))
    bad_lines = [i + 2 for i in range(400) if i % 3 == 0]
    assert polls.rejected == len(bad_lines)
    assert [r.line for r in polls.rejections] == bad_lines[:100]
    assert len(polls_in_db(runtime)) == 400 - len(bad_lines)
