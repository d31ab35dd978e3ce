"""Loading the three CSV files, and the optional closures.csv (SPEC 9), into the database (SPEC section 1).

Files are parsed first, outside any transaction; then everything is written in one short
transaction, so reports running meanwhile see the data before or after the load, never half of
it, and other writers (the API recording report jobs) wait only for the write itself. Bad rows
are rejected and counted, never guessed; a file that is not CSV text or misses a required column
is refused whole and leaves its table as it was, while the other files still load. Unchanged
files are skipped by fingerprint, and a poll file that only grew is read from where the last
load stopped.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError

from models import loads, poll_layout, retention, store_data, store_writes
from models.db import DEADLOCK_ATTEMPTS, is_deadlock, read_tx, write_tx
from services.ingest.csv_input import RefusedFileError, locate_inputs
from services.ingest.kinds import KINDS, FileKind, OpenPoll, Rows
from services.ingest.locks import LOCK_TIMEOUT_SECONDS, load_lock
from services.ingest.pieces import PIECE_BYTES, parse_in_pieces
from services.ingest.results import FileResult, LoadResult
from services.metrics import LOAD_DURATION, LOADS, ROWS_LOADED, ROWS_REJECTED
from services.ingest.sources import (
    INODE_MASK, Source, read_source, same_stat, unchanged_by_stat, wait_until_settled,
)

log = logging.getLogger(__name__)

# Called with the fraction of the load done (0 to 1) and what is being done.
Progress = Callable[[float, str], None]


@dataclass
class _Parsed:
    kind: FileKind
    source: Source
    result: FileResult
    rows: Rows


def load_directory(
    engine: Engine, directory: Path, settle_seconds: float = 0.0, max_wait_seconds: float | None = None,
    progress: Progress | None = None, lock_timeout: float = LOCK_TIMEOUT_SECONDS, retention_days: int = 0,
    piece_bytes: int = PIECE_BYTES,
) -> LoadResult:
    """Load whatever of the three files `directory` holds; all writes in one transaction.

    With `settle_seconds` > 0 (the running service) a file that changed less than that long ago
    is waited for, up to `max_wait_seconds` (default five settle times); one still changing then
    is left for the next load (status `unsettled`). LockTimeout if another load holds the load
    lock for longer than `lock_timeout` seconds. With `retention_days` > 0, polls older than that
    many days before the newest poll are then pruned in short batches (POLL_RETENTION_DAYS).
    A poll file is read and parsed in pieces of about `piece_bytes` (whole lines), so memory
    holds its valid rows as compact arrays, never the whole file as text.
    """
    started, started_at = time.monotonic(), datetime.now(timezone.utc)
    report = progress or (lambda _fraction, _what: None)
    directory = Path(directory)
    if not directory.is_dir():
        message = f"{directory} is not a directory"
        return LoadResult(files=[FileResult(kind=k, path=None, message=message) for k, kind in KINDS.items()
                                 if not kind.optional])
    paths = locate_inputs(directory, {k.name: k.file_names for k in KINDS.values()})
    max_wait = 5 * settle_seconds if max_wait_seconds is None else max_wait_seconds
    with load_lock(engine, lock_timeout):
        with read_tx(engine) as conn:
            previous = loads.previous_sources(conn)
        results: list[FileResult] = []
        parsed: list[_Parsed] = []
        for step, kind in enumerate(KINDS.values()):
            if kind.optional and paths[kind.name] is None:
                continue  # an optional file (closures.csv) that is not there: nothing to say
            report(step / (2 * len(KINDS)), f"reading {kind.name}")
            result = FileResult(kind=kind.name, path=str(paths[kind.name]) if paths[kind.name] else None)
            results.append(result)
            ready = _read_and_parse(kind, paths[kind.name], previous.get(kind.name), result, settle_seconds, max_wait,
                                    piece_bytes if kind.grows else None)
            if ready is not None:
                parsed.append(ready)
        load = LoadResult(files=results, changed=bool(parsed))
        # MySQL: the day partitions these polls go to (and today's, ahead of live polls) are made
        # first: partition DDL commits on its own, so never inside the load's transaction.
        poll_layout.prepare_days(engine, np.unique(np.concatenate(
            [poll_layout.days_of(ready.rows.values["ts_us"]) for ready in parsed if ready.kind.name == "polls"]
            or [np.zeros(0, dtype=np.int64)])))
        try:
            for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
                try:
                    with write_tx(engine) as conn:
                        for step, ready in enumerate(parsed):
                            report(0.5 + step / (2 * len(parsed)), f"writing {ready.kind.name}")
                            _write_file(conn, ready, previous.get(ready.kind.name))
                        loads.record_load(conn, _record(started_at, directory, load))
                        load.data_version = store_data.data_version(conn)
                    break
                except DBAPIError as exc:  # live writes meet the load on the same keys (SPEC 10)
                    if not is_deadlock(exc) or attempt == DEADLOCK_ATTEMPTS:
                        raise
                    log.info("load of %s was a deadlock victim (attempt %d): writing it again", directory, attempt)
                    time.sleep(0.05 * attempt)
        except Exception as exc:
            _record_failure(engine, started_at, directory, load, exc)
            LOADS.labels("failed").inc()
            raise
        if retention_days > 0:
            # After the load's own commit, in batches of their own: readers and the API's writes
            # wait at most for one batch, never for the whole prune.
            report(0.99, "pruning old polls")
            load.pruned = retention.prune_polls(engine, retention_days)
    report(1.0, "done")
    load.seconds = time.monotonic() - started
    _count(load)
    log.info(
        "load of %s finished in %.2fs: %s", directory, load.seconds,
        "; ".join(f"{f.kind} {f.status} ({f.rows_loaded} rows, {f.rejected} rejected)" for f in results)
        + (f"; {load.pruned} old polls pruned" if load.pruned else ""),
    )
    return load


def _count(load: LoadResult) -> None:
    LOADS.labels("changed" if load.changed else "unchanged").inc()
    LOAD_DURATION.observe(load.seconds)
    for result in load.files:
        if result.rows_loaded:
            ROWS_LOADED.labels(result.kind).inc(result.rows_loaded)
        if result.rejected:
            ROWS_REJECTED.labels(result.kind).inc(result.rejected)


def _read_and_parse(
    kind: FileKind, path: Path | None, previous: Row | None, result: FileResult,
    settle_seconds: float, max_wait: float, piece_bytes: int | None,
) -> _Parsed | None:
    """The file's valid rows, or None (the result says why: missing, unchanged, unsettled, refused)."""
    if path is None:
        result.message = f"no {kind.name} file"
        return None
    try:
        stat, result.waited_seconds = wait_until_settled(path, settle_seconds, max_wait)
        if stat is None:
            result.status = "unsettled"
            result.message = (f"{path.name} still changing after {result.waited_seconds:.1f}s: not loaded, "
                              "left for the next load")
            log.warning("%s", result.message)
            return None
        if result.waited_seconds > 0:
            log.info("%s: waited %.1fs for it to stop changing", path.name, result.waited_seconds)
        source = None if unchanged_by_stat(stat, previous) else read_source(kind.name, path, previous, kind.grows, stat)
        if source is None:
            result.status = "unchanged"
            result.message = f"{path.name} unchanged since the last load"
            return None
        if settle_seconds > 0 and not same_stat(path.stat(), stat):
            return _changed_while_read(result, path)
        rows, open_line = parse_in_pieces(path, source, kind.columns, kind.parse, result, piece_bytes, kind.as_bytes)
        if settle_seconds > 0 and not same_stat(path.stat(), stat):  # the pieces are a second read
            return _changed_while_read(result, path)
    except RefusedFileError as exc:
        return _refuse(result, str(exc))
    except OSError as exc:
        return _refuse(result, f"{path.name}: cannot be read: {exc.strerror or exc}")
    except Exception as exc:  # never let one unreadable file stop the others
        log.exception("%s could not be parsed", path)
        return _refuse(result, f"{path.name}: could not be read as CSV: {type(exc).__name__}: {exc}")
    if open_line is not None:
        result.warnings.append(f"line {open_line} has no line end yet: it is read again on the next load")
    return _Parsed(kind, source, result, rows)


