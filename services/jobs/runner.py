"""Background report jobs: a thread pool in front of the report builder.

The database holds each job's state, so a report id outlives the process; progress while a
job runs is kept in memory (it changes too often to be worth a write). A job whose parameters
and data version match a finished report reuses that report's file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from models import report_jobs, store_data
from models.db import read_tx
from models.tables import Report
from services.reports.builder import InputsCache, NoDataError, build_report, write_report_csv

log = logging.getLogger(__name__)

FAILURE_SAVE_RETRY_SECONDS = 600


@dataclass(frozen=True)
class ReportRequest:
    store_ids: tuple[str, ...] | None = None
    as_of_us: int | None = None

    def to_params(self) -> dict[str, Any]:
        return {"store_ids": list(self.store_ids) if self.store_ids is not None else None, "as_of_us": self.as_of_us}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ReportRequest:
        ids = params.get("store_ids")
        return cls(tuple(ids) if ids is not None else None, params.get("as_of_us"))

    def cache_key(self, data_version: int) -> str:
        ids = sorted(set(self.store_ids)) if self.store_ids is not None else None
        blob = json.dumps({"ids": ids, "as_of": self.as_of_us, "version": data_version}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


class ReportRunner:
    def __init__(self, engine: Engine, report_dir: Path, workers: int, cache: InputsCache | None = None) -> None:
        self.engine = engine
        self.report_dir = report_dir
        self.cache = cache if cache is not None else InputsCache()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="report")
        self._progress: dict[str, float] = {}
        self._lock = threading.Lock()

    def submit(self, request: ReportRequest, api_key_id: str | None = None) -> Report:
        report_id = secrets.token_urlsafe(16)
        report = report_jobs.create(self.engine, report_id, request.to_params(), api_key_id)
        self._start(report_id, request)
        log.info("report %s queued (%s)", report_id, _describe(request))
        return report

    def _start(self, report_id: str, request: ReportRequest) -> None:
        with self._lock:
            self._progress[report_id] = 0.0
        self._executor.submit(self._run, report_id, request)

    def progress(self, report_id: str) -> float | None:
        with self._lock:
            return self._progress.get(report_id)

    def recover(self) -> int:
        """Re-run the reports a previous process left pending or running."""
        stale = report_jobs.unfinished(self.engine)
        for report in stale:
            report_jobs.mark_requeued(self.engine, report.id)
            self._start(report.id, ReportRequest.from_params(json.loads(report.params)))
        if stale:
            log.warning("re-running %d report(s) left unfinished by a previous process", len(stale))
        return len(stale)

    def shutdown(self, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _set_progress(self, report_id: str, fraction: float) -> None:
        with self._lock:
            self._progress[report_id] = fraction

    def _run(self, report_id: str, request: ReportRequest) -> None:
        started = time.perf_counter()
        try:
            report_jobs.mark_running(self.engine, report_id)
            with read_tx(self.engine) as conn:
                version = store_data.data_version(conn)
            key = request.cache_key(version)
            if self._reuse(report_id, key):
                return
            built = build_report(
                self.engine, request.as_of_us, request.store_ids, self.cache,
                progress=lambda f: self._set_progress(report_id, f),
            )
            file_name = f"report_{report_id}.csv"
            write_started = time.perf_counter()
            try:
                write_report_csv(built.frame, self.report_dir / file_name)
            except OSError as exc:
                raise ReportWriteError(f"cannot write the report file: {exc.strerror or exc}") from exc
            built.timings["write"] = round(time.perf_counter() - write_started, 4)
            built.timings["total"] = round(time.perf_counter() - started, 4)
            report_jobs.mark_complete(
                self.engine, report_id, file_name=file_name, row_count=len(built.frame),
                data_version=built.data_version, now_us=built.now_us,
                cache_key=key if built.data_version == version else None, timings=built.timings,
            )
            log.info("report %s complete: %d stores in %.2fs %s", report_id, len(built.frame),
                     built.timings["total"], built.timings)
        except Exception as exc:  # every failure must end the job, whatever raised it
            message = _failure_message(exc)
            log.error("report %s failed: %s", report_id, message, exc_info=not isinstance(exc, _EXPECTED))
            self._save_failure(report_id, message)
        finally:
            with self._lock:
                self._progress.pop(report_id, None)

    def _reuse(self, report_id: str, key: str) -> bool:
        cached = report_jobs.find_cached(self.engine, key)
        if cached is None or not cached.file_name or not (self.report_dir / cached.file_name).is_file():
            return False
        report_jobs.mark_complete(
            self.engine, report_id, file_name=cached.file_name, row_count=cached.row_count or 0,
            data_version=cached.data_version or 0, now_us=cached.now_us or 0, cache_key=key,
            timings={"total": 0.0, "reused_from": cached.id},
        )
        log.info("report %s reuses the result of %s (same parameters, same data)", report_id, cached.id)
        return True

    def _save_failure(self, report_id: str, message: str) -> None:
        """Record the failure, waiting for the database to come back if it is down."""
        deadline = time.monotonic() + FAILURE_SAVE_RETRY_SECONDS
        delay = 1.0
        while True:
            try:
                report_jobs.mark_failed(self.engine, report_id, message)
                return
            except DBAPIError as exc:
                if time.monotonic() > deadline:
                    log.error("could not record the failure of report %s: %s", report_id, exc)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 30.0)


class ReportWriteError(RuntimeError):
    pass


_EXPECTED = (NoDataError, ReportWriteError, DBAPIError)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, DBAPIError):
        detail = str(exc.orig) if exc.orig is not None else type(exc).__name__
        return f"database error: {detail}"[:500]
    if isinstance(exc, (NoDataError, ReportWriteError)):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"[:500]


def _describe(request: ReportRequest) -> str:
    stores = "all stores" if request.store_ids is None else f"{len(request.store_ids)} store(s)"
    return stores + (f", as_of={request.as_of_us}" if request.as_of_us is not None else "")
