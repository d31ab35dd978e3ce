"""The kinds of input file, in one table: names, columns, how rows are judged and written
(polls, business hours, time zones, and the optional closures of SPEC 9).

Adding a kind (or an alias) is one entry in `KINDS`; the loader only walks this table.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from models import store_writes
from services.ingest import closures as closure_file
from services.ingest.csv_input import Columns, RawTable
from services.ingest.parsing import (
    parse_days, parse_local_times, parse_statuses, parse_timestamp_spans, parse_timestamps,
)
from services.ingest.results import FileResult
from services.ingest.validate import MAX_REJECTIONS_LISTED, RowValidator
from services.reports.timezones import DEFAULT_ZONE, known_zones

log = logging.getLogger(__name__)

POLLS, HOURS, ZONES, CLOSURES = "polls", "hours", "zones", closure_file.CLOSURES
OpenPoll = tuple[int, int]  # (store key, ts_us) that only an unterminated last line added


@dataclass
class Rows:
    """A file's valid rows: store ids as codes into the distinct cleaned ids, values by column."""

    codes: np.ndarray
    unique_ids: np.ndarray
    values: dict[str, np.ndarray]
    open_row: int | None = None  # index of the row read from an unterminated last line


@dataclass(frozen=True)
class FileKind:
    name: str
    file_names: tuple[str, ...]  # glob patterns, in order of preference
    columns: Columns
    parse: Callable[[RawTable, FileResult], Rows]
    write: Callable[[Connection, np.ndarray, Rows, FileResult], "OpenPoll | None"]
    grows: bool  # appended to over time (read incrementally) rather than a snapshot
    as_bytes: tuple[str, ...] = ()  # columns parsed from the file's bytes when the text allows
    optional: bool = False  # a directory without it is fine: no result is listed for it


def _parse_polls(table: RawTable, result: FileResult) -> Rows:
    v = RowValidator(table)
    codes, unique_ids = v.store_ids()
    active, status_ok = parse_statuses(v.frame["status"])
    v.check(status_ok, "unknown status", "status")
    spans = table.spans.get("timestamp_utc")
    ts_us, ts_ok = (parse_timestamp_spans(spans) if spans is not None
                    else parse_timestamps(v.frame["timestamp_utc"]))
    v.check(ts_ok, "bad timestamp", "timestamp_utc")
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    open_row = None
    if table.open_line is not None:
        where = np.flatnonzero(table.lines[keep] == table.open_line)
        open_row = int(where[0]) if len(where) else None
    return Rows(codes[keep], unique_ids, {"ts_us": ts_us[keep], "active": active[keep]}, open_row)


def _write_polls(conn: Connection, keys: np.ndarray, rows: Rows, result: FileResult) -> OpenPoll | None:
    ts_us = rows.values["ts_us"]
    open_poll = None
    if rows.open_row is not None:
        key, ts = int(keys[rows.open_row]), int(ts_us[rows.open_row])
        # Remember it only if nothing else holds this poll: then undoing it undoes just the line.
        if int(((keys == key) & (ts_us == ts)).sum()) == 1 and not store_writes.poll_exists(conn, key, ts):
            open_poll = (key, ts)
    result.rows_new = store_writes.insert_polls(conn, keys, ts_us, rows.values["active"])
    store_writes.update_first_polls(conn, keys, ts_us)
    return open_poll


def _warn_if_emptied(result: FileResult, what: str, consequence: str) -> None:
    """A snapshot file with no valid row still replaces its table (SPEC 1): say so loudly."""
    if result.rows_loaded == 0:
        message = f"no valid rows: the {what} table is now empty and {consequence}"
        result.warnings.append(message)
        log.warning("%s: %s", result.path, message)


def _parse_hours(table: RawTable, result: FileResult) -> Rows:
    v = RowValidator(table)
    codes, unique_ids = v.store_ids()
    day, day_ok = parse_days(v.frame["day"])
    v.check(day_ok, "day outside 0-6:", "day")
    start, start_ok = parse_local_times(v.frame["start_time_local"])
    v.check(start_ok, "bad start_time_local", "start_time_local")
    end, end_ok = parse_local_times(v.frame["end_time_local"])
    v.check(end_ok, "bad end_time_local", "end_time_local")
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    _warn_if_emptied(result, "business hours", "every store now counts as open 24x7")
    values = {"day": day[keep].astype(np.int64), "start_s": start[keep].astype(np.int64), "end_s": end[keep].astype(np.int64)}
    return Rows(codes[keep], unique_ids, values)


