"""The reload thread: loads CSV_DIR at start-up and then every RELOAD_INTERVAL_SECONDS.

It runs beside the API so the service answers at once; a failed load (a locked file, the
database down) is logged and tried again at the next tick rather than killing the thread.
Every API process of a deployment runs one, but they never queue up behind each other: a
process that finds the load lock taken (another process is loading) skips its turn.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine

from services.ingest.loader import load_directory
from services.ingest.results import LoadResult
from services.ingest.locks import LockTimeout
from services.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass
class ReloadState:
    running: bool = False
    last_finished: datetime | None = None
    last_error: str | None = None
    skipped: int = 0  # turns skipped because another process was loading


class CsvReloadLoop:
    def __init__(
        self, engine: Engine, csv_dir: Path, interval_seconds: int, settle_seconds: float = 0.0, retention_days: int = 0,
    ) -> None:
        self.engine = engine
        self.retention_days = retention_days  # POLL_RETENTION_DAYS: prune after each load
        self.csv_dir = csv_dir
        self.interval_seconds = interval_seconds
        self.settle_seconds = settle_seconds  # wait for files still being written (SPEC 1)
        self.state = ReloadState()
        self._thread = Periodic("csv-reload", self._reload, lambda: self.interval_seconds)

    def start(self) -> None:
        self._thread.start()

    @property
    def first_load_pending(self) -> bool:
        """Started, and the first load has not finished yet (`/health` says "loading")."""
        return self._thread.started and self.state.last_finished is None

    def stop(self, timeout: float = 5.0) -> None:
        self._thread.stop(timeout)

    def _reload(self) -> bool:
        """One turn of the thread; False after the first when reloads are off."""
        self.run_once()
        if self.interval_seconds <= 0:
            log.info("RELOAD_INTERVAL_SECONDS is 0: no further reloads")
            return False
        return True

    def run_once(self) -> LoadResult | None:
        self.state.running = True
        try:
            result = load_directory(self.engine, self.csv_dir, settle_seconds=self.settle_seconds, lock_timeout=0,
                                    retention_days=self.retention_days)
            self.state.last_error = None
            if not result.ok:
                log.warning("reload of %s loaded nothing: %s", self.csv_dir,
                            "; ".join(f.message for f in result.files if f.message))
            return result
        except LockTimeout:
            self.state.skipped += 1
            log.info("reload of %s skipped: another process is loading", self.csv_dir)
            return None
        except Exception as exc:  # the thread must survive to try again next time
            self.state.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("reload of %s failed: %s", self.csv_dir, self.state.last_error)
            return None
        finally:
            self.state.running = False
            self.state.last_finished = datetime.now(timezone.utc)
