"""From database to report CSV: one snapshot read, the engine, an atomic file write.

`build` is the one entry point for report jobs: given the stored params it builds the
standard report (SPEC 2) or a range report (SPEC 5, services/reports/ranges.py). Reads go
through services/reports/inputs.py (one snapshot, or the last full read kept in memory).
"""
from __future__ import annotations

import io
import logging
import time
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from models.report_inputs import ReportInputs
from services.contract.reports import ReportRequest
from services.files import write_text_atomically
from services.ingest.parsing import format_instant
from services.reports.engine import REPORT_COLUMNS, compute_uptime
from services.reports.inputs import BuiltReport, InputsCache, NoDataError, ProgressCallback, read_inputs
from services.reports.ranges import build_range_report

__all__ = ["HEADER", "BuiltReport", "InputsCache", "NoDataError", "build", "build_report", "write_report_csv",
           "write_report_rows", "report_csv_text", "build_for_params"]

log = logging.getLogger(__name__)

HEADER = ["store_id", *REPORT_COLUMNS]


def build(
    engine: Engine,
    request: ReportRequest,
    cache: InputsCache | None = None,
    progress: ProgressCallback | None = None,
) -> BuiltReport:
    """Whatever report the request describes: the standard report, or a range report (SPEC 5)."""
    if request.is_range:
        return build_range_report(engine, request, cache, progress)
    return build_report(engine, request.as_of_us, request.store_ids, cache, progress)


def build_report(
    engine: Engine,
    as_of_us: int | None = None,
    store_ids: Sequence[str] | None = None,
    cache: InputsCache | None = None,
    progress: ProgressCallback | None = None,
) -> BuiltReport:
    report_progress = progress or (lambda _fraction: None)
    started = time.perf_counter()
    inputs = read_inputs(engine, as_of_us, store_ids, cache)
    read_done = time.perf_counter()
    report_progress(0.5)
    if inputs.latest_us is None:
        raise NoDataError("no polls have been loaded yet: load the CSV files first")
    now_us = inputs.latest_us if as_of_us is None else as_of_us
    frame = report_frame(inputs, now_us, store_ids)
    computed = time.perf_counter()
    report_progress(0.9)
    return BuiltReport(
        frame=frame,
        now_us=now_us,
        data_version=inputs.data_version,
        timings={"read": round(read_done - started, 4), "compute": round(computed - read_done, 4)},
        warnings=report_warnings(inputs, as_of_us, store_ids, frame),
    )


MAX_IDS_NAMED = 20


def report_warnings(
    inputs: ReportInputs, as_of_us: int | None, store_ids: Sequence[str] | None, frame: pd.DataFrame
) -> list[str]:
    """What the report could not honour: asked-for stores without polls, an as_of outside the data."""
    warnings: list[str] = []
    if store_ids is not None:
        missing = sorted(set(store_ids).difference(frame["store_id"].tolist()))
        if missing:
            named = ", ".join(missing[:MAX_IDS_NAMED])
            more = f" and {len(missing) - MAX_IDS_NAMED} more" if len(missing) > MAX_IDS_NAMED else ""
            warnings.append(f"unknown store_id (no polls at or before now), not in the report: {named}{more}")
    if as_of_us is not None and inputs.latest_us is not None:
        if as_of_us > inputs.latest_us:
            warnings.append(f"as_of {format_instant(as_of_us)} is after the newest poll "
                            f"({format_instant(inputs.latest_us)}): recent windows hold no new data")
        first = inputs.stores["first_poll_us"]
        if store_ids is None and len(first) and as_of_us < int(first.min()):
            warnings.append(f"as_of {format_instant(as_of_us)} is before the oldest poll "
                            f"({format_instant(int(first.min()))}): no store has data yet")
    return warnings


def report_frame(inputs: ReportInputs, now_us: int, store_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The report rows: engine output keyed by store_id, rounded, in code-point order.

    Rows: the stores with a poll not after now (of `store_ids`, if given).
    """
    stores = inputs.stores
    wanted = stores["first_poll_us"].to_numpy(dtype=np.int64) <= now_us
    if store_ids is not None:
        wanted &= stores["store_id"].isin(list(store_ids)).to_numpy()
    stores = stores[wanted]
    keys = stores["store"].to_numpy(dtype=np.int64)
    values = compute_uptime(inputs.polls, inputs.hours, inputs.zones, now_us, stores=keys, closures=inputs.closures)
    frame = values.reset_index(drop=True)
    frame.insert(0, "store_id", stores["store_id"].to_numpy(dtype=object))
    frame[REPORT_COLUMNS] = frame[REPORT_COLUMNS].round(2).clip(lower=0.0) + 0.0
    # Python's own string order is code-point order, whatever the database's collation.
    order = np.argsort(frame["store_id"].to_numpy(dtype=object), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def write_report_csv(frame: pd.DataFrame, path: Path) -> None:
    """The report CSV into `path`, atomically (services/files.py: the folder must exist)."""
    write_text_atomically(path, lambda out: write_report_rows(frame, out))


def write_report_rows(frame: pd.DataFrame, out: TextIO) -> None:
    """The report CSV (SPEC 2.5, or 5.2 for a range report: the frame's own columns) onto an
    open text stream."""
    _with_fast_decimals(frame).to_csv(out, index=False, float_format="%.15g", lineterminator="\n")


def _with_fast_decimals(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns already rounded to 2 decimals, as the text `%.15g` gives them, formatted
    by NumPy: pandas formats floats one Python call at a time (a third of a fresh report)."""
    changed = {}
    for column in frame.columns:
        values = frame[column].to_numpy()
        if values.dtype.kind != "f" or len(values) == 0:
            continue
        finite = np.isfinite(values)
        shown = values[finite]
        if np.signbit(shown).any() or (shown >= 1e12).any() or (np.round(shown, 2) != shown).any():
            continue  # not this simple shape: leave it to pandas
        cents = np.rint(shown * 100).astype(np.int64)
        whole, frac = (cents // 100).astype(str), cents % 100
        tail = np.where(frac == 0, "", np.where(frac % 10 == 0, np.char.add(".", (frac // 10).astype(str)),
                                                np.char.add(".", np.char.zfill(frac.astype(str), 2))))
        text = np.full(len(values), "", dtype=object)  # NaN: an empty field, as pandas writes it
        text[finite] = np.char.add(whole, tail)
        changed[column] = text
    return frame.assign(**changed) if changed else frame


def report_csv_text(frame: pd.DataFrame) -> str:
    """The report CSV exactly as `write_report_csv` writes it (shards merge these texts)."""
    out = io.StringIO()
    write_report_rows(frame, out)
    return out.getvalue()


def build_for_params(
    engine: Engine,
    params: Mapping[str, Any],
    store_ids: Sequence[str] | None = None,
    cache: InputsCache | None = None,
    progress: ProgressCallback | None = None,
) -> BuiltReport:
    """The one entry point background jobs use: build whatever report stored `params` describe
    (`ReportRequest.stored()`; InvalidInput for params that describe none).

    `store_ids`, when given, narrows the report to those stores (a shard); otherwise the
    params' own store list (None = every store) applies. Rows are sorted by store_id, so the
    shards of one report concatenate into the whole report.
    """
    request = ReportRequest.from_stored(params)
    if store_ids is not None:
        request = request.narrowed_to(tuple(store_ids))
    return build(engine, request, cache, progress)
