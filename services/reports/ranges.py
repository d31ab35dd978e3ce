"""Range reports, incident lists and one store's availability (SPEC 5) from the database.

Each reads one snapshot (or the cached full read) through services/reports/inputs.py and
runs services/reports/availability.py over the stores that have a poll not after `to`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from models import store_data
from models.db import read_tx
from models.report_inputs import ReportInputs
from services.access.principal import ANONYMOUS, Principal, may_see_store, require
from services.contract.reports import RangeRequest, ReportRequest
from services.contract.store_ids import clean_store_id
from services.errors import NotFound
from services.reports.answers import AnswerCache
from services.reports.availability import RANGE_COLUMNS, RANGE_LOOKBACK_US, RangeResult, compute_range
from services.reports.inputs import (
    BuiltReport, InputsCache, NoDataError, ProgressCallback, missing_store_warnings, read_inputs,
)
from services.reports.timezones import resolve_zone

RANGE_HEADER = ["store_id", *RANGE_COLUMNS]
INCIDENT_HEADER = ["store_id", "start", "end", "minutes"]


class StoreNotFound(NotFound):
    """The store has no poll not after the range's end (SPEC 5.2: 404)."""


@dataclass(frozen=True)
class RangeData:
    """A computed range: the result keyed by store key, and key → store_id of its rows."""

    result: RangeResult
    store_ids: pd.Series  # store_id by store key, in the order of result.totals
    zones: pd.Series  # the zone each store's local times use (SPEC 2.3), by store key
    from_us: int
    to_us: int
    data_version: int
    warnings: list[str]
    closures: pd.DataFrame  # store (key), start_us, end_us, reason: the closures the range could meet


def compute_range_data(
    engine: Engine, spec: ReportRequest, cache: InputsCache | None = None, with_days: bool = False,
) -> RangeData:
    """Resolve the range against the data's now, read [from − 24 h, to] and compute it.
    Raises InvalidRange for a range that resolves to none, NoDataError before any load."""
    with read_tx(engine) as conn:
        latest = store_data.latest_poll_us(conn)
    if latest is None:
        raise NoDataError("no polls have been loaded yet: load the CSV files first")
    from_us, to_us = spec.resolve_range(latest)
    inputs = read_inputs(engine, to_us, spec.store_ids, cache, lookback_us=to_us - from_us + RANGE_LOOKBACK_US)
    stores = inputs.stores
    wanted = stores["first_poll_us"].to_numpy(dtype=np.int64) <= to_us
    if spec.store_ids is not None:
        wanted &= stores["store_id"].isin(list(spec.store_ids)).to_numpy()
    stores = stores[wanted]
    keys = stores["store"].to_numpy(dtype=np.int64)
    polls, hours, zones, closures = _only(inputs, keys) if len(keys) < len(inputs.stores) // 2 else (
        inputs.polls, inputs.hours, inputs.zones, inputs.closures)
    result = compute_range(polls, hours, zones, from_us, to_us, stores=keys, with_days=with_days, closures=closures)
    ids = pd.Series(stores["store_id"].to_numpy(dtype=object), index=keys)
    given = pd.Series(zones["tz"].to_numpy(dtype=object), index=zones["store"].to_numpy())
    named = given[~given.index.duplicated(keep="last")].reindex(keys)
    zone_names = pd.Series([resolve_zone(z) for z in named.to_numpy()], index=keys, dtype=object)
    return RangeData(result, ids, zone_names, from_us, to_us, inputs.data_version,
                     missing_store_warnings(spec.store_ids, stores["store_id"], to_us), closures)


