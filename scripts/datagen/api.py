"""`generate()`: the whole data set, reproducible from its seed."""
from __future__ import annotations

import logging

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from datagen.polls import _generate_polls
from datagen.settings import DEFAULT_DAYS, DEFAULT_END, DEFAULT_SYNTHETIC_STORES, DEFAULT_ZONE, HOURS_FILE, STATUS_FILE, TZ_FILE, UNKNOWN_ZONES, US_PER_S
from datagen.stores import _real_stores, _synthetic_stores
from datagen.text import _buf, _rng
from datagen.writing import _add_duplicates, _bad_hours_rows, _bad_status_rows, _bad_tz_rows, _hours_chunks, _status_chunks, _tz_chunks, _write_lines

log = logging.getLogger("generate_data")


def _to_utc(end: datetime) -> datetime:
    return end.replace(tzinfo=timezone.utc) if end.tzinfo is None else end.astimezone(timezone.utc)


def generate(
    out_dir: Path,
    stores: int | None = None,
    days: float = DEFAULT_DAYS,
    end: datetime = DEFAULT_END,
    real_dir: Path | None = None,
    seed: int = 0,
    variants: bool = False,
    bad_rows: int = 0,
    *,
    drop_hours: float = 0.01,
    drop_zones: float = 0.01,
    fleet: float | None = None,
) -> dict[str, Any]:
    """Write store_status.csv, menu_hours.csv and timezones.csv into out_dir.

    ``stores=None`` means all real stores (with ``real_dir``) or
    DEFAULT_SYNTHETIC_STORES synthetic ones.  ``end`` naive = UTC.
    ``drop_hours`` / ``drop_zones``: share of real stores whose hours rows
    (-> 24x7) / zone row (-> default zone) are dropped. ``fleet`` (with
    ``real_dir``, instead of ``stores``): that many times the real stores, the
    extra ones cloned from real stores' hours and zones under new ids.

    Returns counts: rows per file (data lines, header excluded, bad rows
    included), ``polls`` (distinct valid polls), ``duplicate_polls`` /
    ``conflicting_duplicates``, ``bad_rows`` and ``bad_lines`` per file name
    (1-based line numbers, header = line 1), ``unknown_timezones``, etc.
    """
    if days <= 0:
        raise ValueError("days must be positive")
    if bad_rows < 0:
        raise ValueError("bad_rows must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end_utc = _to_utc(end)
    delta = end_utc - datetime(1970, 1, 1, tzinfo=timezone.utc)
    end_us = (delta.days * 86400 + delta.seconds) * US_PER_S + delta.microseconds

    rng_stores = _rng(seed, 1)
    rng_shuffle = _rng(seed, 5)
    rng_var = _rng(seed, 3)
    rng_bad = _rng(seed, 4)

    if fleet is not None and (real_dir is None or stores is not None or fleet <= 0):
        raise ValueError("fleet needs real_dir, a positive factor and no stores count")
    if real_dir is not None:
        st = _real_stores(Path(real_dir), stores, rng_stores, drop_hours, drop_zones, fleet=fleet)
    else:
        st = _synthetic_stores(DEFAULT_SYNTHETIC_STORES if stores is None else stores, rng_stores)
    n_stores = st.ids.shape[0]
    log.info("stores=%d hours_rows=%d zones=%d", n_stores, st.hours_store.shape[0], int((st.zones != b"").sum()))

    polls = _generate_polls(n_stores, days, end_us, seed)
    n_valid = polls.us.shape[0]
    inactive_polls = int(polls.inactive.sum())
    first_us, last_us = (int(polls.us.min()), int(polls.us.max())) if n_valid else (end_us, end_us)

    # bad rows: split over the files; duplicates and unknown zones alongside
    k_tz = bad_rows // 6
    k_hours = bad_rows // 3
    k_status = bad_rows - k_tz - k_hours
    n_dup = max(2, bad_rows // 3) if bad_rows > 0 else 0
    polls, dup_same, dup_conf = _add_duplicates(polls, n_dup, rng_bad)
    zones = st.zones.copy()
    n_unknown = 0
    if bad_rows > 0:
        default_like = np.flatnonzero((zones == b"") | (zones == DEFAULT_ZONE.encode()))
        n_unknown = min(max(1, bad_rows // 10), default_like.shape[0])
        chosen = rng_bad.choice(default_like, n_unknown, replace=False)
        width = max(zones.dtype.itemsize, max(len(z) for z in UNKNOWN_ZONES))
        zones = zones.astype(f"S{width}")
        zones[chosen] = np.array([z.encode() for z in UNKNOWN_ZONES])[rng_bad.integers(0, len(UNKNOWN_ZONES), n_unknown)]
    bad_status = _bad_status_rows(k_status, rng_bad, st.ids, polls)
    bad_hours = _bad_hours_rows(k_hours, rng_bad, st.ids)
    bad_tz = _bad_tz_rows(k_tz, rng_bad)

    # shuffle polls (the real file is not sorted)
    order = rng_shuffle.permutation(polls.us.shape[0])
    ids_buf = _buf(st.ids)
    status_eol = b"\r\n" if variants else b"\n"
    hours_eol = b"\n"
    tz_eol = b"\r\n" if variants else b"\n"

    status_chunks = _status_chunks(polls, order, ids_buf, variants, rng_var, status_eol)
    hours_chunks = _hours_chunks(st, ids_buf, variants, rng_var, hours_eol)
    tz_chunks, tz_rows = _tz_chunks(zones, ids_buf, variants, rng_var, tz_eol)

    n_status = polls.us.shape[0]
    n_hours = st.hours_store.shape[0]
    n_tz = tz_rows.shape[0]
    files = (
        (STATUS_FILE, b"store_id,status,timestamp_utc", status_chunks, bad_status, n_status, status_eol),
        (HOURS_FILE, b"store_id,dayOfWeek,start_time_local,end_time_local", hours_chunks, bad_hours, n_hours,
         hours_eol),
        (TZ_FILE, b"store_id,timezone_str", tz_chunks, bad_tz, n_tz, tz_eol),
    )
    bad_lines = {}
    for name, header, chunks, bad, n_rows, eol in files:  # in this order: the bad rows' positions draw from rng_bad
        bad_lines[name] = _write_lines(out_dir / name, header, chunks, bad,
                                       rng_bad.integers(0, n_rows + 1, len(bad)), eol, bom=variants)

    has_hours = np.zeros(n_stores, dtype=bool)
    has_hours[st.hours_store] = True

    def iso(us: int) -> str:
        sec, micro = divmod(us, US_PER_S)
        return datetime.fromtimestamp(sec, tz=timezone.utc).replace(microsecond=micro).isoformat()

    return {
        "stores": int(n_stores),
        "store_status_rows": int(n_status + len(bad_status)),
        "menu_hours_rows": int(n_hours + len(bad_hours)),
        "timezones_rows": int(n_tz + len(bad_tz)),
        "polls": int(n_valid),
        "inactive_polls": inactive_polls,
        "duplicate_polls": int(dup_same + dup_conf),
        "conflicting_duplicates": int(dup_conf),
        "bad_rows": {STATUS_FILE: len(bad_status), HOURS_FILE: len(bad_hours), TZ_FILE: len(bad_tz)},
        "bad_lines": bad_lines,
        "unknown_timezones": int(n_unknown),
        "stores_without_hours": int((~has_hours).sum()),
        "stores_without_timezone": int((st.zones == b"").sum()),
        "first_poll_utc": iso(first_us),
        "last_poll_utc": iso(last_us),
    }


# --------------------------------------------------------------------------
