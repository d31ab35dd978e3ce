"""The report task: one plain function that runs one shard of a report from its id.

Run by a thread of an API process (threads) or a Celery worker (celery). The shard claims its
row, builds its stores' part of the report, saves the part and counts it in the same
transaction; the shard that brings the count to the total merges the parts and completes the
report. Each step is conditional on still holding the lease, so a shard that was given up on
(its heartbeat stopped) can never overwrite the work of the one that took over.
"""
from __future__ import annotations

import csv
import hashlib
import heapq
import json
import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models import report_jobs, report_tasks, store_data
from models.db import read_tx
from models.report_jobs import JobStatus
from services.jobs.leases import Leases, now_us
from services.jobs.outcome import report_finished
from services.jobs.storage import ReportStore
from services.reports.builder import InputsCache, NoDataError, build_for_params, report_csv_text
from services.errors import InvalidInput
from services.priority import report_priority

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
SAVE_RETRY_SECONDS = 30.0
CLAIM_RETRY_SECONDS = 60.0


class ReportWriteError(RuntimeError):
    pass


# Failures that another attempt would only repeat: the report fails at once.
_FINAL = (NoDataError, InvalidInput, ReportWriteError)


@dataclass
class JobContext:
    engine: Engine
    store: ReportStore
    leases: Leases
    cache: InputsCache
    leases_hold_queued: bool = False  # queued shards are held by this process's heartbeat (threads)


