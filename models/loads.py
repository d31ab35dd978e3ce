"""Load bookkeeping: what each input file looked like when it was last loaded, and each load run.

The fingerprint lets a reload skip an unchanged file, read only the appended tail of a poll file
that grew, and undo the poll of a last line that was still being written. What a load stores
about itself is bounded, so that bookkeeping can never fail the load it describes.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Connection, Integer, Row, String, Text, delete, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros
from models.tables import DataLoad

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 16_000  # well under MySQL's TEXT (64 KB), whatever the characters
MAX_TEXT_CHARS = 500  # any one message, path or reason kept about a load
MAX_ITEMS_KEPT = 10  # rejections and warnings kept per file (the CLI shows up to 100)
# The `source_dir` of a data_loads row that records a closure made or removed through the API
# (models/closures.py): it moves the data version like a load, but is not a load of files.
CLOSURE_CHANGE_SOURCE = "api:closures"


class LoadedSource(Base):
    """The last loaded version of the file of each kind (polls, hours, zones)."""

    __tablename__ = "loaded_sources"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    # A replacement with the same size and mtime (cp -p, rsync -t, tar) still changes these two.
    ctime_ns: Mapped[int] = mapped_column(BigInteger)
    inode: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Bytes up to the last line end, and their hash: a grown file is read again from there.
    complete_size: Mapped[int] = mapped_column(BigInteger)
    complete_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger)
    # The poll that only the unterminated last line added: removed if that line changes.
    open_store_key: Mapped[Optional[int]] = mapped_column(Integer)
    open_ts_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    loaded_at: Mapped[datetime] = mapped_column(EpochMicros)


def previous_sources(conn: Connection) -> dict[str, Row]:
    """The fingerprint row (columns of LoadedSource) of each kind loaded before."""
    return {row.kind: row for row in conn.execute(select(LoadedSource.__table__))}


def save_source(conn: Connection, values: dict[str, Any]) -> None:
    """Replace the fingerprint of `values["kind"]`."""
    conn.execute(delete(LoadedSource).where(LoadedSource.kind == values["kind"]))
    conn.execute(insert(LoadedSource).values(**values))


@dataclass
class LoadRecord:
    started_at: datetime
    finished_at: datetime
    source_dir: str
    changed: bool
    rows_loaded: int
    rows_rejected: int
    files: list[dict[str, Any]]
    error: str | None = None


def record_load(conn: Connection, record: LoadRecord) -> None:
    """Insert the run's row; a summary the database refuses is replaced by a minimal one."""
    values = {
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "source_dir": _clip(record.source_dir),
        "changed": record.changed,
        "rows_loaded": record.rows_loaded,
        "rows_rejected": record.rows_rejected,
        "summary": bounded_summary(record.files, record.error),
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(DataLoad).values(**values))
    except DBAPIError as exc:
        log.error("could not record the load's summary (%s): recording a short one", exc.orig)
        values["summary"] = json.dumps({"files": [], "error": record.error, "note": "summary not stored"})
        conn.execute(insert(DataLoad).values(**values))


def bounded_summary(files: list[dict[str, Any]], error: str | None = None) -> str:
    """JSON of the per-file results, every text clipped and the whole kept under the limit."""
    kept = []
    for f in files:
        item = {k: (_clip(v) if isinstance(v, str) else v) for k, v in f.items()}
        item["rejections"] = [
            {"line": r["line"], "reason": _clip(r["reason"], 200)} for r in f.get("rejections", [])[:MAX_ITEMS_KEPT]
        ]
        item["warnings"] = [_clip(w, 200) for w in f.get("warnings", [])[:MAX_ITEMS_KEPT]]
        kept.append(item)
    summary = json.dumps({"files": kept, "error": _clip(error) if error else None})
    if len(summary) > MAX_SUMMARY_CHARS:
        for item in kept:
            item["rejections"], item["warnings"] = [], []
        summary = json.dumps({"files": kept, "error": _clip(error) if error else None})
    return summary[:MAX_SUMMARY_CHARS]


def parse_summary(summary: str | None) -> dict[str, Any]:
    """The stored summary as {"files": [...], "error": ...}; older rows stored just the list."""
    try:
        value = json.loads(summary or "{}")
    except ValueError:
        return {"files": [], "error": None}
    if isinstance(value, list):
        return {"files": value, "error": None}
    if not isinstance(value, dict):
        return {"files": [], "error": None}
    return {"files": value.get("files", []), "error": value.get("error")}


def newest_load(conn: Connection) -> Row | None:
    """The row (columns of DataLoad) of the newest load of files, whatever process ran it."""
    return conn.execute(select(DataLoad.__table__).where(DataLoad.source_dir != CLOSURE_CHANGE_SOURCE)
                        .order_by(DataLoad.id.desc()).limit(1)).first()


def _clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
