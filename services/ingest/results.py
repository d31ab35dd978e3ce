"""What a load reports: per file, what was loaded, rejected, refused or waited for."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class FileResult:
    kind: str
    path: str | None
    status: str = "missing"  # loaded | unchanged | refused | unsettled | missing
    rows_read: int = 0
    rows_loaded: int = 0
    rows_new: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    # Seconds the load waited for the file to stop changing (the settle time, SPEC 1).
    waited_seconds: float = 0.0


@dataclass
class LoadResult:
    files: list[FileResult]
    changed: bool = False
    data_version: int = 0
    seconds: float = 0.0
    # Polls deleted after the load for being older than POLL_RETENTION_DAYS before the newest.
    pruned: int = 0

    @property
    def ok(self) -> bool:
        """Something could be loaded (or was already loaded and is unchanged)."""
        return any(f.status in ("loaded", "unchanged") for f in self.files)
