"""Writing the three CSV files, with spelling variants, duplicates and invalid rows."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from datagen.settings import Polls, SYNTH_ZONES, StoreSet, US_PER_S
from datagen.text import _assemble, _buf, _const, _format_datetimes, _stripped_frac_len, _table_field


ACTIVE_SPELLINGS = (b"active", b" Active ", b"ACTIVE", b"Active", b"active ")
INACTIVE_SPELLINGS = (b"inactive", b"INACTIVE", b" inactive ", b"Inactive", b" INACTIVE")
OFFSETS_MIN = (-300, -480, -360, 330, 60, -210)
# timestamp spellings: (separator, suffix); fraction digits decided separately
TS_REAL = 0  # "2023-01-22 12:09:39.388884 UTC" (trailing zeros dropped)
TS_Z = 1  # "2023-01-22T12:09:39Z"
TS_NAIVE = 2  # "2023-01-22 12:09:39"
TS_PLUS0 = 3  # "2023-01-22T12:09:39.388+00:00"
TS_OFFSET = 4  # "2023-01-22T07:09:39-05:00" (+ offset code)


def _offset_suffix(minutes: int) -> bytes:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}".encode()


def _write_lines(
    path: Path,
    header: bytes,
    body_chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    bad_lines: list[bytes],
    bad_before: np.ndarray,
    eol: bytes,
    bom: bool,
) -> list[int]:
    """Write header + body, inserting bad lines before given valid-row indices.

    ``body_chunks`` are (bytes, line starts) pairs from _assemble, in order.
    Returns the 1-based file line numbers of the bad lines (header = line 1).
    """
    order = np.argsort(bad_before, kind="stable")
    line_numbers = [0] * len(bad_lines)
    with open(path, "wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        fh.write(header + eol)
        row0 = 0
        j = 0
        for data, starts in body_chunks:
            rows = starts.shape[0]
            pos = 0
            while j < len(order) and bad_before[order[j]] < row0 + rows:
                local = int(bad_before[order[j]]) - row0
                cut = int(starts[local])
                fh.write(data[pos:cut].tobytes())
                pos = cut
                fh.write(bad_lines[order[j]] + eol)
                line_numbers[order[j]] = 2 + int(bad_before[order[j]]) + j
                j += 1
            fh.write(data[pos:].tobytes())
            row0 += rows
        while j < len(order):
            fh.write(bad_lines[order[j]] + eol)
            line_numbers[order[j]] = 2 + int(bad_before[order[j]]) + j
            j += 1
    return line_numbers


def _id_fields(ids_buf: np.ndarray, store: np.ndarray, quoted: np.ndarray | None) -> list[np.ndarray]:
    field = ids_buf[store]
    if quoted is None:
        return [field]
    q = np.where(quoted, ord('"'), 0).astype(np.uint8)[:, None]
    return [q, field, q]


def _status_chunks(
    polls: Polls,
    order: np.ndarray,
    ids_buf: np.ndarray,
    variants: bool,
    rng_var: np.random.Generator,
    eol: bytes,
    chunk: int = 500_000,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Lines of store_status.csv in chunks (a generator: written as produced)."""
    n = order.shape[0]
    # variant choices for all rows up front (deterministic order)
    if variants:
        u_fmt = rng_var.random(n)
        u_status = rng_var.random(n)
        spell = rng_var.integers(1, len(ACTIVE_SPELLINGS), n)
        off_code = rng_var.integers(0, len(OFFSETS_MIN), n)
        quoted = rng_var.random(n) < 0.05
    for a in range(0, n, chunk):
        idx = order[a : a + chunk]
        m = idx.shape[0]
        us = polls.us[idx]
        prec = polls.precision[idx]
        inactive = polls.inactive[idx]
        if variants:
            uf = u_fmt[a : a + m]
            fmt = np.full(m, TS_REAL, dtype=np.int8)
            # whole-second instants: any spelling, fraction-less
            sec = prec == 2
            fmt[sec] = np.array([TS_REAL, TS_Z, TS_NAIVE, TS_OFFSET, TS_PLUS0])[(uf[sec] * 5).astype(int)]
            # millisecond instants: "…​.388+00:00", an offset, or the real format
            ms = prec == 1
            fmt[ms] = np.array([TS_REAL, TS_PLUS0, TS_OFFSET])[(uf[ms] * 3).astype(int)]
            # microsecond instants: mostly real, a few ISO with offsets
            mu = prec == 0
            fmt[mu] = np.where(uf[mu] < 0.04, TS_PLUS0, np.where(uf[mu] < 0.08, TS_OFFSET, TS_REAL))
            offset_min = np.array(OFFSETS_MIN)[off_code[a : a + m]]
            shift = np.where(fmt == TS_OFFSET, offset_min * 60 * US_PER_S, 0)
            sep = np.where(np.isin(fmt, (TS_REAL, TS_NAIVE)), ord(" "), ord("T")).astype(np.uint8)
            frac = np.where(fmt == TS_REAL, _stripped_frac_len(us), np.where(prec == 1, 3, np.where(prec == 2, 0, 6)))
            suffix_table = [b" UTC", b"Z", b"", b"+00:00"] + [_offset_suffix(o) for o in OFFSETS_MIN]
            suffix_code = np.where(fmt == TS_OFFSET, 4 + off_code[a : a + m], fmt)
            ts = _format_datetimes(us + shift, sep, frac)
            suffix = _table_field(suffix_table, suffix_code)
            odd = u_status[a : a + m] < 0.1
            table = list(ACTIVE_SPELLINGS) + list(INACTIVE_SPELLINGS)
            scode = np.where(inactive, len(ACTIVE_SPELLINGS), 0) + np.where(odd, spell[a : a + m], 0)
            status = _table_field(table, scode)
            id_fields = _id_fields(ids_buf, polls.store[idx], quoted[a : a + m])
        else:
            ts = _format_datetimes(us, np.full(m, ord(" "), dtype=np.uint8), _stripped_frac_len(us))
            suffix = _const(m, b" UTC")
            status = _table_field([b"active", b"inactive"], inactive.astype(np.int64))
            id_fields = _id_fields(ids_buf, polls.store[idx], None)
        fields = [*id_fields, _const(m, b","), status, _const(m, b","), ts, suffix, _const(m, eol)]
        yield _assemble(fields)


