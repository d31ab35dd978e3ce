"""Hypothesis fuzzing of the CSV loader (SPEC section 1), on SQLite.

Each test builds one SQLite database and one input folder, and every example empties the data
tables before loading its own file, so examples are independent without paying for a new
database each time. The expected outcome is computed by validators written here from the SPEC,
independently of services/parsing.py:

* random bytes after a valid header: the loader never raises and never loads a row the strict
  validator rejects (it may reject more, e.g. rows with undecodable bytes);
* generated files (csv.writer, proper quoting, BOM, CRLF, reordered and extra columns, blank
  lines) mixing valid and invalid rows: the database holds exactly the valid rows, the rejected
  count is the number of invalid rows and the listed line numbers are their true file lines;
* the same for menu_hours.csv and timezones.csv (unknown zones are warnings, not rows).
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from models.db import init_schema, make_engine
from services.ingest.csv_input import read_table
from services.ingest.kinds import KINDS
from services.ingest.parsing import parse_timestamp_spans, parse_timestamps
from services.ingest.loader import load_directory

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
KNOWN_ZONES = frozenset(available_timezones())
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# -- one database and one folder per test ------------------------------------------------------

class Loader:
    def __init__(self, root: Path) -> None:
        self.engine = make_engine(f"sqlite:///{root / 'fuzz.sqlite'}")
        init_schema(self.engine)
        self.folder = root / "in"
        self.folder.mkdir()

    def load(self, name: str, data: bytes):
        """Empty the data tables, write `name` as the only input file and load the folder."""
        with self.engine.begin() as conn:
            for table in ("polls", "business_hours", "store_timezones", "loaded_sources", "stores"):
                conn.execute(text(f"DELETE FROM {table}"))
        for old in self.folder.iterdir():
            old.unlink()
        (self.folder / name).write_bytes(data)
        result = load_directory(self.engine, self.folder)
        return next(f for f in result.files if f.path and Path(f.path).name == name)

    def polls(self) -> set[tuple[str, int, bool]]:
        return {(r[0], int(r[1]), bool(r[2])) for r in self._rows(
            "SELECT s.store_id, p.ts_us, p.active FROM polls p JOIN stores s ON s.id = p.store_key")}

    def hours(self) -> set[tuple[str, int, int, int]]:
        return {(r[0], int(r[1]), int(r[2]), int(r[3])) for r in self._rows(
            "SELECT s.store_id, h.day, h.start_s, h.end_s FROM business_hours h JOIN stores s ON s.id = h.store_key")}

    def zones(self) -> dict[str, str]:
        rows = self._rows("SELECT s.store_id, z.tz FROM store_timezones z JOIN stores s ON s.id = z.store_key")
        return {r[0]: r[1] for r in rows}

    def _rows(self, sql: str) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).all()

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def loader(tmp_path: Path):
    made = Loader(tmp_path)
    yield made
    made.close()


# -- the independent validator (SPEC section 1) ----------------------------------------------

def good_store_id(value: str) -> str | None:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > 255 or CONTROL_RE.search(cleaned):
        return None
    return cleaned


def good_status(value: str) -> bool | None:
    return {"active": True, "inactive": False}.get(value.strip().lower())


def good_timestamp(value: str) -> int | None:
    """Epoch microseconds of an ISO-8601 date *and* time (no zone = UTC), else None."""
    s = value.strip()
    if s[-3:].upper() == "UTC":
        s = s[:-3].rstrip()
    elif s.endswith("Z"):
        s = s[:-1] + "+00:00"
    if not s.isascii() or len(s) < 13 or s[10] not in "T ":
        return None  # a bare date is not a poll instant
    try:
        moment = datetime.fromisoformat(s)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def good_day(value: str) -> int | None:
    s = value.strip()
    return int(s) if len(s) == 1 and s in "0123456" else None


def good_time(value: str) -> int | None:
    match = re.fullmatch(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?", value.strip())
    if not match:
        return None
    h, m, sec = int(match[1]), int(match[2]), int(match[3] or 0)
    if (h, m, sec) == (24, 0, 0):
        return 86_400
    return h * 3600 + m * 60 + sec if h < 24 and m < 60 and sec < 60 else None


def csv_records(data: bytes) -> list[list[str]]:
    """The records of a file (header excluded) as Python's csv module splits them."""
    text_value = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text_value, newline=""), strict=False)
    records: list[list[str]] = []
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error:
            continue  # e.g. a field beyond the csv module's size limit: not a row at all
        if not first:
            records.append(row)
        first = False


