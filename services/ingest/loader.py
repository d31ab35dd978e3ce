"""Loading the three CSV files into the database (SPEC section 1).

Files are parsed first, outside any transaction; then everything is written in one short
transaction, so reports running meanwhile see the data before or after the load, never half of
it, and other writers (the API recording report jobs) wait only for the write itself. Bad rows are rejected and counted, never guessed; a file missing a required column
is refused whole and leaves its table as it was. Unchanged files are skipped by fingerprint, and
a poll file that only grew is read from where the last load stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Row

from models import store_data
from models.db import read_tx, write_tx
from models.tables import DataLoad, LoadedFile
from services.ingest.csv_input import HOURS, POLLS, ZONES, MissingColumnError, RawTable, locate_inputs, read_table
from services.ingest.locks import LOCK_TIMEOUT_SECONDS, load_lock
from services.ingest.parsing import parse_days, parse_local_times, parse_statuses, parse_timestamps
from services.reports.timezones import DEFAULT_ZONE, known_zones

log = logging.getLogger(__name__)

MAX_REJECTIONS_LISTED = 100
MAX_STORE_ID_LENGTH = 255


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class FileResult:
    kind: str
    path: str | None
    status: str = "missing"  # loaded | unchanged | refused | missing
    rows_read: int = 0
    rows_loaded: int = 0
    rows_new: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class LoadResult:
    files: list[FileResult]
    changed: bool = False
    data_version: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Something could be loaded (or was already loaded and is unchanged)."""
        return any(f.status in ("loaded", "unchanged") for f in self.files)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "changed": self.changed,
            "data_version": self.data_version,
            "seconds": round(self.seconds, 3),
            "files": [asdict(f) for f in self.files],
        }


@dataclass
class _Source:
    """A file's bytes to parse and what to remember about it afterwards."""

    kind: str
    path: Path
    data: bytes
    size: int
    mtime_ns: int
    sha256: str
    first_line: int  # file line of the header of `data` (1 unless only a tail is read)
    rows_before: int  # rows already loaded from the unchanged prefix


@dataclass
class _Parsed:
    """A file's valid rows, ready to write: store ids as codes into distinct cleaned ids."""

    source: _Source
    result: FileResult
    codes: np.ndarray
    unique_ids: np.ndarray
    values: dict[str, np.ndarray]


