"""Finding the three input files and reading them into frames of raw strings.

The files come from exports and hand edits: a BOM, CRLF or CR line ends, extra or reordered
columns, aliases for the day column, trailing commas, quoting, blank lines, broken lines. This module turns any of that into one
shape — canonical column names, every value a string, the file line of every row — and leaves
judging the values to the ingestion service.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from services.ingest.byte_spans import ByteSpans

log = logging.getLogger(__name__)

# canonical column → accepted header spellings; a canonical name ending in "?" is optional (a file
# without it is read without that column, which then lacks from the table under the bare name)
Columns = dict[str, tuple[str, ...]]

# What compressed or non-UTF-8 files start with: such a file is refused whole, not read as text.
_NOT_TEXT_SIGNATURES = {
    b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive", b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed", b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"\xff\xfe": "UTF-16 or UTF-32 text", b"\xfe\xff": "UTF-16 text",
}
MAX_HEADER_SHOWN = 200


class RefusedFileError(ValueError):
    """The file cannot be loaded at all: it is refused whole, the other files still load."""


class MissingColumnError(RefusedFileError):
    """The file lacks a required column: it is refused whole."""


@dataclass
class RawTable:
    """A file's rows as strings under canonical column names, with 1-based file line numbers."""

    frame: pd.DataFrame
    lines: np.ndarray
    # Rows the CSV layer itself could not read (wrong field count, undecodable bytes).
    broken_lines: np.ndarray
    broken_reasons: list[str]
    # The last line when no line end follows it yet: maybe a line its writer has not finished.
    open_line: int | None = None
    # Columns asked for as bytes (`read_table`'s `as_bytes`) when the text allowed it; they are
    # then not in `frame`.
    spans: dict[str, ByteSpans] = field(default_factory=dict)

    def strings(self, column: str, rows: np.ndarray) -> np.ndarray:
        """The values of `column` in the rows selected by `rows` (a mask or indexes)."""
        if column in self.spans:
            return self.spans[column].strings(np.arange(len(self.lines))[rows])
        return self.frame[column].to_numpy(dtype=object)[rows]


def locate_inputs(directory: Path, names: dict[str, tuple[str, ...]]) -> dict[str, Path | None]:
    """The file to load for each kind, by the names SPEC section 1 accepts, in that order."""
    found: dict[str, Path | None] = {}
    for kind, patterns in names.items():
        found[kind] = None
        for pattern in patterns:
            matches = sorted(p for p in directory.glob(pattern) if p.is_file())
            if matches:
                found[kind] = matches[-1]  # bq-results exports are timestamped: newest name last
                break
    return found


def _normalise_header(name: str) -> str:
    return name.replace("\ufeff", "").strip().strip('"').strip().lower()


def _resolve_columns(wanted: Columns, header: list[str], label: str) -> dict[str, int]:
    """Index of each canonical column in the header; raises MissingColumnError naming the gaps."""
    positions = {_normalise_header(h): i for i, h in reversed(list(enumerate(header)))}
    resolved: dict[str, int] = {}
    missing: list[str] = []
    for canonical, aliases in wanted.items():
        index = next((positions[a] for a in aliases if a in positions), None)
        if index is not None:
            resolved[canonical.removesuffix("?")] = index
        elif not canonical.endswith("?"):
            missing.append(canonical if len(aliases) == 1 else " or ".join(aliases))
    if missing:
        shown = ", ".join(header)
        shown = shown if len(shown) <= MAX_HEADER_SHOWN else shown[:MAX_HEADER_SHOWN] + "…"
        raise MissingColumnError(f"{label}: missing required column(s): {', '.join(missing)} (header: {shown or 'empty'})")
    return resolved