# -- property a: random bytes never load a bad row -----------------------------------------------

POLL_HEADERS = (
    b"store_id,status,timestamp_utc\n",
    b"store_id,status,timestamp_utc\r\n",
    b"\xef\xbb\xbfstore_id,status,timestamp_utc\n",
    b'"store_id","status","timestamp_utc"\r\n',
)
SAMPLE_IDS = ("a", "store-1", "00123", "8419537941919820732", "'; DROP TABLE polls; --", "店舗", " b ", "", "x" * 256)
SAMPLE_STATUSES = ("active", "inactive", " Active ", "INACTIVE", "actve", "", "up", "1")
SAMPLE_TIMESTAMPS = (
    "2023-01-22 12:09:39.388884 UTC", "2023-01-22 12:09:39 UTC", "2023-01-22T12:09:39Z",
    "2023-01-22T12:09:39.388+00:00", "2023-01-22 12:09:39", "2023-01-22T07:09:39-05:00",
    "2023-01-22", "2023-02-30 10:00:00", "2023-01-22 25:00:00", "1674389379", "yesterday", "",
    "2023-01-22 12:09:39 PST", "2023-01-22T12:09:39+25:00", "2023-01-22 12:09:39.1234567 UTC", "now", " today ",
)
separators = st.sampled_from([b",", b"\n", b"\r\n", b"\r", b'"', b'""', b"\x00", b"\xff", b"\xc3", b"\xe2\x82", b" ", b"\t"])
fields = st.one_of(
    st.sampled_from(SAMPLE_IDS + SAMPLE_STATUSES + SAMPLE_TIMESTAMPS).map(lambda s: s.encode()),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
)
plausible_rows = st.tuples(  # the first entries of each sample are good values: favour them
    st.one_of(st.sampled_from(SAMPLE_IDS[:7]), st.sampled_from(SAMPLE_IDS)),
    st.one_of(st.sampled_from(SAMPLE_STATUSES[:4]), st.sampled_from(SAMPLE_STATUSES)),
    st.one_of(st.sampled_from(SAMPLE_TIMESTAMPS[:6]), st.sampled_from(SAMPLE_TIMESTAMPS)),
    st.sampled_from(["\n", "\r\n", "\r", ""]),
).map(lambda t: f"{t[0]},{t[1]},{t[2]}{t[3]}".encode())
huge_fields = st.tuples(st.integers(1, 100_000), st.sampled_from([b"x", b"7", b'"', b"\xe2\x82\xac"]),
                        st.sampled_from([b"", b"", b"", b'"'])).map(lambda t: t[2] + t[1] * (t[0] // len(t[1])))
chunks = st.one_of(separators, fields, plausible_rows, huge_fields)
# lines of a few chunks each, so that some rows survive the junk around them
random_lines = st.lists(st.one_of(plausible_rows, st.lists(chunks, max_size=4).map(b"".join)), max_size=30)


@FUZZ
@given(header=st.sampled_from(POLL_HEADERS), body=random_lines, newline=st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_random_bytes_never_load_a_bad_poll(loader: Loader, header: bytes, body: list[bytes], newline: bytes) -> None:
    data = header + newline.join(body)
    result = loader.load("store_status.csv", data)  # must not raise
    assert result.status == "loaded", result.message
    accepted: dict[tuple[str, int], set[bool]] = {}
    for record in csv_records(data):
        if len(record) != 3:
            continue
        sid, status, ts = good_store_id(record[0]), good_status(record[1]), good_timestamp(record[2])
        if sid is not None and status is not None and ts is not None:
            accepted.setdefault((sid, ts), set()).add(status)
    in_db = loader.polls()
    event(f"polls loaded: {'some' if in_db else 'none'}; rows rejected: {'some' if result.rejected else 'none'}")
    bad = [p for p in in_db if p[2] not in accepted.get((p[0], p[1]), set())]
    assert not bad, f"loaded rows the validator rejects: {bad[:5]}"
    assert result.rows_loaded >= len(in_db)
    assert result.rows_loaded + result.rejected == result.rows_read


# -- property b: generated poll files -----------------------------------------------------------

SPECIAL_IDS = (
    "'; DROP TABLE polls; --", "Robert'); DROP TABLE stores;--", 'say "hi"', "a,b", '"', "'", ",",
    "12345678901234567890123", "00123", "0", "-0", "1e5", "NaN", "nan", "null", "None", "TRUE",
    "店舗-東京", "café", "😀", "\u202eevil", "x" * 255, "  padded  ", "\u00a0nbsp\u00a0", "%s", "?", "\\",
)
id_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), min_size=1, max_size=40,
).filter(lambda s: good_store_id(s) is not None)
valid_ids = st.one_of(st.sampled_from(SPECIAL_IDS), id_text, st.integers(0, 10**22).map(str))
BAD_IDS = ("", "   ", "\t", "a\nb", "a\tb", "x" * 256, " " + "y" * 256, "\x7f", "nul\x00id", "bell\x07")

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))


