"""Deciding what of an input file needs loading: unchanged, only its grown tail, or all of it.

A file is compared with the fingerprint of its last load (size, modification and change time,
inode, SHA-256): `cp -p`, `rsync -t` and `tar` restore size and mtime but never the ctime or the
inode, so a replacement is always noticed. Before reading, the running service waits until the
file has stopped changing for the settle time, so a snapshot written in place is never taken
half-written.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Row

log = logging.getLogger(__name__)

INODE_MASK = 2**63 - 1  # stored in a signed BIGINT


@dataclass
class Source:
    """A file's bytes to parse and what to remember about it afterwards."""

    kind: str
    path: Path
    data: bytes  # the header plus what needs parsing
    stat: os.stat_result
    size: int
    sha256: str
    complete_size: int  # bytes up to the last line end
    complete_sha256: str
    first_line: int  # file line of the header of `data` (1 unless only a tail is read)
    rows_before: int  # rows already loaded from the unchanged prefix


def wait_until_settled(path: Path, settle_seconds: float, max_wait_seconds: float) -> tuple[os.stat_result | None, float]:
    """The file's stat once it has not changed for `settle_seconds`, and how long that took
    (None if it kept changing past `max_wait_seconds`)."""
    started = time.monotonic()
    stat = path.stat()
    if settle_seconds <= 0:
        return stat, 0.0
    while True:
        age = time.time() - max(stat.st_mtime, stat.st_ctime)
        if age >= settle_seconds:
            return stat, time.monotonic() - started
        # A change time in the future (clock skew) cannot age: watch it for a whole settle time.
        pause = settle_seconds - age if age >= 0 else settle_seconds
        if time.monotonic() - started + pause > max_wait_seconds:
            return None, time.monotonic() - started
        time.sleep(pause)
        again = path.stat()
        if age < 0 and same_stat(again, stat):
            return again, time.monotonic() - started
        stat = again


def same_stat(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino) == (b.st_size, b.st_mtime_ns, b.st_ctime_ns, b.st_ino)


def unchanged_by_stat(stat: os.stat_result, previous: Row | None) -> bool:
    return previous is not None and (
        previous.size, previous.mtime_ns, previous.ctime_ns, previous.inode
    ) == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino & INODE_MASK)


def read_source(kind: str, path: Path, previous: Row | None, grows: bool, stat: os.stat_result) -> Source | None:
    """The part of the file that needs loading, or None if its content is unchanged.

    A file that `grows` and still starts with the bytes of the last load up to that load's last
    line end is read from there: the appended lines, and a last line that was then unfinished.
    """
    data = path.read_bytes()
    complete_size = max(data.rfind(b"\n") + 1, 0)
    cut = previous.complete_size if previous is not None else 0
    points = sorted({p for p in (cut, complete_size) if 0 < p < len(data)})
    digest = hashlib.sha256()
    hashes: dict[int, str] = {}
    offset = 0
    view = memoryview(data)
    for point in points:
        digest.update(view[offset:point])
        hashes[point], offset = digest.hexdigest(), point
    digest.update(view[offset:])
    full = digest.hexdigest()
    hashes[len(data)] = full
    hashes.setdefault(0, hashlib.sha256(b"").hexdigest())
    if previous is not None and previous.sha256 == full and previous.size == len(data):
        return None
    common = dict(kind=kind, path=path, stat=stat, size=len(data), sha256=full,
                  complete_size=complete_size, complete_sha256=hashes[complete_size])
    incremental = (
        grows and previous is not None and 0 < cut <= len(data) and hashes.get(cut) == previous.complete_sha256
        and data[cut - 1 : cut] == b"\n" and data.find(b"\n", 0, cut - 1) >= 0
    )
    if not incremental:
        return Source(data=data, first_line=1, rows_before=0, **common)
    header = data[: data.index(b"\n") + 1]
    return Source(data=header + data[cut:], first_line=data.count(b"\n", 0, cut), rows_before=previous.rows, **common)
