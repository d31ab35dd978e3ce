"""Reading live polls (SPEC 10) from a request body or a broker message, with SPEC 1's value rules.

The shape is declared once in services/contract/polls.py (field names, the per-request limit);
the values are judged a column at a time with the CSV loader's own parsers (statuses,
timestamps, the store-id rule), so that a request of 10,000 polls costs a few milliseconds and a
live poll is read exactly like the same row of store_status.csv. Each invalid poll gets its
index and the first reason it fails; the valid ones go on.

What is refused whole (InvalidInput → 400 on HTTP, the rejected queue for the consumer): a body
that is not UTF-8 JSON, an HTTP body that is not an array, more than 10,000 polls. An NDJSON line
that is not JSON is a rejection of that line only (the lines are independent records).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from services.contract.polls import MAX_POLLS_PER_REQUEST, POLL_FIELDS
from services.contract.store_ids import CONTROL_CHARS, MAX_STORE_ID_LENGTH, store_id_checks
from services.errors import InvalidInput
from services.ingest.parsing import parse_statuses, parse_timestamps

# A poll stamped later than the service clock by more than this is refused: it would become
# every report's "now" (SPEC 2.1) and the live status of its store until real time caught up.
MAX_FUTURE_SKEW_US = 10 * 60 * 1_000_000
_FIELD_SET = frozenset(POLL_FIELDS)
_QUOTED = 60  # characters of a bad value quoted in its rejection
_CONTROL_RE = re.compile(CONTROL_CHARS)  # the store-id rule's forbidden characters


@dataclass
class ParsedPolls:
    """The valid polls of one body (columns) and the rejected ones (index, reason)."""

    size: int  # polls in the body, valid or not
    store_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    ts_us: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    active: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return len(self.store_ids)


def decode_json(raw: bytes) -> Any:
    """The body as JSON (UTF-8, -16 or -32); InvalidInput naming where it breaks."""
    if not raw.strip():
        raise InvalidInput("empty body: send a JSON array of polls")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None


def parse_json_array(raw: bytes, now_us: int) -> ParsedPolls:
    """`POST /polls` with `application/json`: an array of poll objects."""
    items = decode_json(raw)
    if not isinstance(items, list):
        raise InvalidInput('send a JSON array of polls: [{"store_id": …, "status": …, "timestamp_utc": …}, …]')
    _check_count(len(items))
    return parse_items(items, now_us)


def parse_ndjson(raw: bytes, now_us: int) -> ParsedPolls:
    """`POST /polls` with `application/x-ndjson`: one poll object per line; a poll's index is its
    line number (0-based), blank lines are skipped and a line that is not JSON is rejected."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text") from None
    # Only LF (and CR LF) end a line: splitlines() would also cut at U+2028 and the like, which a
    # JSON string may hold as they are.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    numbers = [n for n, line in enumerate(lines) if line.strip()]
    _check_count(len(numbers))
    items: list[Any] = []
    indices: list[int] = []
    broken: list[tuple[int, str]] = []
    for n in numbers:
        try:
            items.append(json.loads(lines[n]))
            indices.append(n)
        except ValueError as exc:
            broken.append((n, f"line is not valid JSON: {exc}"))
    parsed = parse_items(items, now_us, np.array(indices, dtype=np.int64))
    parsed.size = len(numbers)
    if broken:
        parsed.rejected = sorted(parsed.rejected + broken)
    return parsed


def message_items(raw: bytes) -> list[Any]:
    """A broker message's polls, not yet judged: one poll object, or a JSON array of them
    (InvalidInput if neither). The consumer judges the items of a whole batch of messages in one
    `parse_items` call: per message, the column checks' fixed cost would dominate (~1 ms)."""
    body = decode_json(raw)
    if isinstance(body, dict):
        return [body]
    if not isinstance(body, list):
        raise InvalidInput("the message is neither a poll object nor a JSON array of polls")
    _check_count(len(body))
    return body


def parse_message(raw: bytes, now_us: int) -> ParsedPolls:
    """One broker message judged alone."""
    return parse_items(message_items(raw), now_us)


def _check_count(count: int) -> None:
    if count > MAX_POLLS_PER_REQUEST:
        raise InvalidInput(f"{count} polls: at most {MAX_POLLS_PER_REQUEST} per request, send them in several")