def _micros(moment: datetime) -> int:
    delta = moment.replace(tzinfo=timezone.utc) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@st.composite
def timestamps(draw) -> tuple[str, int]:
    """A spelling of SPEC 1's timestamp forms and the instant it means."""
    moment = draw(moments)
    form = draw(st.integers(0, 6))
    if form == 0:
        fraction = f"{moment.microsecond:06d}".rstrip("0")
        spelled = moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " UTC"
    elif form == 1:
        moment = moment.replace(microsecond=0)
        spelled = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    elif form == 2:
        moment = moment.replace(microsecond=0)
        spelled = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif form == 3:
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        spelled = moment.isoformat(timespec="milliseconds") + "+00:00"
    elif form == 4:
        moment = moment.replace(microsecond=0)
        spelled = moment.strftime("%Y-%m-%d %H:%M:%S")
    else:  # another offset, converted to UTC
        offset = draw(st.sampled_from([timedelta(hours=-5), timedelta(hours=5, minutes=45), timedelta(hours=14)]))
        spelled = (moment + offset).replace(tzinfo=timezone(offset)).isoformat()  # same instant
    padding = draw(st.sampled_from(["", " ", "  "]))
    return padding + spelled + padding, _micros(moment)


statuses = st.tuples(st.sampled_from(["active", "inactive"]), st.sampled_from(["lower", "upper", "title"]),
                     st.sampled_from(["", " "])).map(lambda t: (t[2] + getattr(t[0], t[1])() + t[2], t[0] == "active"))
BAD_STATUSES = ("", "actve", "up", "1", "0", "true", "active!", "in active", "ACTIVE.", "nan")
BAD_TIMESTAMPS = (
    "", "yesterday", "2023-02-30 10:00:00", "2023-13-01 00:00:00", "2023-01-22", "2023-01-22 25:00:00",
    "2023-01-22 12:60:00", "1674389379", "2023-01-22T12:09:39+25:00", "22/01/2023 12:09:39", "2023-01-22 12:09:39 PST",
    "2023-01-22 12:09:39 UTC garbage", "NaT", "now", "today", " now ",
)


