"""The one atomic file write: the report CSVs of `flask report`/`incidents` and of REPORT_DIR.

Written to a temporary file beside the target, synced, then renamed over it, so a reader sees
the old file or the new one, never half of one. The folder must exist (a typo in `--out` is an
error, not a new folder; the report store creates REPORT_DIR itself), and the file gets the
permissions of any new file (0666 less the umask), not the temporary file's private 0600.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable, TextIO


def _process_umask() -> int:
    """The umask, read once at import (setting it back at once; no file is created meanwhile)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_process_umask()  # what open() would give a new file


def write_text_atomically(path: Path, write: Callable[[TextIO], None]) -> None:
    """`write(stream)` into `path`, all or nothing (UTF-8, "\\n" line ends as written)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(path.parent))
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            write(out)
            out.flush()
            os.fchmod(out.fileno(), FILE_MODE)
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