def load_directory(engine: Engine, directory: Path, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> LoadResult:
    """Load whatever of the three files `directory` holds; all writes in one transaction.
    LockTimeout if another load holds the load lock for longer than `lock_timeout` seconds."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    directory = Path(directory)
    if not directory.is_dir():
        message = f"{directory} is not a directory"
        return LoadResult(files=[FileResult(kind=k, path=None, message=message) for k in (POLLS, HOURS, ZONES)])
    paths = locate_inputs(directory)
    with load_lock(engine, lock_timeout):
        with read_tx(engine) as conn:
            previous = {row.kind: row for row in conn.execute(LoadedFile.__table__.select())}
        results: list[FileResult] = []
        parsed: list[_Parsed] = []
        for kind in (POLLS, HOURS, ZONES):
            path = paths[kind]
            result = FileResult(kind=kind, path=str(path) if path else None)
            results.append(result)
            if path is None:
                result.message = f"no {kind} file in {directory}"
                continue
            source = _read_source(kind, path, previous.get(kind))
            if source is None:
                result.status = "unchanged"
                result.message = f"{path.name} unchanged since the last load"
                continue
            ready = _parse_file(source, result)
            if ready is not None:
                parsed.append(ready)
        load = LoadResult(files=results, changed=bool(parsed))
        with write_tx(engine) as conn:
            for ready in parsed:
                _write_file(conn, ready)
            record = {
                "started_at": started_at,
                "finished_at": datetime.now(timezone.utc),
                "source_dir": str(directory),
                "changed": load.changed,
                "rows_loaded": sum(f.rows_loaded for f in results),
                "rows_rejected": sum(f.rejected for f in results),
                "summary": json.dumps([_summary(f) for f in results]),
            }
            conn.execute(DataLoad.__table__.insert().values(**record))
            load.data_version = store_data.data_version(conn)
    load.seconds = time.monotonic() - started
    log.info(
        "load of %s finished in %.2fs: %s",
        directory,
        load.seconds,
        "; ".join(f"{f.kind} {f.status} ({f.rows_loaded} rows, {f.rejected} rejected)" for f in results),
    )
    return load


def _summary(result: FileResult) -> dict:
    summary = asdict(result)
    summary["rejections"] = summary["rejections"][:10]
    return summary


def _read_source(kind: str, path: Path, previous: Row | None) -> _Source | None:
    """The part of the file that needs loading, or None if it is unchanged.

    Same size and modification time as last time means unchanged without reading the file
    (the check rsync and make rely on); otherwise the SHA-256 of the content decides.
    """
    stat = path.stat()
    if previous is not None and previous.size == stat.st_size and previous.mtime_ns == stat.st_mtime_ns:
        return None
    data = path.read_bytes()
    view = memoryview(data)
    grown = (
        kind == POLLS and previous is not None and 0 < previous.size < len(data)
        and data[previous.size - 1 : previous.size] == b"\n"
    )
    digest = hashlib.sha256()
    prefix_digest = None
    if grown:
        digest.update(view[: previous.size])
        prefix_digest = digest.hexdigest()
        digest.update(view[previous.size :])
    else:
        digest.update(view)
    full_digest = digest.hexdigest()
    if previous is not None and previous.sha256 == full_digest and previous.size == len(data):
        return None
    if not grown or prefix_digest != previous.sha256:
        return _Source(kind, path, data, len(data), stat.st_mtime_ns, full_digest, first_line=1, rows_before=0)
    # The file only grew: parse the header plus the appended lines.
    header = data[: data.index(b"\n") + 1]
    return _Source(
        kind, path, header + data[previous.size :], len(data), stat.st_mtime_ns, full_digest,
        first_line=data.count(b"\n", 0, previous.size), rows_before=previous.rows,
    )


def _parse_file(source: _Source, result: FileResult) -> _Parsed | None:
    try:
        table = read_table(source.data, source.kind, source.path.name, first_line=source.first_line)
    except MissingColumnError as exc:
        result.status = "refused"
        result.message = str(exc)
        log.warning("refused %s", exc)
        return None
    parser = {POLLS: _parse_polls, HOURS: _parse_hours, ZONES: _parse_zones}[source.kind]
    return parser(source, table, result)


def _write_file(conn: Connection, parsed: _Parsed) -> None:
    source, result = parsed.source, parsed.result
    keys = _keys_for(conn, parsed.codes, parsed.unique_ids)
    writer = {POLLS: _write_polls, HOURS: _write_hours, ZONES: _write_zones}[source.kind]
    writer(conn, keys, parsed.values, result)
    result.status = "loaded"
    conn.execute(LoadedFile.__table__.delete().where(LoadedFile.kind == source.kind))
    conn.execute(
        LoadedFile.__table__.insert().values(
            kind=source.kind,
            path=str(source.path),
            size=source.size,
            mtime_ns=source.mtime_ns,
            sha256=source.sha256,
            rows=source.rows_before + result.rows_read,
            loaded_at=datetime.now(timezone.utc),
        )
    )
    result.message = (
        f"{source.path.name}: {result.rows_loaded} rows loaded"
        + (f" ({result.rows_new} new polls)" if source.kind == POLLS else "")
        + f", {result.rejected} rejected"
    )


class _Validator:
    """Collects the first reason each row fails, checks applied in order."""

    def __init__(self, table: RawTable) -> None:
        self.frame = table.frame
        self.lines = table.lines
        blank = np.ones(len(self.frame), dtype=bool)
        for column in self.frame.columns:
            blank &= (self.frame[column].to_numpy(dtype=object) == "")
        self.reasons = np.full(len(self.frame), None, dtype=object)
        self.reasons[blank] = "blank"  # blank lines are skipped, not rejected
        self.blank = blank
        self.broken_lines = table.broken_lines
        self.broken_reasons = table.broken_reasons

    def check(self, ok: np.ndarray, reason: str, column: str | None = None) -> None:
        """Give `reason` to the failing rows that have none yet, quoting `column`'s value."""
        fails = ~ok & (self.reasons == None)  # noqa: E711  (element-wise test for "no reason yet")
        if not fails.any():
            return
        if column is None:
            self.reasons[fails] = reason
            return
        values = self.frame[column].to_numpy(dtype=object)[fails]
        self.reasons[fails] = [f"{reason} {str(value)[:60]!r}" for value in values]

    def store_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-row codes into an array of cleaned unique store ids.

        A file has millions of rows but only thousands of stores: validating the distinct
        values and mapping back by code is where most of the parsing time is saved.
        """
        codes, uniques = pd.factorize(self.frame["store_id"].to_numpy(dtype=object))
        cleaned = pd.Series(uniques, dtype=object).astype(str).str.strip()
        checks = (
            ((cleaned != "").to_numpy(), "empty store_id"),
            ((cleaned.str.len() <= MAX_STORE_ID_LENGTH).to_numpy(), f"store_id longer than {MAX_STORE_ID_LENGTH} characters"),
            (~cleaned.str.contains(r"[\x00-\x1f\x7f]", regex=True).to_numpy(), "store_id contains control characters"),
        )
        for ok_unique, reason in checks:
            if not ok_unique.all():
                self.check(ok_unique[codes], reason)
        return codes, cleaned.to_numpy(dtype=object)

    @property
    def valid(self) -> np.ndarray:
        return self.reasons == None  # noqa: E711

    def finish(self, result: FileResult) -> None:
        rejected = ~self.valid & ~self.blank
        result.rows_read = int((~self.blank).sum()) + len(self.broken_lines)
        lines = np.concatenate([self.lines[rejected], self.broken_lines])
        reasons = np.concatenate([self.reasons[rejected], np.array(self.broken_reasons, dtype=object)])
        order = np.argsort(lines, kind="stable")
        result.rejected = len(lines)
        result.rejections = [
            Rejection(int(lines[i]), str(reasons[i])) for i in order[:MAX_REJECTIONS_LISTED]
        ]
        if result.rejected:
            log.warning("%s: %d rows rejected, first: line %d: %s", result.path, result.rejected,
                        result.rejections[0].line, result.rejections[0].reason)


def _keys_for(conn: Connection, codes: np.ndarray, unique_ids: np.ndarray) -> np.ndarray:
    """Store keys of the rows (by their codes into `unique_ids`), creating new stores."""
    used = np.unique(codes)
    mapping = store_data.ensure_stores(conn, unique_ids[used])
    keys_of_unique = np.full(len(unique_ids), -1, dtype=np.int64)
    keys_of_unique[used] = mapping.reindex(unique_ids[used]).to_numpy(dtype=np.int64)
    return keys_of_unique[codes]


def _warn_if_emptied(result: FileResult, what: str, consequence: str) -> None:
    """A snapshot file with no valid row still replaces its table (SPEC 1): say so loudly."""
    if result.rows_loaded == 0:
        message = f"no valid rows: the {what} table is now empty and {consequence}"
        result.warnings.append(message)
        log.warning("%s: %s", result.path, message)


def _parse_polls(source: _Source, table: RawTable, result: FileResult) -> _Parsed:
    v = _Validator(table)
    codes, unique_ids = v.store_ids()
    active, status_ok = parse_statuses(v.frame["status"])
    v.check(status_ok, "unknown status", "status")
    ts_us, ts_ok = parse_timestamps(v.frame["timestamp_utc"])
    v.check(ts_ok, "bad timestamp", "timestamp_utc")
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    log.info("%s: %d valid polls parsed", source.path.name, result.rows_loaded)
    return _Parsed(source, result, codes[keep], unique_ids, {"ts_us": ts_us[keep], "active": active[keep]})


def _write_polls(conn: Connection, keys: np.ndarray, values: dict[str, np.ndarray], result: FileResult) -> None:
    result.rows_new = store_data.insert_polls(conn, keys, values["ts_us"], values["active"])
    store_data.update_first_polls(conn, keys, values["ts_us"])


def _parse_hours(source: _Source, table: RawTable, result: FileResult) -> _Parsed:
    v = _Validator(table)
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
    return _Parsed(source, result, codes[keep], unique_ids, values)


def _write_hours(conn: Connection, keys: np.ndarray, values: dict[str, np.ndarray], result: FileResult) -> None:
    hours = pd.DataFrame({"store": keys, **values}).drop_duplicates()
    store_data.replace_hours(
        conn, hours["store"].to_numpy(), hours["day"].to_numpy(), hours["start_s"].to_numpy(), hours["end_s"].to_numpy()
    )


def _parse_zones(source: _Source, table: RawTable, result: FileResult) -> _Parsed:
    v = _Validator(table)
    codes, unique_ids = v.store_ids()
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    _warn_if_emptied(result, "time zones", f"every store now uses {DEFAULT_ZONE}")
    names = table.frame["timezone_str"].astype(str).str.strip().to_numpy(dtype=object)[keep]
    lines = table.lines[keep]
    codes = codes[keep]
    known = pd.Series(names, dtype=object).isin(known_zones()).to_numpy()
    for line, name, code in list(zip(lines[~known], names[~known], codes[~known]))[:MAX_REJECTIONS_LISTED]:
        result.warnings.append(
            f"line {line}: unknown time zone {str(name)[:60]!r} for store "
            f"{str(unique_ids[code])[:60]!r}: using {DEFAULT_ZONE}"
        )
    if (~known).sum() > MAX_REJECTIONS_LISTED:
        result.warnings.append(f"... {(~known).sum() - MAX_REJECTIONS_LISTED} more unknown time zones")
    # An unknown zone is treated as a missing one: the store falls back to the default zone.
    return _Parsed(source, result, codes[known], unique_ids, {"tz": names[known]})


def _write_zones(conn: Connection, keys: np.ndarray, values: dict[str, np.ndarray], result: FileResult) -> None:
    zones = pd.DataFrame({"store": keys, "tz": values["tz"]}).drop_duplicates("store", keep="last")
    store_data.replace_timezones(conn, zones["store"].to_numpy(), zones["tz"].to_numpy(dtype=object))