def parse_items(items: list[Any], now_us: int, indices: np.ndarray | None = None) -> ParsedPolls:
    """Judge decoded items; `indices` are their positions in the body (default 0, 1, …)."""
    n = len(items)
    index = np.arange(n, dtype=np.int64) if indices is None else indices
    problems: list[tuple[int, str]] = []
    raw_ids: list[str] = [""] * n
    raw_status: list[str] = [""] * n
    raw_ts: list[str] = [""] * n
    # The one loop over the polls: taking the fields out of each object. The usual poll (an object
    # with exactly the three fields, all strings) costs a key-set comparison and three type
    # checks; anything else is explained.
    for i, item in enumerate(items):
        if type(item) is dict and item.keys() == _FIELD_SET:
            sid, status, ts = item["store_id"], item["status"], item["timestamp_utc"]
            if type(sid) is int:
                sid = str(sid)  # an integer id is taken as its digits (SPEC 1 keeps ids as text)
            if type(sid) is str and type(status) is str and type(ts) is str:
                raw_ids[i], raw_status[i], raw_ts[i] = sid.strip(), status, ts
                continue
            problems.append((i, _type_problem(sid, status, ts)))
        else:
            problems.append((i, _shape_problem(item)))
    reasons = _Reasons(n)
    for i, reason in problems:
        reasons.give_one(i, reason)
    for good, reason in _store_id_checks(raw_ids):
        reasons.give(~good, reason)
    active, status_ok = parse_statuses(pd.Series(raw_status, dtype=object))
    reasons.give(~status_ok, "unknown status", raw_status)
    ts_us, ts_ok = parse_timestamps(pd.Series(raw_ts, dtype=object))
    reasons.give(~ts_ok, "bad timestamp", raw_ts)
    reasons.give(ts_ok & (ts_us > now_us + MAX_FUTURE_SKEW_US), "timestamp in the future", raw_ts)
    valid = reasons.none
    bad = np.flatnonzero(~valid)
    return ParsedPolls(
        size=n,
        store_ids=np.array(raw_ids, dtype=object)[valid],
        ts_us=ts_us[valid],
        active=active[valid],
        rejected=[(int(index[i]), reasons.text[i]) for i in bad.tolist()],
    )


class _Reasons:
    """The first reason each poll fails (checks applied in order), or none."""

    def __init__(self, n: int) -> None:
        self.none = np.ones(n, dtype=bool)
        self.text: dict[int, str] = {}

    def give_one(self, i: int, reason: str) -> None:
        if self.none[i]:
            self.none[i] = False
            self.text[i] = reason

    def give(self, fails: np.ndarray, reason: str, values: list[Any] | None = None) -> None:
        """`reason` to the failing polls without one yet (quoting their value if given)."""
        fresh = np.flatnonzero(fails & self.none)
        for i in fresh.tolist():
            self.text[i] = reason if values is None else f"{reason} {str(values[i])[:_QUOTED]!r}"
        self.none[fresh] = False


def _store_id_checks(ids: list[str]) -> list[tuple[np.ndarray, str]]:
    """The store-id rule (services/contract/store_ids.py) over stripped ids. The usual batch breaks
    none of its checks, which one pass over the joined ids tells (a per-id regex costs ~10× more);
    otherwise the rule's own column checks name each failure."""
    if ids and min(map(len, ids)) > 0 and max(map(len, ids)) <= MAX_STORE_ID_LENGTH \
            and not _CONTROL_RE.search("".join(ids)):
        return []
    return store_id_checks(pd.Series(ids, dtype=object))


def _shape_problem(item: Any) -> str:
    if not isinstance(item, dict):
        return f"not a poll object (a JSON {_json_kind(item)})"
    missing = [name for name in POLL_FIELDS if name not in item]
    unknown = sorted(str(name) for name in item if name not in _FIELD_SET)
    bits = []
    if missing:
        bits.append("missing " + ", ".join(missing))
    if unknown:
        bits.append("unknown field(s) " + ", ".join(repr(u[:_QUOTED]) for u in unknown[:5]))
    return "; ".join(bits)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def _type_problem(sid: Any, status: Any, ts: Any) -> str:
    for name, value in (("store_id", sid), ("status", status), ("timestamp_utc", ts)):
        if type(value) is not str:
            return f"{name} must be a string, not a JSON {_json_kind(value)}"
    return "invalid poll"