def read_table(data: bytes, wanted: Columns, label: str, first_line: int = 1, as_bytes: tuple[str, ...] = ()) -> RawTable:
    """Parse a whole CSV (header included); `first_line` is the file line of the header.

    Columns named in `as_bytes` are left as spans of `data` when the text is plain (see
    `_read_plain`): a column of millions of distinct values costs pandas a Python string each.
    Raises RefusedFileError when the bytes are not CSV text or a required column is missing.
    """
    _refuse_if_not_text(data, label)
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # CR-only line ends (old Mac exports): every CR ends a line, as pandas' parser and the
        # line numbers below expect.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    header_line = _first_line(data).decode("utf-8-sig").rstrip("\r")
    header = next(csv.reader([header_line]), [])
    columns = _resolve_columns(wanted, header, label)
    open_line = None
    if data.rstrip(b" \t") and not data.endswith(b"\n") and b"\n" in data:
        open_line = first_line + data.count(b"\n")
    table = None
    if b"\x00" not in data:
        if as_bytes:
            table = _read_plain(data, columns, len(header), first_line, as_bytes)
        if table is None:
            table = _read_fast(data, columns, len(header), first_line)
    if table is None:
        log.info("%s: irregular CSV, reading it row by row", label)
        table = _read_careful(data.decode("utf-8-sig", errors="replace"), columns, len(header), first_line)
    table.open_line = open_line
    return table


def _first_line(data: bytes) -> bytes:
    """The header line (without copying the rest, as `split` would: a piece is 128 MB)."""
    end = data.find(b"\n")
    return data if end < 0 else data[:end]


def _refuse_if_not_text(data: bytes, label: str) -> None:
    """Compressed, binary or UTF-16 files are refused with what they look like."""
    for signature, what in _NOT_TEXT_SIGNATURES.items():
        if data.startswith(signature):
            raise RefusedFileError(f"{label}: not CSV text: the file looks {what}")
    header_line = _first_line(data).split(b"\r", 1)[0]
    if b"\x00" in header_line:
        raise RefusedFileError(f"{label}: not CSV text: binary data (NUL bytes) in the header line")
    try:
        header_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RefusedFileError(f"{label}: not CSV text: the header line is not UTF-8") from None


# pandas' C parser reading every field as the string it is: both fast readers must agree.
_AS_STRINGS = {"encoding": "utf-8-sig", "encoding_errors": "strict", "dtype": object, "na_filter": False,
               "skip_blank_lines": False, "index_col": False, "engine": "c"}


def _read_fast(data: bytes, columns: dict[str, int], width: int, first_line: int) -> RawTable | None:
    """pandas' C parser; gives up (None) on anything irregular: invalid UTF-8, line numbers
    that could not be trusted, rows wider than the header (the careful reader rejects those).

    Without `usecols` and with `index_col=False` the C parser raises on wide rows, except on the
    first data row (it would silently cut that one), which is checked here.
    """
    start = data.find(b"\n") + 1
    end = data.find(b"\n", start)
    first_row = data[start:] if end < 0 else data[start:end]
    try:
        first_fields = next(csv.reader([first_row.decode("utf-8").rstrip("\r")]), []) if start else []
        if any(f.strip() for f in first_fields[width:]):
            return None
        # Room for empty trailing fields (a comma at the end of every row); filled ones fail below.
        # Only then are names given: pandas reads measurably slower with them.
        names = [f"c{i}" for i in range(max(width, len(first_fields)))]
        wider = {"header": 0, "names": names} if len(names) > width else {}
        frame = pd.read_csv(io.BytesIO(data), **wider, **_AS_STRINGS)
    except (pd.errors.ParserError, ValueError, csv.Error):  # UnicodeDecodeError is a ValueError;
        return None  # csv.Error: e.g. a first-row field beyond the csv module's size limit
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if len(frame) != physical - 1:  # a quoted field spans lines, or similar: number carefully
        return None
    for extra in frame.columns[width:]:
        if frame[extra].str.strip().ne("").any():
            return None  # a field beyond the header: the careful reader rejects those rows
    frame = frame.iloc[:, list(columns.values())]
    frame.columns = list(columns)
    lines = np.arange(first_line + 1, first_line + 1 + len(frame), dtype=np.int64)
    return RawTable(frame, lines, np.array([], dtype=np.int64), [])