def _hours_chunks(
    st: StoreSet, ids_buf: np.ndarray, variants: bool, rng_var: np.random.Generator, eol: bytes
) -> list[tuple[np.ndarray, np.ndarray]]:
    r = st.hours_store.shape[0]
    if r == 0:
        return []
    start = st.hours_start.astype("S8")
    end = st.hours_end.astype("S8")
    quoted = None
    if variants:
        short_s = rng_var.random(r) < 0.3
        short_e = rng_var.random(r) < 0.3
        midnight_spelling = rng_var.integers(0, 4, r)
        quoted = rng_var.random(r) < 0.05
        # end of day: 24:00:00 == 24:00 == 00:00:00 == 00:00 as an end time
        is_midnight = (end == b"24:00:00") | (end == b"00:00:00") | (end == b"24:00") | (end == b"00:00")
        end = np.where(is_midnight, np.array([b"24:00:00", b"24:00", b"00:00:00", b"00:00"])[midnight_spelling], end)
    sbuf = _buf(start).copy()
    ebuf = _buf(end).copy()
    if variants:
        # HH:MM instead of HH:MM:SS where the seconds are :00
        s_ok = short_s & (np.strings.str_len(start) == 8) & np.strings.endswith(start, b":00")
        e_ok = short_e & (np.strings.str_len(end) == 8) & np.strings.endswith(end, b":00")
        sbuf[s_ok, 5:] = 0
        ebuf[e_ok, 5:] = 0
    day = (48 + st.hours_day.astype(np.uint8))[:, None]
    fields = [
        *_id_fields(ids_buf, st.hours_store, quoted),
        _const(r, b","),
        day,
        _const(r, b","),
        sbuf,
        _const(r, b","),
        ebuf,
        _const(r, eol),
    ]
    return [_assemble(fields)]


