"""Reading a report's inputs: one snapshot of the database, or the last full read in memory.

The service keeps the inputs of its latest full reads in memory, keyed by data version and
window, so that repeated reports on unchanged data skip the database entirely.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pandas as pd
from sqlalchemy import Engine

from models import report_inputs, store_data
from models.db import read_tx
from models.report_inputs import ReportInputs
from services.errors import NotFound
from services.ingest.parsing import format_instant
from services.reports.engine import LOOKBACK_US

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]


class NoDataError(NotFound):
    """There are no polls to report on (nothing loaded yet)."""


@dataclass
class BuiltReport:
    frame: pd.DataFrame  # the CSV's columns (HEADER, or ranges.RANGE_HEADER), rounded, sorted by store_id
    now_us: int  # the report's now; for a range report, its `to`
    data_version: int
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. asked-for stores without polls
    from_us: int | None = None  # a range report's start


class InputsCache:
    """The last few full-database reads (most recent first). Each serves every later report on
    the same data version whose window it covers (same or later now), so a warm service skips
    the database. Two entries: the standard report's 8 days and one longer range (the page's
    per-store view) do not evict each other. When only live batches (SPEC 10) came since, an
    entry is extended with their polls (models.report_inputs.extend_with_arrivals) instead of
    being read again: live polls change the data version every few seconds."""

    def __init__(self, capacity: int = 2) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._entries: list[ReportInputs] = []

    def get(self, version: int, as_of_us: int | None, lookback_us: int = LOOKBACK_US) -> ReportInputs | None:
        with self._lock:
            for inputs in self._entries:
                if inputs.data_version != version or inputs.latest_us is None:
                    continue
                now = inputs.latest_us if as_of_us is None else as_of_us
                if inputs.covers(now, lookback_us):
                    self._entries = [inputs, *(e for e in self._entries if e is not inputs)]
                    return inputs
        return None

    def behind(self, version: int, live: int, lookback_us: int) -> ReportInputs | None:
        """The newest entry that differs from data version `version` only by live batches
        before `live` (so it can be extended), whose look-back is at least `lookback_us`."""
        with self._lock:
            for inputs in self._entries:
                if (inputs.data_version - inputs.live_version == version - live and inputs.live_version < live
                        and inputs.latest_us is not None and inputs.lo_us is not None
                        and inputs.latest_us - inputs.lo_us >= lookback_us):
                    return inputs
        return None

    def put(self, inputs: ReportInputs) -> None:
        with self._lock:
            kept = [e for e in self._entries if e.data_version == inputs.data_version and e is not inputs]
            self._entries = [inputs, *kept][: self._capacity]


def read_inputs(
    engine: Engine, as_of_us: int | None, store_ids: Sequence[str] | None, cache: InputsCache | None,
    lookback_us: int = LOOKBACK_US,
) -> ReportInputs:
    """Polls of [end − lookback_us, …] and the rest, from memory when the cache covers them (or
    covers them once extended by the live batches since), else from the database.

    `as_of_us` is the end (default: the newest poll). A read for given stores reads just them
    (through a per-store key: models/poll_layout.py) and is not cached."""
    if cache is not None:
        with read_tx(engine) as conn:
            version, live = store_data.data_version(conn), store_data.live_version(conn)
        cached = cache.get(version, as_of_us, lookback_us)
        if cached is not None:
            log.debug("report inputs served from memory (data version %d)", version)
            return cached
        extended = _extended(engine, cache, version, live, as_of_us, lookback_us)
        if extended is not None:
            return extended
    with read_tx(engine) as conn:
        inputs = report_inputs.read_report_inputs(conn, as_of_us, lookback_us, store_ids)
    if cache is not None and store_ids is None and inputs.hi_us == inputs.latest_us:
        cache.put(inputs)
    return inputs


def _extended(engine: Engine, cache: InputsCache, version: int, live: int, as_of_us: int | None,
              lookback_us: int) -> ReportInputs | None:
    """A cached read brought up to the live batches committed since, when that is possible."""
    stale = cache.behind(version, live, lookback_us)
    if stale is None:
        return None
    with read_tx(engine) as conn:
        extended = report_inputs.extend_with_arrivals(conn, stale)
    if extended is None or extended.latest_us is None:
        log.info("report inputs: live arrivals since batch %d are gone or a load came: reading again",
                 stale.live_version)
        return None
    cache.put(extended)
    now = extended.latest_us if as_of_us is None else as_of_us
    if not extended.covers(now, lookback_us):
        return None
    log.debug("report inputs extended by live batches %d..%d", stale.live_version + 1, extended.live_version)
    return extended


def missing_store_warnings(store_ids: Sequence[str] | None, found: pd.Series, end_us: int) -> list[str]:
    """Asked-for stores that get no row because they have no poll up to the report's end."""
    if store_ids is None:
        return []
    missing = sorted(set(store_ids) - set(found.tolist()))
    if not missing:
        return []
    shown = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
    return [f"unknown store_id (no polls at or before {format_instant(end_us)}), not in the report: {shown}"]
