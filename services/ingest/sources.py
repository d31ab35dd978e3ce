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
from typing import BinaryIO

from sqlalchemy import Row

log = logging.getLogger(__name__)

INODE_MASK = 2**63 - 1  # stored in a signed BIGINT
_BLOCK = 16 * 2**20  # bytes hashed at a time
_TAIL_BLOCK = 2**16  # bytes searched at a time for the last line end


@dataclass
class Source:
    """Where in a file the bytes to parse start, and what to remember about it afterwards."""

    kind: str
    path: Path
    header: bytes  # the header line to put before the rows read from `offset` (b"" when offset is 0)
    offset: int  # first byte to parse: 0 (the whole file) or where the last load stopped
    stat: os.stat_result
    size: int  # bytes hashed: parsing stops there even if the file grows meanwhile
    sha256: str
    complete_size: int  # bytes up to the last line end
    complete_sha256: str
    first_line: int  # file line of the header of what is parsed (1 unless only a tail is read)
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
    The file is hashed in blocks, never held whole: a poll file of a large fleet is gigabytes.
    """
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        complete_size = _last_line_end(f, size)
        cut = previous.complete_size if previous is not None else 0
        digest = hashlib.sha256()
        hashes = {0: digest.hexdigest()}
        newlines_before_cut, first_newline, byte_before_cut = 0, -1, b""
        offset = 0
        f.seek(0)
        for point in sorted({p for p in (cut, complete_size) if 0 < p < size} | {size}):
            while offset < point:
                block = f.read(min(_BLOCK, point - offset))
                if not block:
                    raise OSError(f"{path.name} shrank while it was read")
                digest.update(block)
                if first_newline < 0 and b"\n" in block:
                    first_newline = offset + block.index(b"\n")
                offset += len(block)
                if offset <= cut:  # blocks end at the cut, never straddle it
                    # Lines as the CSV layer numbers them: a lone CR ends one too.
                    newlines_before_cut += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
                    newlines_before_cut -= byte_before_cut == b"\r" and block.startswith(b"\n")
                    byte_before_cut = block[-1:]
            hashes[point] = digest.hexdigest()
        if previous is not None and previous.sha256 == hashes[size] and previous.size == size:
            return None
        common = dict(kind=kind, path=path, stat=stat, size=size, sha256=hashes[size],
                      complete_size=complete_size, complete_sha256=hashes[complete_size])
        incremental = (
            grows and previous is not None and 0 < cut <= size and hashes.get(cut) == previous.complete_sha256
            and byte_before_cut == b"\n" and 0 <= first_newline < cut - 1
        )
        if not incremental:
            return Source(header=b"", offset=0, first_line=1, rows_before=0, **common)
        f.seek(0)
        header = f.read(first_newline + 1)
    return Source(header=header, offset=cut, first_line=newlines_before_cut, rows_before=previous.rows, **common)


def _last_line_end(f: BinaryIO, size: int) -> int:
    """Bytes up to and including the file's last line end (0 if it has none), read from the end."""
    end = size
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        f.seek(start)
        found = f.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0