def cache_key(params: dict[str, Any], data_version: int) -> str:
    """Same parameters on the same data give the same report."""
    normal = dict(params)
    if normal.get("store_ids") is not None:
        normal["store_ids"] = sorted(set(normal["store_ids"]))
    blob = json.dumps({"params": normal, "version": data_version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def run_report_task(ctx: JobContext, report_id: str, shard: int) -> None:
    """Run shard `shard` of report `report_id`, if nobody else holds it and it is not done."""
    owner = ctx.leases.owner
    task = _claim(ctx, report_id, shard, owner)
    if task is None:
        log.debug("report %s shard %d: done or held elsewhere", report_id, shard)
        return
    started = time.perf_counter()
    try:
        report = report_jobs.get(ctx.engine, report_id)
        if report is None or report.status not in report_jobs.UNFINISHED:
            return
        params = json.loads(report.params)
        if _reuse(ctx, report_id, params):
            return
        if task.has_result:  # saved by an attempt that died before merging
            done, total = report_tasks.shard_count(ctx.engine, report_id)
        else:
            with report_priority.report():  # live work of this process yields meanwhile
                built = build_for_params(
                    ctx.engine, params, task.store_ids, ctx.cache,
                    progress=lambda f: report_tasks.set_progress(ctx.engine, task.id, owner, f),
                )
            part = zlib.compress(report_csv_text(built.frame).encode("utf-8"), 6)
            saved, done, total = report_tasks.store_result(
                ctx.engine, task, owner, part, built.data_version, built.now_us, built.warnings
            )
            if not saved:
                log.warning("report %s shard %d: lease lost, result dropped", report_id, shard)
                return
            log.info("report %s shard %d/%d: %d stores in %.2fs", report_id, shard + 1, total, len(built.frame),
                     time.perf_counter() - started)
        if done >= total:
            _merge(ctx, report_id, params)
        report_tasks.complete(ctx.engine, task.id, owner)
    except Exception as exc:  # every failure must end the attempt, whatever raised it
        _attempt_failed(ctx, task, exc)


def _claim(ctx: JobContext, report_id: str, shard: int, owner: str) -> report_tasks.Claimed | None:
    """Claim the shard, waiting out a database outage. A shard handed to this process's pool is
    held by this process's heartbeat until it is claimed, so giving up here would strand it; a
    worker's shard (held by the broker's lease) is given back after CLAIM_RETRY_SECONDS and the
    lease sweep re-queues it."""
    deadline = None if ctx.leases_hold_queued else time.monotonic() + CLAIM_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            return report_tasks.claim(ctx.engine, report_id, shard, owner, now_us(), ctx.leases.lease_us)
        except DBAPIError as exc:
            if deadline is not None and time.monotonic() > deadline:
                raise
            log.warning("report %s shard %d: cannot claim it yet (%s); trying again in %.1fs",
                        report_id, shard, failure_message(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _merge(ctx: JobContext, report_id: str, params: dict[str, Any]) -> None:
    """The shards' rows under one header, in store_id order: each shard's are (it is a range of
    store keys, runner._plan), so a k-way merge on the first field puts them together."""
    parts = report_tasks.results(ctx.engine, report_id)
    texts = [zlib.decompress(part.blob).decode("utf-8") for part in parts if part.blob is not None]
    if len(texts) != len(parts):
        raise RuntimeError(f"report {report_id}: {len(parts) - len(texts)} shard(s) counted but not saved")
    header = texts[0].partition("\n")[0]
    rows = merge_rows_by_store_id([text.partition("\n")[2] for text in texts])
    file_name = f"report_{report_id}.csv"
    try:
        ctx.store.save(file_name, header + "\n" + rows)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the report file: {exc.strerror or exc}") from exc
    versions = {part.data_version or 0 for part in parts}
    if len(versions) > 1:
        log.warning("report %s: a load committed between its shards (data versions %s)", report_id, sorted(versions))
    version = max(versions)
    report_finished(
        ctx.engine, report_id, JobStatus.COMPLETE, file_name=file_name, row_count=rows.count("\n"),
        data_version=version, now_us=max(part.now_us or 0 for part in parts),
        cache_key=cache_key(params, version) if len(versions) == 1 else None, timings={"shards": len(parts)},
        warnings=json.dumps(list(dict.fromkeys(w for part in parts for w in part.warnings))),
    )


def merge_rows_by_store_id(bodies: list[str]) -> str:
    """CSV bodies (rows without a header, each sorted by its first field, the store_id) merged
    into one sorted body. Python compares strings by code point, the report's order (SPEC 4)."""
    if len(bodies) == 1:
        return bodies[0]
    assert all(body.endswith("\n") for body in bodies if body), "a shard's rows end with a line end"
    # Only "\n" ends a row (str.splitlines would also cut at characters a store_id may hold).
    streams = [[line + "\n" for line in body.split("\n")[:-1]] for body in bodies if body]
    return "".join(heapq.merge(*streams, key=lambda line: next(csv.reader([line]))[0]))


def _reuse(ctx: JobContext, report_id: str, params: dict[str, Any]) -> bool:
    with read_tx(ctx.engine) as conn:
        version = store_data.data_version(conn)
    cached = report_jobs.find_cached(ctx.engine, cache_key(params, version))
    if cached is None or not cached.file_name or not ctx.store.exists(cached.file_name):
        return False
    report_finished(
        ctx.engine, report_id, JobStatus.COMPLETE, file_name=cached.file_name, row_count=cached.row_count or 0,
        data_version=version, now_us=cached.now_us, cache_key=cached.cache_key,
        timings={"total": 0.0, "reused_from": cached.id}, warnings=cached.warnings,
    )
    log.info("report %s reuses the result of %s (same parameters, same data)", report_id, cached.id)
    return True


def _attempt_failed(ctx: JobContext, task: report_tasks.Claimed, exc: Exception) -> None:
    """Retry later (the sweep re-queues it) or, after MAX_ATTEMPTS or a final error, fail the report.
    If the database is down, keep trying to record it for a while; the lease runs out regardless."""
    message = failure_message(exc)
    final = isinstance(exc, _FINAL) or task.attempts >= MAX_ATTEMPTS
    log.error("report %s shard %d attempt %d failed: %s", task.report_id, task.shard, task.attempts, message,
              exc_info=not isinstance(exc, (*_FINAL, DBAPIError)))
    deadline = time.monotonic() + SAVE_RETRY_SECONDS
    delay = 0.5
    while True:
        try:
            if final:
                if task.attempts >= MAX_ATTEMPTS and not isinstance(exc, _FINAL):
                    message = f"gave up after {task.attempts} attempts: {message}"
                report_finished(ctx.engine, task.report_id, JobStatus.FAILED, error=message)
            else:
                retry_at = now_us() + min(2 ** task.attempts, 30) * 1_000_000
                report_tasks.release_for_retry(ctx.engine, task.id, ctx.leases.owner, message, retry_at)
            return
        except DBAPIError as db_exc:
            if time.monotonic() > deadline:
                log.error("could not record the failure of report %s: %s", task.report_id, db_exc.orig)
                return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError):
        detail = str(exc.orig) if exc.orig is not None else type(exc).__name__
        return f"database error: {detail}"[:500]
    if isinstance(exc, _FINAL):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"[:500]
