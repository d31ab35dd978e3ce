"""Reading a poll file in pieces of lines, so that a fleet's gigabytes never sit in memory as text.

Each piece is parsed like a file of its own (the header line put before it, its line numbers
carried on), and only its valid rows stay: three compact arrays, a few bytes a poll instead of
the hundreds that a row of Python strings costs. Pieces end at a line end, and never inside a
quoted field, so a row is never split; only the file's true end can be a line still being
written. Duplicates across pieces meet when the rows are written, in one piece.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from services.ingest.csv_input import Columns, RawTable, read_table
from services.ingest.kinds import Rows
from services.ingest.results import FileResult
from services.ingest.sources import Source
from services.ingest.validate import MAX_REJECTIONS_LISTED

# About two million lines of the real export: big enough that a piece's fixed costs vanish,
# small enough that a piece's strings (some 250 bytes a row) stay a few hundred megabytes.
PIECE_BYTES = 128 * 2**20


def read_pieces(path: Path, source: Source, piece_bytes: int | None) -> Iterator[tuple[bytes, int]]:
    """(CSV text with the header line, file line of that header) for consecutive pieces of the
    part of the file to load; one piece when `piece_bytes` is None."""
    with path.open("rb") as f:
        f.seek(source.offset)
        header, line = source.header, source.first_line
        if not header:
            header = f.readline(source.size)
            if piece_bytes is None or b"\r" in header.rstrip(b"\r\n") or not header.endswith(b"\n"):
                # Lines ended by a lone CR are numbered by the CSV layer: read such a file whole.
                yield header + f.read(source.size - len(header)), line
                return
        position = f.tell()
        carry = b""
        while True:
            block = f.read(min(piece_bytes or source.size, source.size - position)) if position < source.size else b""
            position += len(block)
            data = carry + block
            if position >= source.size or not block:
                yield header + data, line
                return
            cut = _safe_cut(data)
            if cut == 0:
                carry = data  # no whole line yet: read on
                continue
            piece, carry = data[:cut], data[cut:]
            yield header + piece, line
            line += piece.count(b"\n") + (piece.count(b"\r") - piece.count(b"\r\n") if b"\r" in piece else 0)


def _safe_cut(data: bytes) -> int:
    """Bytes up to the last line end of `data` that is outside any quoted field (0: none)."""
    cut = data.rfind(b"\n") + 1
    odd = data.count(b'"', 0, cut) % 2
    while cut and odd:  # a quoted field spans that line end: cut a line earlier
        start = data.rfind(b"\n", 0, cut - 1) + 1
        odd ^= data.count(b'"', start, cut) % 2
        cut = start
    return cut


@dataclass
class PiecedRows:
    """Valid rows gathered piece by piece, store ids mapped onto one array of distinct ids."""

    ids: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    codes: list[np.ndarray] = field(default_factory=list)
    values: dict[str, list[np.ndarray]] = field(default_factory=dict)
    count: int = 0
    open_row: int | None = None

    def add(self, rows: Rows) -> None:
        unique = pd.Index(rows.unique_ids, dtype=object)
        new = unique[~unique.isin(self.ids)].unique()
        if len(new):
            self.ids = self.ids.append(new)
        self.codes.append(self.ids.get_indexer(unique).astype(np.int32)[rows.codes])
        for name, column in rows.values.items():
            self.values.setdefault(name, []).append(column)
        if rows.open_row is not None:
            self.open_row = self.count + rows.open_row
        self.count += len(rows.codes)

    def rows(self) -> Rows:
        values = {name: np.concatenate(parts) for name, parts in self.values.items()}
        codes = np.concatenate(self.codes) if self.codes else np.array([], dtype=np.int32)
        return Rows(codes, self.ids.to_numpy(dtype=object), values, self.open_row)


def parse_in_pieces(
    path: Path, source: Source, columns: Columns, parse: Callable[[RawTable, FileResult], Rows],
    result: FileResult, piece_bytes: int | None, as_bytes: tuple[str, ...] = (),
) -> tuple[Rows, int | None]:
    """The valid rows of the part of the file to load, and the line still open at its end, if any.

    `result` gets the counts and rejections of all pieces, as if the file was parsed whole.
    """
    gathered = PiecedRows()
    open_line = None
    for text, line in read_pieces(path, source, piece_bytes):
        part = FileResult(kind=result.kind, path=result.path)
        table = read_table(text, columns, path.name, first_line=line, as_bytes=as_bytes)
        del text
        gathered.add(parse(table, part))
        open_line = table.open_line
        result.rows_read += part.rows_read
        result.rows_loaded += part.rows_loaded
        result.rejected += part.rejected
        result.rejections.extend(part.rejections[: MAX_REJECTIONS_LISTED - len(result.rejections)])
        result.warnings.extend(part.warnings)
    return gathered.rows(), open_line
