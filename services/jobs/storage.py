"""Where finished report CSVs live: files in REPORT_DIR (threads) or the database (celery).

Every process of a deployment serves every report: with threads they share REPORT_DIR on the
machine that runs them; with celery the CSV is stored, zlib-compressed, in the database.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from models import report_tasks
from services.files import write_text_atomically


@dataclass(frozen=True)
class StoredReport:
    """Either a file to send or the bytes themselves."""

    path: Path | None = None
    content: bytes | None = None


class ReportStore(Protocol):
    def save(self, name: str, csv_text: str) -> None: ...

    def exists(self, name: str) -> bool: ...

    def fetch(self, name: str) -> StoredReport | None: ...


class FileStore:
    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir

    def _path(self, name: str) -> Path | None:
        base = self.report_dir.resolve()
        path = (base / name).resolve()
        return path if name and path.parent == base else None  # never outside REPORT_DIR

    def save(self, name: str, csv_text: str) -> None:
        """Atomic (services/files.py): readers never see half a file. REPORT_DIR is created
        when missing (it is the store's own folder; a report file's folder is never a typo)."""
        path = self._path(name)
        if path is None:
            raise OSError(f"bad report file name {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, lambda out: out.write(csv_text))

    def exists(self, name: str) -> bool:
        path = self._path(name)
        return path is not None and path.is_file()

    def fetch(self, name: str) -> StoredReport | None:
        path = self._path(name)
        return StoredReport(path=path) if path is not None and path.is_file() else None


class DatabaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, name: str, csv_text: str) -> None:
        data = csv_text.encode("utf-8")
        report_tasks.save_file(self.engine, name, zlib.compress(data, 6), len(data))

    def exists(self, name: str) -> bool:
        return report_tasks.file_exists(self.engine, name)

    def fetch(self, name: str) -> StoredReport | None:
        blob = report_tasks.load_file(self.engine, name)
        return None if blob is None else StoredReport(content=zlib.decompress(blob))