def _only(inputs: ReportInputs, keys: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The inputs of just these stores (a few stores out of a cached full read)."""
    def pick(frame: pd.DataFrame) -> pd.DataFrame:
        column = frame["store"].to_numpy()
        # One store (the availability endpoint) over millions of cached polls: a plain
        # comparison is several times faster than a hash lookup per row.
        return frame[column == keys[0] if len(keys) == 1 else np.isin(column, keys)]
    return pick(inputs.polls), pick(inputs.hours), pick(inputs.zones), pick(inputs.closures)


def build_range_report(
    engine: Engine, spec: ReportRequest, cache: InputsCache | None = None, progress: ProgressCallback | None = None
) -> BuiltReport:
    """The range report CSV rows (RANGE_HEADER), rounded to 2 decimals, in code-point order."""
    started = time.perf_counter()
    data = compute_range_data(engine, spec, cache)
    if progress is not None:
        progress(0.9)
    totals = data.result.totals
    frame = totals.reset_index(drop=True)
    frame.insert(0, "store_id", data.store_ids.to_numpy(dtype=object))
    hours = ["business_hours", "uptime_hours", "downtime_hours", "uptime_percent"]
    frame[hours] = frame[hours].round(2).clip(lower=0.0) + 0.0
    frame = _sorted_by_id(frame, "store_id")
    return BuiltReport(frame=frame[RANGE_HEADER], now_us=data.to_us, data_version=data.data_version,
                       timings={"total": round(time.perf_counter() - started, 4)},
                       warnings=data.warnings, from_us=data.from_us)


def incidents_frame(data: RangeData) -> pd.DataFrame:
    """store_id, start, end (ISO-8601 Z, nearest second), minutes (2 decimals), sorted by
    store_id then start."""
    incidents = data.result.incidents
    frame = pd.DataFrame({
        "store_id": data.store_ids.reindex(incidents["store"].to_numpy()).to_numpy(dtype=object),
        "start": format_instants(incidents["start_us"].to_numpy()),
        "end": format_instants(incidents["end_us"].to_numpy()),
        "minutes": incidents["minutes"].to_numpy().round(2) + 0.0,
        "_start_us": incidents["start_us"].to_numpy(),
    })
    rank = _code_point_rank(frame["store_id"].to_numpy(dtype=object))
    order = np.lexsort((frame["_start_us"].to_numpy(), rank))
    return frame.iloc[order][INCIDENT_HEADER].reset_index(drop=True)


def store_availability(engine: Engine, store_id: str, spec: RangeRequest, cache: InputsCache | None = None,
                       principal: Principal = ANONYMOUS, answers: AnswerCache | None = None) -> dict[str, Any]:
    """The JSON of GET /stores/<store_id>/availability (SPEC 5.2); the caller's same question on
    the same data version is answered from `answers`.

    Another tenant's store is answered exactly like a store without polls (SPEC 8: a 404), after
    the same work, so neither the message nor the time tells an owner that the store exists."""
    require(principal, "availability")
    store_id = clean_store_id(store_id)
    asked = (principal, store_id, spec.from_us, spec.to_us, spec.last_hours)
    if answers is not None:
        with read_tx(engine) as conn:
            version = store_data.data_version(conn)
        known = answers.get(asked, version)
        if known is not None:
            return known
    wanted = ReportRequest.of(store_ids=(store_id,), from_us=spec.from_us, to_us=spec.to_us, last_hours=spec.last_hours)
    data = compute_range_data(engine, wanted, cache, with_days=True)
    if len(data.store_ids) == 0 or not may_see_store(principal, store_id):
        raise StoreNotFound(f"store {store_id} has no polls up to {format_instants(np.array([data.to_us]))[0]}")
    answer = _availability_answer(data, store_id)
    if answers is not None:
        answers.put(asked, data.data_version, answer)
    return answer


def _availability_answer(data: RangeData, store_id: str) -> dict[str, Any]:
    key = int(data.store_ids.index[0])
    row = data.result.totals.loc[key]
    incidents = incidents_frame(data)
    days = data.result.days
    days = days[days["store"] == key] if days is not None else pd.DataFrame()
    percent = float(row["uptime_percent"])
    return {
        "store_id": store_id,
        "timezone": data.zones.loc[key],
        "from": format_instants(np.array([data.from_us]))[0],
        "to": format_instants(np.array([data.to_us]))[0],
        "business_hours": _num(row["business_hours"]),
        "uptime_hours": _num(row["uptime_hours"]),
        "downtime_hours": _num(row["downtime_hours"]),
        "uptime_percent": None if np.isnan(percent) else _num(percent),
        "incidents": [{"start": s, "end": e, "minutes": _num(m)}
                      for s, e, m in zip(incidents["start"], incidents["end"], incidents["minutes"])],
        "days": [{"date": d.isoformat(), "business_hours": _num(b), "uptime_hours": _num(u), "downtime_hours": _num(w)}
                 for d, b, u, w in zip(days["date"], days["business_hours"], days["uptime_hours"],
                                       days["downtime_hours"])],
        "closed_hours": _num(row["closed_hours"]),
        "closures": closures_in_range(data, key),
    }


def closures_in_range(data: RangeData, key: int) -> list[dict[str, Any]]:
    """The store's closures that overlap [from, to), clipped to it, by start (SPEC 9)."""
    frame = data.closures
    start = frame["start_us"].to_numpy(dtype=np.int64)
    end = frame["end_us"].to_numpy(dtype=np.int64)
    mine = (frame["store"].to_numpy() == key) & (end > data.from_us) & (start < data.to_us)
    start, end = np.maximum(start[mine], data.from_us), np.minimum(end[mine], data.to_us)
    reasons = frame["reason"].to_numpy(dtype=object)[mine]
    order = np.lexsort((end, start))
    return [{"start": s, "end": e, "reason": r if isinstance(r, str) else None}
            for s, e, r in zip(format_instants(start[order]), format_instants(end[order]), reasons[order])]


def _num(value: float) -> float:
    return round(float(value), 2) + 0.0


def format_instants(us: np.ndarray) -> np.ndarray:
    """Epoch µs (float) as ISO-8601 UTC with Z, rounded to the nearest second."""
    seconds = np.floor(np.asarray(us, dtype=np.float64) / 1e6 + 0.5).astype(np.int64)
    return pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)


def _code_point_rank(ids: np.ndarray) -> np.ndarray:
    """Rank of each id in Python's string order (code points), whatever the database says."""
    unique = sorted(set(ids.tolist()))
    return pd.Index(unique).get_indexer(ids)


def _sorted_by_id(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    order = np.argsort(frame[column].to_numpy(dtype=object), kind="stable")
    return frame.iloc[order].reset_index(drop=True)