def _changed_while_read(result: FileResult, path: Path) -> None:
    """Not loaded, and nothing counted: the file is left for the next load."""
    result.status = "unsettled"
    result.message = f"{path.name} changed while it was read: not loaded, left for the next load"
    _clear_counts(result)
    log.warning("%s", result.message)
    return None


def _clear_counts(result: FileResult) -> None:
    """What pieces read before the file was refused or changed is not loaded, so not counted."""
    result.rows_read = result.rows_loaded = result.rejected = 0
    result.rejections.clear()
    result.warnings.clear()


def _refuse(result: FileResult, message: str) -> None:
    _clear_counts(result)
    result.status, result.message = "refused", message[:1000]
    log.warning("refused %s", result.message)
    return None


def _write_file(conn: Connection, ready: _Parsed, previous: Row | None) -> None:
    source, result, rows = ready.source, ready.result, ready.rows
    if previous is not None and previous.open_store_key is not None and previous.open_ts_us is not None:
        # That poll came only from a last line that was still being written; the lines read now
        # include that line as it is now, so undo the old reading first.
        store_writes.delete_poll(conn, previous.open_store_key, previous.open_ts_us)
    keys = _keys_for(conn, rows.codes, rows.unique_ids)
    open_poll: OpenPoll | None = ready.kind.write(conn, keys, rows, result)
    result.status = "loaded"
    stat = source.stat
    loads.save_source(conn, {
        "kind": source.kind, "path": str(source.path), "size": source.size, "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns, "inode": stat.st_ino & INODE_MASK, "sha256": source.sha256,
        "complete_size": source.complete_size, "complete_sha256": source.complete_sha256,
        "rows": source.rows_before + result.rows_read - (1 if rows.open_row is not None else 0),
        "open_store_key": None if open_poll is None else open_poll[0],
        "open_ts_us": None if open_poll is None else open_poll[1],
        "loaded_at": datetime.now(timezone.utc),
    })
    result.message = (
        f"{source.path.name}: {result.rows_loaded} rows loaded"
        + (f" ({result.rows_new} new polls)" if ready.kind.grows else "")
        + f", {result.rejected} rejected"
        + (f" (waited {result.waited_seconds:.1f}s for the file to stop changing)" if result.waited_seconds > 0 else "")
    )