def _tz_chunks(
    zones: np.ndarray, ids_buf: np.ndarray, variants: bool, rng_var: np.random.Generator, eol: bytes
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    rows = np.flatnonzero(np.strings.str_len(zones) > 0)
    if rows.shape[0] == 0:
        return [], rows
    zbuf = _buf(zones[rows])
    q = None
    if variants:
        quoted = rng_var.random(rows.shape[0]) < 0.05
        zq = np.where(rng_var.random(rows.shape[0]) < 0.05, ord('"'), 0).astype(np.uint8)[:, None]
        zfields = [zq, zbuf, zq]
        q = quoted
    else:
        zfields = [zbuf]
    fields = [*_id_fields(ids_buf, rows, q), _const(rows.shape[0], b","), *zfields, _const(rows.shape[0], eol)]
    return [_assemble(fields)], rows


# --------------------------------------------------------------------------
# bad rows
# --------------------------------------------------------------------------
def _plain_ts(us: int) -> str:
    return datetime.fromtimestamp(us / US_PER_S, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bad_status_rows(k: int, rng: np.random.Generator, ids: np.ndarray, polls: Polls) -> list[bytes]:
    rows = []
    for _ in range(k):
        sid = ids[rng.integers(0, ids.shape[0])].decode()
        us = int(polls.us[rng.integers(0, polls.us.shape[0])]) if polls.us.shape[0] else 0
        ts = _plain_ts(us)
        kind = int(rng.integers(0, 3))
        if kind == 0:  # unknown status
            bad = ["unknown", "up", "down", "activ", "1", "", "open"][int(rng.integers(0, 7))]
            rows.append(f"{sid},{bad},{ts}")
        elif kind == 1:  # unparseable timestamp
            bad = [
                "2023-13-01 10:00:00 UTC",
                "2023-01-22 25:09:39 UTC",
                "2023-02-30 10:00:00 UTC",
                "2023-01-22 12:61:00 UTC",
                "not-a-timestamp",
                "",
            ][int(rng.integers(0, 6))]
            rows.append(f"{sid},active,{bad}")
        else:  # empty store id
            rows.append(f",{['active', 'inactive'][int(rng.integers(0, 2))]},{ts}")
    return [r.encode() for r in rows]


def _bad_hours_rows(k: int, rng: np.random.Generator, ids: np.ndarray) -> list[bytes]:
    rows = []
    for _ in range(k):
        sid = ids[rng.integers(0, ids.shape[0])].decode()
        day = int(rng.integers(0, 7))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # day outside 0..6
            bad_day = ["7", "-1", "10"][int(rng.integers(0, 3))]
            rows.append(f"{sid},{bad_day},09:00:00,17:00:00")
        elif kind == 1:  # bad time
            bad = ["25:00:00", "12:61:00", "12:61", "25:00", "24:30:00", "9am"][int(rng.integers(0, 6))]
            if rng.random() < 0.5:
                rows.append(f"{sid},{day},{bad},17:00:00")
            else:
                rows.append(f"{sid},{day},09:00:00,{bad}")
        else:  # empty store id
            rows.append(f",{day},09:00:00,17:00:00")
    return [r.encode() for r in rows]


def _bad_tz_rows(k: int, rng: np.random.Generator) -> list[bytes]:
    names = [z for z, _ in SYNTH_ZONES]
    return [f",{names[int(rng.integers(0, len(names)))]}".encode() for _ in range(k)]


def _add_duplicates(polls: Polls, count: int, rng: np.random.Generator) -> tuple[Polls, int, int]:
    """Append exact duplicate polls and `active` copies of `inactive` polls.

    Both kinds leave the data unchanged for a loader that dedupes on
    (store_id, instant) and keeps `inactive` on conflict.
    """
    n = polls.us.shape[0]
    if count <= 0 or n == 0:
        return polls, 0, 0
    inactive_rows = np.flatnonzero(polls.inactive)
    n_conf = min(count // 2, inactive_rows.shape[0])
    n_same = count - n_conf
    same = rng.choice(n, n_same, replace=n_same > n)
    conf = rng.choice(inactive_rows, n_conf, replace=False) if n_conf else np.zeros(0, dtype=np.int64)
    src = np.concatenate([same, conf]).astype(np.int64)
    new_status = np.concatenate([polls.inactive[same], np.zeros(n_conf, dtype=bool)])
    return (
        Polls(
            store=np.concatenate([polls.store, polls.store[src]]),
            us=np.concatenate([polls.us, polls.us[src]]),
            inactive=np.concatenate([polls.inactive, new_status]),
            precision=np.concatenate([polls.precision, polls.precision[src]]),
        ),
        n_same,
        n_conf,
    )


# --------------------------------------------------------------------------
