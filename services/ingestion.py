"""Loading the three CSV files into the database (SPEC section 1).

A load is one transaction: reports running meanwhile see the data before or after it, never
half of it. Bad rows are rejected and counted, never guessed; a file missing a required column
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
from functools import lru_cache
from pathlib import Path
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Row

from models import store_data
from models.db import write_tx
from models.tables import DataLoad, LoadedFile
from services.csv_input import HOURS, POLLS, ZONES, MissingColumnError, RawTable, locate_inputs, read_table
from services.locks import load_lock
from services.parsing import parse_days, parse_local_times, parse_statuses, parse_timestamps

log = logging.getLogger(__name__)

MAX_REJECTIONS_LISTED = 100
MAX_STORE_ID_LENGTH = 255
MAX_TZ_LENGTH = 64


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
    sha256: str
    first_line: int  # file line of the header of `data` (1 unless only a tail is read)
    rows_before: int  # rows already loaded from the unchanged prefix


def load_directory(engine: Engine, directory: Path) -> LoadResult:
    """Load whatever of the three files `directory` holds, in one transaction."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    directory = Path(directory)
    if not directory.is_dir():
        result = LoadResult(files=[FileResult(kind=k, path=None, message=f"{directory} is not a directory") for k in (POLLS, HOURS, ZONES)])
        return result
    paths = locate_inputs(directory)
    with load_lock(engine):
        with write_tx(engine) as conn:
            previous = {row.kind: row for row in conn.execute(LoadedFile.__table__.select())}
            results: list[FileResult] = []
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
                _load_file(conn, source, result)
            changed = any(f.status == "loaded" for f in results)
            load = LoadResult(files=results, changed=changed)
            record = DataLoad(
                started_at=started_at,
                finished_at=datetime.now(timezone.utc),
                source_dir=str(directory),
                changed=changed,
                rows_loaded=sum(f.rows_loaded for f in results),
                rows_rejected=sum(f.rejected for f in results),
                summary=json.dumps([_summary(f) for f in results]),
            )
            conn.execute(DataLoad.__table__.insert().values(**_columns(record)))
            load.data_version = store_data.data_version(conn)
    load.seconds = time.monotonic() - started
    log.info(
        "load of %s finished in %.2fs: %s",
        directory,
        load.seconds,
        "; ".join(f"{f.kind} {f.status} ({f.rows_loaded} rows, {f.rejected} rejected)" for f in results),
    )
    return load


def _columns(record: DataLoad) -> dict:
    return {c.key: getattr(record, c.key) for c in DataLoad.__table__.columns if c.key != "id"}


def _summary(result: FileResult) -> dict:
    summary = asdict(result)
    summary["rejections"] = summary["rejections"][:10]
    return summary


def _read_source(kind: str, path: Path, previous: Row | None) -> _Source | None:
    """The part of the file that needs loading, or None if it is unchanged."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if previous is not None and previous.sha256 == digest and previous.size == len(data):
        return None
    whole = _Source(kind, path, data, len(data), digest, first_line=1, rows_before=0)
    if kind != POLLS or previous is None or previous.size >= len(data) or previous.size == 0:
        return whole
    prefix = data[: previous.size]
    if not prefix.endswith(b"\n") or hashlib.sha256(prefix).hexdigest() != previous.sha256:
        return whole
    # The file grew: parse the header plus the appended lines only.
    header = data[: data.index(b"\n") + 1]
    tail_start_line = prefix.count(b"\n") + 1
    return _Source(
        kind, path, header + data[previous.size :], len(data), digest,
        first_line=tail_start_line - 1, rows_before=previous.rows,
    )


def _load_file(conn: Connection, source: _Source, result: FileResult) -> None:
    label = source.path.name
    try:
        table = read_table(source.data, source.kind, label, first_line=source.first_line)
    except MissingColumnError as exc:
        result.status = "refused"
        result.message = str(exc)
        log.warning("refused %s", exc)
        return
    loader = {POLLS: _load_polls, HOURS: _load_hours, ZONES: _load_zones}[source.kind]
    loader(conn, table, result)
    result.status = "loaded"
    conn.execute(LoadedFile.__table__.delete().where(LoadedFile.kind == source.kind))
    conn.execute(
        LoadedFile.__table__.insert().values(
            kind=source.kind,
            path=str(source.path),
            size=source.size,
            sha256=source.sha256,
            rows=source.rows_before + result.rows_read,
            loaded_at=datetime.now(timezone.utc),
        )
    )
    result.message = (
        f"{label}: {result.rows_loaded} rows loaded"
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


def _load_polls(conn: Connection, table: RawTable, result: FileResult) -> None:
    v = _Validator(table)
    codes, unique_ids = v.store_ids()
    active, status_ok = parse_statuses(v.frame["status"])
    v.check(status_ok, "unknown status", "status")
    ts_us, ts_ok = parse_timestamps(v.frame["timestamp_utc"])
    v.check(ts_ok, "bad timestamp", "timestamp_utc")
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    log.info("%s: %d valid polls parsed, writing", result.path, result.rows_loaded)
    keys = _keys_for(conn, codes[keep], unique_ids)
    ts = ts_us[keep]
    result.rows_new = store_data.insert_polls(conn, keys, ts, active[keep])
    store_data.update_first_polls(conn, keys, ts)


def _load_hours(conn: Connection, table: RawTable, result: FileResult) -> None:
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
    hours = pd.DataFrame({
        "store": _keys_for(conn, codes[keep], unique_ids),
        "day": day[keep].astype(np.int64),
        "start_s": start[keep].astype(np.int64),
        "end_s": end[keep].astype(np.int64),
    }).drop_duplicates()
    store_data.replace_hours(
        conn, hours["store"].to_numpy(), hours["day"].to_numpy(), hours["start_s"].to_numpy(), hours["end_s"].to_numpy()
    )


def _load_zones(conn: Connection, table: RawTable, result: FileResult) -> None:
    v = _Validator(table)
    codes, unique_ids = v.store_ids()
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    _warn_if_emptied(result, "time zones", "every store now uses America/Chicago")
    names = table.frame["timezone_str"].astype(str).str.strip().to_numpy(dtype=object)
    zones = pd.DataFrame({"code": codes[keep], "tz": names[keep], "line": table.lines[keep]})
    known = zones["tz"].isin(_known_zones()).to_numpy()
    for row in zones[~known].head(MAX_REJECTIONS_LISTED).itertuples():
        result.warnings.append(
            f"line {row.line}: unknown time zone {str(row.tz)[:60]!r} for store "
            f"{str(unique_ids[row.code])[:60]!r}: using America/Chicago"
        )
    if (~known).sum() > MAX_REJECTIONS_LISTED:
        result.warnings.append(f"... {(~known).sum() - MAX_REJECTIONS_LISTED} more unknown time zones")
    # An unknown zone is treated as a missing one: the store falls back to the default zone.
    zones = zones[known]
    zones = zones.assign(store=_keys_for(conn, zones["code"].to_numpy(), unique_ids))
    zones = zones.drop_duplicates("store", keep="last")
    store_data.replace_timezones(conn, zones["store"].to_numpy(), zones["tz"].to_numpy(dtype=object))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(z for z in available_timezones() if len(z) <= MAX_TZ_LENGTH)