@st.composite
def poll_rows(draw) -> tuple[str, list[str], tuple[str, int, bool] | None]:
    """('valid'|'invalid'|'blank', cells in canonical order, the poll a valid row means)."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "invalid", "blank"]))
    if kind == "blank":
        return kind, [], None
    store_id = draw(valid_ids)
    status, active = draw(statuses)
    stamp, micros = draw(timestamps())
    cells = [store_id, status, stamp]
    if kind == "invalid":
        broken = draw(st.integers(0, 2))
        cells[broken] = draw(st.sampled_from((BAD_IDS, BAD_STATUSES, BAD_TIMESTAMPS)[broken]))
        return kind, cells, None
    return kind, cells, (store_id.strip(), micros, active)


@st.composite
def layouts(draw, canonical: list[str], aliases: dict[str, list[str]] | None = None):
    """A header (canonical columns in any order, maybe an extra column) and the encoding options."""
    order = draw(st.permutations(canonical))
    names = [draw(st.sampled_from(aliases[c])) if aliases and c in aliases else c for c in order]
    extra = draw(st.booleans())
    if extra:
        names.insert(draw(st.integers(0, len(names))), "note")
    return order, names, extra, draw(st.booleans()), draw(st.sampled_from(["\n", "\r\n"]))


def write_csv(layout, rows: list[tuple[str, list[str], object]], canonical: list[str], too_wide: set[int] = frozenset()):
    """The file bytes and the file line (1-based) on which each row starts."""
    order, names, extra, bom, newline = layout
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(names)
    starts: list[int] = []
    for index, (_, cells, _) in enumerate(rows):
        starts.append(out.getvalue().count("\n") + 1)
        if not cells:
            out.write(newline)
            continue
        by_name = dict(zip(canonical, cells))
        line = [by_name[c] for c in order]
        if extra:
            line.insert(names.index("note"), "extra, ignored")
        if index in too_wide:
            line.append("one field too many")
        writer.writerow(line)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"), starts


POLL_COLUMNS = ["store_id", "status", "timestamp_utc"]


@FUZZ
@given(layout=layouts(POLL_COLUMNS), rows=st.lists(poll_rows(), max_size=40), data=st.data())
def test_generated_poll_files_load_exactly_the_valid_rows(loader: Loader, layout, rows, data) -> None:
    # Some otherwise valid rows get one field too many: a broken row, rejected whole.
    candidates = [i for i, r in enumerate(rows) if r[0] == "valid"]
    too_wide = set(data.draw(st.lists(st.sampled_from(candidates), max_size=2))) if candidates else set()
    rows = [("invalid", r[1], None) if i in too_wide else r for i, r in enumerate(rows)]
    payload, starts = write_csv(layout, rows, POLL_COLUMNS, too_wide)
    result = loader.load("store_status.csv", payload)

    expected: dict[tuple[str, int], bool] = {}
    for kind, _, poll in rows:
        if kind == "valid":
            key = (poll[0], poll[1])
            expected[key] = expected.get(key, True) and poll[2]  # inactive wins
    invalid_lines = [starts[i] for i, r in enumerate(rows) if r[0] == "invalid"]
    assert loader.polls() == {(k[0], k[1], v) for k, v in expected.items()}
    assert result.rows_loaded == sum(r[0] == "valid" for r in rows)
    assert result.rejected == len(invalid_lines)
    assert [r.line for r in result.rejections] == sorted(invalid_lines), result.rejections


# -- property c: business hours and time zones ---------------------------------------------------

hh_mm = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 3))


def _spell_time(t: tuple[int, int, int, int]) -> tuple[str, int]:
    h, m, s, form = t
    if form == 0:
        return f"{h:02d}:{m:02d}", h * 3600 + m * 60
    if form == 1:
        return f"{h:02d}:{m:02d}:{s:02d}", h * 3600 + m * 60 + s
    if form == 2:
        return f" {h:02d}:{m:02d}:{s:02d} ", h * 3600 + m * 60 + s
    return st_end_of_day[h % 2], 86_400


st_end_of_day = ("24:00", "24:00:00")
local_times = hh_mm.map(_spell_time)
BAD_DAYS = ("7", "-1", "Mon", "1.0", "", "١", "0x1", "3 4", "10")
BAD_TIMES = ("25:00", "24:01", "24:00:01", "12:60", "12:00:60", "9", "", "noon", "٠٩:٠٠", "９:００", "9:00 AM",
             "12:00:00.5", "12-00", "-1:00", "1:2:3:4")


@st.composite
def hours_rows(draw):
    kind = draw(st.sampled_from(["valid", "valid", "valid", "invalid", "blank"]))
    if kind == "blank":
        return kind, [], None
    store_id = draw(st.one_of(st.sampled_from(SPECIAL_IDS[:8] + ("s1", "s2")), valid_ids))
    day = draw(st.integers(0, 6))
    (start, start_s), (end, end_s) = draw(local_times), draw(local_times)
    cells = [store_id, draw(st.sampled_from([str(day), f" {day} ", f"{day} "])), start, end]
    if kind == "invalid":
        broken = draw(st.integers(0, 3))
        pool = (BAD_IDS, BAD_DAYS, BAD_TIMES, BAD_TIMES)[broken]
        cells[broken] = draw(st.sampled_from(pool))
        return kind, cells, None
    return kind, cells, (store_id.strip(), day, start_s, end_s)


HOURS_COLUMNS = ["store_id", "day", "start_time_local", "end_time_local"]
DAY_ALIASES = {"day": ["dayOfWeek", "day", "day_of_week", " DayOfWeek "]}


@FUZZ
@given(layout=layouts(HOURS_COLUMNS, DAY_ALIASES), rows=st.lists(hours_rows(), max_size=40),
       name=st.sampled_from(["menu_hours.csv", "business_hours.csv"]))
def test_generated_hours_files_load_exactly_the_valid_rows(loader: Loader, layout, rows, name) -> None:
    payload, starts = write_csv(layout, rows, HOURS_COLUMNS)
    result = loader.load(name, payload)
    # the validator of this file agrees with the generator on every row
    for kind, cells, _ in rows:
        if cells:
            parsed = (good_store_id(cells[0]), good_day(cells[1]), good_time(cells[2]), good_time(cells[3]))
            assert (None not in parsed) == (kind == "valid"), cells
    assert loader.hours() == {r[2] for r in rows if r[0] == "valid"}
    invalid_lines = [starts[i] for i, r in enumerate(rows) if r[0] == "invalid"]
    assert result.rejected == len(invalid_lines)
    assert [r.line for r in result.rejections] == sorted(invalid_lines), result.rejections


ZONE_SAMPLE = sorted(z for z in KNOWN_ZONES if "/" in z)[::25] + ["UTC", "America/Chicago", "America/Denver"]
UNKNOWN_ZONES = ("Mars/Olympus_Mons", "", "america/chicago", "UTC+5", "GMT+25", "America/Chicago ", "../../etc/passwd",
                 "Europe/Berlin\u200b", "x" * 300)


@st.composite
def zone_rows(draw):
    kind = draw(st.sampled_from(["valid", "valid", "unknown", "invalid", "blank"]))
    if kind == "blank":
        return kind, [], None
    store_id = draw(st.one_of(st.sampled_from(("s1", "s2", "00123", "'; DROP TABLE store_timezones; --")), valid_ids))
    if kind == "invalid":
        return kind, [draw(st.sampled_from(BAD_IDS)), draw(st.sampled_from(ZONE_SAMPLE))], None
    if kind == "unknown":
        zone = draw(st.sampled_from(UNKNOWN_ZONES))
        if zone.strip() in KNOWN_ZONES:
            zone = "No/Such_Zone"
        return kind, [store_id, zone], None
    zone = draw(st.sampled_from(ZONE_SAMPLE))
    return kind, [store_id, draw(st.sampled_from([zone, f" {zone} "]))], (store_id.strip(), zone)


ZONE_COLUMNS = ["store_id", "timezone_str"]


@FUZZ
@given(layout=layouts(ZONE_COLUMNS), rows=st.lists(zone_rows(), max_size=40),
       name=st.sampled_from(["timezones.csv", "store_timezone.csv", "bq-results-20230125.csv"]))
def test_generated_zone_files_load_known_zones_and_warn_about_the_rest(loader: Loader, layout, rows, name) -> None:
    payload, starts = write_csv(layout, rows, ZONE_COLUMNS)
    result = loader.load(name, payload)
    # SPEC 1: the last row of a store counts, and an unknown name there means the default zone.
    last: dict[str, tuple[str, str, int]] = {}
    for index, (kind, cells, zone) in enumerate(rows):
        if kind in ("valid", "unknown"):
            last[cells[0].strip()] = (kind, zone[1] if zone else "", starts[index])
    expected = {store: name for store, (kind, name, _) in last.items() if kind == "valid"}
    assert loader.zones() == expected
    invalid_lines = [starts[i] for i, r in enumerate(rows) if r[0] == "invalid"]
    assert result.rejected == len(invalid_lines)
    assert [r.line for r in result.rejections] == sorted(invalid_lines), result.rejections
    warned = sorted(int(w.split(":")[0].removeprefix("line ")) for w in result.warnings if w.startswith("line "))
    assert warned == sorted(line for kind, _, line in last.values() if kind == "unknown")


# -- property d: a row's fate does not depend on the rest of the file ----------------------------
# read_table has a fast path (pandas' C parser) and a careful one (the csv module) for files it
# cannot trust the fast path with (NUL bytes, invalid UTF-8, multi-line records). Whichever path
# a file takes, the same rows must be loaded, rejected (at the same lines) or skipped.

RAW_LINES = (
    "", "   ", " , , ", ",,", ",,,,", "\t", "a,active,2023-01-22 10:00:00,extra",
    "b,inactive,2023-01-22 10:00:00 UTC,,", "c\rd,active,2023-01-22 10:00:00", "e,active\r,2023-01-22 10:00:00",
    '"f\ng",active,2023-01-22 10:00:00', '"h",active,"2023-01-22\n10:00:00"', "i,active,2023-01-22 10:00:00",
    '"j""k",inactive,2023-01-22 11:00:00', "l", "m,active", "'; DROP TABLE polls; --,active,2023-01-22 12:00:00",
)


@st.composite
def mixed_lines(draw) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(RAW_LINES))
    _, cells, _ = draw(poll_rows())
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


@FUZZ
@given(lines=st.lists(mixed_lines(), max_size=30), newline=st.sampled_from(["\n", "\r\n"]))
def test_fast_and_careful_reading_agree(loader: Loader, lines: list[str], newline: str) -> None:
    text_value = newline.join(["store_id,status,timestamp_utc", *lines]) + newline
    plain = loader.load("store_status.csv", text_value.encode())
    plain_polls = loader.polls()
    event(f"{len(plain_polls) > 0=}, {plain.rejected > 0=}")
    # A NUL byte on an extra last line sends the whole file down the careful path.
    careful = loader.load("store_status.csv", (text_value + "\x00" + newline).encode())
    assert loader.polls() == plain_polls
    assert careful.rejected == plain.rejected + 1
    assert careful.rows_read == plain.rows_read + 1
    assert [(r.line, r.reason) for r in careful.rejections[:-1]] == [(r.line, r.reason) for r in plain.rejections]


# -- what the fuzzing found, pinned down ---------------------------------------------------------

POLL_HEADER = "store_id,status,timestamp_utc\n"
GOOD = "2023-01-22 10:00:00"
GOOD_US = good_timestamp(GOOD)


@pytest.mark.parametrize("body, loaded, rejected_lines", [
    # a row wider than the header: the fast reader used to keep its first fields
    (f"a,active,{GOOD},extra\nb,active,{GOOD}\n", {"b"}, [2]),
    (f"b,active,{GOOD}\na,active,{GOOD},extra\n", {"b"}, [3]),
    # a multi-line record is reported at the line it starts on
    (f'"a\nb",active,{GOOD}\nc,maybe,{GOOD}\n\x00\n', set(), [2, 4, 5]),
    # a quoted line break and a lone CR used to cancel out in the fast reader's line count
    (f'"a\nb",active,{GOOD}\nc,maybe,{GOOD}\nd\re,active,{GOOD}\n', {"e"}, [2, 4, 5]),
    # a fraction of ten or more digits: its zone was looked for past the end of the bytes, and
    # the IndexError refused the whole file
    (f"a,active,2023-01-22 10:00:00.1234567890 UTC\nb,active,{GOOD}\nc,active,2023-01-22 10:00:00.123456789012\n",
     {"b"}, [2, 4]),
    # pandas reads "now" and "today" as the clock
    (f"a,active,now\nb,active, today \nc,active,NOW\nd,active,{GOOD}\n", {"d"}, [2, 3, 4]),
    # a field beyond the csv module's limit on the first data row used to raise out of the loader
    ("x" * 200_000 + f",active,{GOOD}\nb,active,{GOOD}\n", {"b"}, [2]),
])
def test_found_by_fuzzing_polls(loader: Loader, body: str, loaded: set[str], rejected_lines: list[int]) -> None:
    result = loader.load("store_status.csv", (POLL_HEADER + body).encode())
    assert {p[0] for p in loader.polls()} == loaded
    assert all(p[1] == GOOD_US for p in loader.polls())
    assert [r.line for r in result.rejections] == rejected_lines, result.rejections


def test_found_by_fuzzing_non_ascii_digits_in_hours(loader: Loader) -> None:
    # "\d" matched "٠٩:٠٠" (Arabic-Indic digits) and loaded it as -3660 seconds
    body = "store_id,day,start_time_local,end_time_local\na,1,٠٩:٠٠,17:00\nb,1,09:00,１７:００\nc,1,09:00,17:00\n"
    result = loader.load("menu_hours.csv", body.encode())
    assert loader.hours() == {("c", 1, 9 * 3600, 17 * 3600)}
    assert [r.line for r in result.rejections] == [2, 3]


# -- property e: timestamps parsed from the file's bytes equal those parsed from strings ----------
# A plain poll file (no quote, no CR, every line as wide as the header) leaves its timestamps in
# the bytes read (no Python string per row); anything else is read as strings. Both must agree.

@FUZZ
@given(layout=layouts(POLL_COLUMNS), rows=st.lists(poll_rows(), min_size=1, max_size=40),
       tail=st.sampled_from(["", "x,active,2023-01-22 10:00:0", "y,active,2023-01-22 10:00:00"]))
def test_timestamps_read_from_the_bytes_equal_those_read_as_strings(layout, rows, tail: str) -> None:
    payload, _ = write_csv(layout, rows, POLL_COLUMNS)
    if tail and (layout[2] is False):  # a last line without its line end, as a writer leaves it
        payload += tail.encode()
    columns = KINDS["polls"].columns
    as_text = read_table(payload, columns, "t")
    as_bytes = read_table(payload, columns, "t", as_bytes=("store_id", "timestamp_utc"))
    plain = b'"' not in payload and b"\r" not in payload and all(cells for _, cells, _ in rows)
    event(f"read from the bytes: {bool(as_bytes.spans)}")
    assert bool(as_bytes.spans) == plain
    assert (as_bytes.lines == as_text.lines).all() and as_bytes.open_line == as_text.open_line
    everything = np.ones(len(as_text.lines), dtype=bool)
    for column in columns:
        assert list(as_bytes.strings(column, everything)) == list(as_text.strings(column, everything))
    if plain:
        spans = as_bytes.spans["timestamp_utc"]
        micros, ok = parse_timestamp_spans(spans)
        expected_micros, expected_ok = parse_timestamps(as_text.frame["timestamp_utc"])
        assert (ok == expected_ok).all()
        assert (micros[ok] == expected_micros[ok]).all()


@pytest.mark.parametrize("stamp", [
    "2023-01-22 10:00:00", "2023-01-22 10:00:00.123456789 UTC", " 2023-01-22 10:00:00", "2023-01-22T10:00:00+05:30",
    "２０２３-01-22 10:00:00", "2023-01-22 10:00:00.1234567890123456789 UTC", "", "2023-01-22 10:00:0",
])
def test_a_timestamp_at_the_very_end_of_the_bytes(stamp: str) -> None:
    """The last value of a piece can end fewer than a value's width before the bytes do."""
    payload = f"store_id,status,timestamp_utc\na,active,{stamp}".encode()
    table = read_table(payload, KINDS["polls"].columns, "t", as_bytes=("timestamp_utc",))
    spans = table.spans["timestamp_utc"]
    micros, ok = parse_timestamp_spans(spans)
    expected_micros, expected_ok = parse_timestamps(pd.Series([stamp], dtype=object))
    assert ok.tolist() == expected_ok.tolist() and micros[ok].tolist() == expected_micros[ok].tolist()