def _write_hours(conn: Connection, keys: np.ndarray, rows: Rows, _result: FileResult) -> None:
    hours = pd.DataFrame({"store": keys, **rows.values}).drop_duplicates()
    store_writes.replace_hours(
        conn, hours["store"].to_numpy(), hours["day"].to_numpy(), hours["start_s"].to_numpy(), hours["end_s"].to_numpy()
    )


def _parse_zones(table: RawTable, result: FileResult) -> Rows:
    """The last row of each store counts (SPEC 1); an unknown name there means the default."""
    v = RowValidator(table)
    codes, unique_ids = v.store_ids()
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    _warn_if_emptied(result, "time zones", f"every store now uses {DEFAULT_ZONE}")
    names = table.frame["timezone_str"].astype(str).str.strip().to_numpy(dtype=object)[keep]
    lines, codes = table.lines[keep], codes[keep]
    last = ~pd.Series(codes).duplicated(keep="last").to_numpy()
    repeated = int(pd.Series(codes).duplicated(keep="first").sum())
    if repeated:
        result.warnings.append(
            f"{repeated} earlier time-zone rows of stores listed more than once are ignored: the last row of each store counts"
        )
    names, lines, codes = names[last], lines[last], codes[last]
    known = pd.Series(names, dtype=object).isin(known_zones()).to_numpy()
    for line, name, code in list(zip(lines[~known], names[~known], codes[~known]))[:MAX_REJECTIONS_LISTED]:
        result.warnings.append(
            f"line {line}: unknown time zone {str(name)[:60]!r} for store "
            f"{str(unique_ids[code])[:60]!r}: using {DEFAULT_ZONE}"
        )
    if (~known).sum() > MAX_REJECTIONS_LISTED:
        result.warnings.append(f"... {(~known).sum() - MAX_REJECTIONS_LISTED} more unknown time zones")
    # An unknown zone is treated as a missing one: the store falls back to the default zone.
    return Rows(codes[known], unique_ids, {"tz": names[known]})


def _write_zones(conn: Connection, keys: np.ndarray, rows: Rows, _result: FileResult) -> None:
    store_writes.replace_timezones(conn, keys, rows.values["tz"])
    # Closures of closures.csv are local times: they follow their store's zone (SPEC 9).
    closure_file.reconvert_csv_closures(conn)


def _parse_closures(table: RawTable, result: FileResult) -> Rows:
    codes, unique_ids, values = closure_file.parse_closures(table, result)
    return Rows(codes, unique_ids, values)


def _write_closures(conn: Connection, keys: np.ndarray, rows: Rows, _result: FileResult) -> None:
    closure_file.write_closures(conn, keys, rows.values)


KINDS: dict[str, FileKind] = {
    kind.name: kind
    for kind in (
        FileKind(
            POLLS, ("store_status.csv",),
            {"store_id": ("store_id",), "status": ("status",), "timestamp_utc": ("timestamp_utc",)},
            _parse_polls, _write_polls, grows=True, as_bytes=("store_id", "timestamp_utc"),
        ),
        FileKind(
            HOURS, ("menu_hours.csv", "business_hours.csv"),
            {"store_id": ("store_id",), "day": ("dayofweek", "day", "day_of_week"),
             "start_time_local": ("start_time_local",), "end_time_local": ("end_time_local",)},
            _parse_hours, _write_hours, grows=False,
        ),
        FileKind(
            ZONES, ("timezones.csv", "store_timezone.csv", "bq-results*.csv"),
            {"store_id": ("store_id",), "timezone_str": ("timezone_str",)},
            _parse_zones, _write_zones, grows=False,
        ),
        # After the zones: a load that brings both converts closures with the new zones.
        FileKind(
            CLOSURES, closure_file.FILE_NAMES, closure_file.COLUMNS, _parse_closures, _write_closures,
            grows=False, optional=True,
        ),
    )
}