def _read_plain(data: bytes, columns: dict[str, int], width: int, first_line: int,
                as_bytes: tuple[str, ...]) -> RawTable | None:
    """What `_read_fast` gives, with the `as_bytes` columns as spans, for plain text only: no
    quote, no CR, valid UTF-8, exactly `width` fields on every line (so no blank line either).
    Then a comma always ends a field and a line end a row, and the spans are found by position;
    None for anything else.
    """
    if width < 2 or b'"' in data or b"\r" in data:
        return None
    buffer = np.frombuffer(data, dtype=np.uint8)
    if int(buffer.max()) >= 0x80:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    ends = _positions(buffer, ord("\n"))
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))  # a last line without its line end yet
    commas = _positions(buffer, ord(","))
    if len(ends) < 2 or len(commas) != (width - 1) * len(ends):
        return None
    commas = commas.reshape(-1, width - 1)  # each line's commas, if every line has its share:
    if not ((commas[:, -1] < ends).all() and (commas[1:, 0] > ends[:-1]).all()):
        return None
    spans = {}
    for name in as_bytes:
        if name in columns:
            position = columns[name]
            start = ends[:-1] + 1 if position == 0 else commas[1:, position - 1] + 1
            stop = ends[1:] if position == width - 1 else commas[1:, position]
            spans[name] = ByteSpans(buffer, start, stop - start)
    others = sorted((position, name) for name, position in columns.items() if name not in spans)
    if others:
        frame = pd.read_csv(io.BytesIO(data), usecols=[p for p, _ in others], **_AS_STRINGS)
        if len(frame) != len(ends) - 1:
            return None
        frame.columns = [name for _, name in others]
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(len(ends) - 1))
    lines = np.arange(first_line + 1, first_line + len(ends), dtype=np.int64)
    return RawTable(frame, lines, np.array([], dtype=np.int64), [], spans=spans)


def _positions(buffer: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of every `byte` in `buffer`, found a few megabytes at a time: one comparison of
    the whole buffer would first fault in a mask as large as the file."""
    step = 1 << 22
    found, mask = [], np.empty(step, dtype=bool)
    for lo in range(0, len(buffer), step):
        part = buffer[lo : lo + step]
        np.equal(part, byte, out=mask[: len(part)])
        found.append(np.flatnonzero(mask[: len(part)]) + lo)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _read_careful(text: str, columns: dict[str, int], width: int, first_line: int) -> RawTable:
    """Python's csv module: exact line numbers and a verdict on every malformed row."""
    names = list(columns)
    positions = [columns[n] for n in names]
    values: list[list[str]] = []
    lines: list[int] = []
    broken_lines: list[int] = []
    broken_reasons: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        next(reader)  # header
    except (StopIteration, csv.Error):
        return RawTable(pd.DataFrame(columns=names, dtype=object), np.array([], np.int64), np.array([], np.int64), [])
    while True:
        line = first_line + reader.line_num  # where the next row starts (it may span lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            broken_lines.append(line)
            broken_reasons.append(f"unreadable CSV row: {exc}")
            continue
        if not row:
            continue  # blank line; a row of empty fields is judged like in _read_fast
        if "\ufffd" in "".join(row) or "\x00" in "".join(row):
            broken_lines.append(line)
            broken_reasons.append("not valid UTF-8 text" if "\ufffd" in "".join(row) else "NUL byte in row")
            continue
        if len(row) > width and any(f.strip() for f in row[width:]):
            broken_lines.append(line)
            broken_reasons.append(f"row has {len(row)} fields, the header has {width}")
            continue
        values.append([row[p] if p < len(row) else "" for p in positions])
        lines.append(line)
    frame = pd.DataFrame(values, columns=names, dtype=object)
    return RawTable(frame, np.array(lines, dtype=np.int64), np.array(broken_lines, dtype=np.int64), broken_reasons)
