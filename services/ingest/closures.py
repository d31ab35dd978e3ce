"""`closures.csv` (SPEC 9): judging its rows, and writing them as the snapshot of CSV closures.

Rows give local wall-clock datetimes in the store's zone. They are stored both as those wall
times and as UTC instants converted with the zone known at load time; whenever time zones load
again, the UTC instants of every CSV closure are converted again from the wall times, so a
closure always follows its store's current zone, as business hours do. Closures made through the
API name fixed instants and are never touched by a load.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from models import closures as closure_rows
from services.closures.local_time import local_to_utc_us, zone_names_of
from services.ingest.csv_input import Columns, RawTable
from services.ingest.parsing import parse_local_datetimes
from services.ingest.results import FileResult
from services.ingest.validate import RowValidator

log = logging.getLogger(__name__)

CLOSURES = "closures"
FILE_NAMES = ("closures.csv",)
COLUMNS: Columns = {
    "store_id": ("store_id",),
    "start_local": ("start_local",),
    "end_local": ("end_local",),
    "reason?": ("reason",),  # optional
}
MAX_REASON_CHARS = 200
MAX_CLOSURE_S = 366 * 86_400


def parse_closures(table: RawTable, result: FileResult) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(codes, unique store ids, values) of the valid rows: local_start_s, local_end_s, reason."""
    v = RowValidator(table)
    codes, unique_ids = v.store_ids()
    start, start_ok = parse_local_datetimes(v.frame["start_local"])
    v.check(start_ok, "bad start_local (expected YYYY-MM-DD HH:MM[:SS])", "start_local")
    end, end_ok = parse_local_datetimes(v.frame["end_local"])
    v.check(end_ok, "bad end_local (expected YYYY-MM-DD HH:MM[:SS])", "end_local")
    v.check(end > start, "end_local is not after start_local")
    v.check(end - start <= MAX_CLOSURE_S, "closure longer than 366 days")
    if "reason" in v.frame.columns:
        reason = v.frame["reason"].astype(str).str.strip().to_numpy(dtype=object)
    else:
        reason = np.full(len(start), "", dtype=object)
    v.check(np.array([len(r) <= MAX_REASON_CHARS for r in reason], dtype=bool),
            f"reason longer than {MAX_REASON_CHARS} characters")
    v.finish(result)
    keep = v.valid
    result.rows_loaded = int(keep.sum())
    reason = np.where(reason == "", None, reason).astype(object)
    return codes[keep], unique_ids, {"local_start_s": start[keep], "local_end_s": end[keep], "reason": reason[keep]}


def write_closures(conn: Connection, keys: np.ndarray, values: dict[str, np.ndarray]) -> int:
    """Replace the CSV closures with these rows (duplicate rows once), converted with the zones
    stored now (the load writes time zones before closures)."""
    frame = pd.DataFrame({"store_key": keys.astype(np.int64), **values}).drop_duplicates(
        ["store_key", "local_start_s", "local_end_s", "reason"])
    zones = zone_names_of(frame["store_key"].to_numpy(), closure_rows.store_zones(conn, frame["store_key"].to_numpy()))
    both = local_to_utc_us(np.concatenate([zones, zones]),
                           np.concatenate([frame["local_start_s"].to_numpy(), frame["local_end_s"].to_numpy()]))
    frame["start_us"], frame["end_us"] = both[: len(frame)], both[len(frame):]
    return closure_rows.replace_csv_closures(conn, frame)


def reconvert_csv_closures(conn: Connection) -> int:
    """After time zones changed: the UTC bounds of every CSV closure from its local wall times
    and its store's zone now. Returns how many closures moved."""
    frame = closure_rows.csv_closures_local(conn)
    if frame.empty:
        return 0
    keys = frame["store_key"].to_numpy(dtype=np.int64)
    zones = zone_names_of(keys, closure_rows.store_zones(conn, keys))
    both = local_to_utc_us(np.concatenate([zones, zones]), np.concatenate(
        [frame["local_start_s"].to_numpy(dtype=np.int64), frame["local_end_s"].to_numpy(dtype=np.int64)]))
    start, end = both[: len(frame)], both[len(frame):]
    moved = (start != frame["start_us"].to_numpy(dtype=np.int64)) | (end != frame["end_us"].to_numpy(dtype=np.int64))
    if moved.any():
        closure_rows.set_instants(conn, frame["closure_id"].to_numpy(dtype=object)[moved].tolist(),
                                  start[moved], end[moved])
        log.info("time zones changed: %d closures from closures.csv converted again", int(moved.sum()))
    return int(moved.sum())