def _keys_for(conn: Connection, codes: np.ndarray, unique_ids: np.ndarray) -> np.ndarray:
    """Store keys of the rows (by their codes into `unique_ids`), creating new stores."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(unique_ids)))  # (linear: no sort of the rows)
    mapping = store_writes.ensure_stores(conn, unique_ids[used])
    keys_of_unique = np.full(len(unique_ids), -1, dtype=np.int64)
    keys_of_unique[used] = mapping.reindex(unique_ids[used]).to_numpy(dtype=np.int64)
    return keys_of_unique[codes]


def _record(started_at: datetime, directory: Path, load: LoadResult, error: str | None = None) -> loads.LoadRecord:
    return loads.LoadRecord(
        started_at=started_at, finished_at=datetime.now(timezone.utc), source_dir=str(directory),
        changed=load.changed and error is None, rows_loaded=sum(f.rows_loaded for f in load.files) if error is None else 0,
        rows_rejected=sum(f.rejected for f in load.files), files=[asdict(f) for f in load.files], error=error,
    )


def _record_failure(engine: Engine, started_at: datetime, directory: Path, load: LoadResult, exc: Exception) -> None:
    """Best effort: a failed load is recorded too, so /health can say so from any process."""
    error = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
    try:
        with write_tx(engine) as conn:
            loads.record_load(conn, _record(started_at, directory, load, error))
    except Exception as again:  # the database itself may be what failed
        log.error("could not record the failed load (%s)", again)
