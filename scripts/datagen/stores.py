"""The stores, their business hours and zones: from a real data folder or synthesised."""
from __future__ import annotations

import logging

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from datagen.settings import SYNTH_ID_UUID_SHARE, SYNTH_NO_ZONE, SYNTH_ZONES, StoreSet, TIME_RE, UUID_RE
from datagen.text import _as_bytes, _format_hms, _ranges, _unique_ids

log = logging.getLogger("generate_data")


def _find_file(real_dir: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for path in sorted(real_dir.glob(name)):
            if path.is_file():
                return path
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    for col in df.columns:
        df[col] = df[col].str.strip()
    return df


def _load_real(real_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read real hours (store_id, day, start, end) and zones (store_id, tz)."""
    hours_path = _find_file(real_dir, ["menu_hours.csv", "business_hours.csv", "Menu hours.csv"])
    tz_path = _find_file(real_dir, ["timezones.csv", "store_timezone.csv", "bq-results*.csv"])
    if hours_path is None and tz_path is None:
        raise FileNotFoundError(f"no menu_hours.csv or timezones.csv in {real_dir}")
    hours = pd.DataFrame({"store_id": [], "day": [], "start": [], "end": []}, dtype=str)
    if hours_path is not None:
        raw = _read_csv(hours_path)
        day_col = next((c for c in ("dayOfWeek", "day", "day_of_week") if c in raw.columns), None)
        if day_col is None:
            raise ValueError(f"{hours_path}: no day column (dayOfWeek/day/day_of_week)")
        hours = pd.DataFrame(
            {
                "store_id": raw["store_id"],
                "day": raw[day_col],
                "start": raw["start_time_local"],
                "end": raw["end_time_local"],
            }
        )
        ok = (
            (hours["store_id"] != "")
            & hours["day"].isin([str(d) for d in range(7)])
            & hours["start"].str.match(TIME_RE)
            & hours["end"].str.match(TIME_RE)
        )
        if not ok.all():
            log.warning("%s: skipping %d invalid rows", hours_path, int((~ok).sum()))
        hours = hours[ok]
    zones = pd.DataFrame({"store_id": [], "tz": []}, dtype=str)
    if tz_path is not None:
        raw = _read_csv(tz_path)
        zones = pd.DataFrame({"store_id": raw["store_id"], "tz": raw["timezone_str"]})
        zones = zones[(zones["store_id"] != "") & (zones["tz"] != "")]
        zones = zones.drop_duplicates("store_id", keep="first")
    return hours.reset_index(drop=True), zones.reset_index(drop=True)


def _real_stores(
    real_dir: Path, stores: int | None, rng: np.random.Generator, drop_hours: float, drop_zones: float,
    fleet: float | None = None,
) -> StoreSet:
    hours, zones = _load_real(real_dir)
    # stable order: the zone file's order (it lists nearly every store), then
    # stores that only appear in the hours file
    order = pd.unique(pd.concat([zones["store_id"], hours["store_id"]], ignore_index=True))
    n_real = len(order)
    n = n_real if stores is None else stores
    if fleet is not None:
        # `fleet` times the real fleet: the real stores, then clones with new ids (below)
        n = int(round(fleet * n_real))
    if n <= 0:
        raise ValueError("stores must be positive")
    pick = min(n, n_real)
    real_ids = np.asarray(order[:pick], dtype=object)
    code = pd.Index(real_ids)

    h_idx = code.get_indexer(hours["store_id"])
    sel = h_idx >= 0
    h_idx = h_idx[sel]
    srt = np.argsort(h_idx, kind="stable")
    h_idx = h_idx[srt]
    h_day = hours["day"].to_numpy()[sel][srt].astype(np.int8)
    h_start = _as_bytes(hours["start"].to_numpy()[sel][srt])
    h_end = _as_bytes(hours["end"].to_numpy()[sel][srt])

    z_idx = code.get_indexer(zones["store_id"])
    zone_of = np.zeros(pick, dtype=object)
    zone_of[:] = ""
    zone_of[z_idx[z_idx >= 0]] = zones["tz"].to_numpy()[z_idx >= 0]
    ids = _as_bytes(real_ids.astype(str))
    zone_arr = _as_bytes(zone_of.astype(str))

    if n > n_real:
        extra = n - n_real
        style = "int" if all(s.isdigit() for s in order[:50]) else "uuid"
        if style == "uuid" and not all(UUID_RE.match(s) for s in order[:50]):
            log.warning("real ids are neither integers nor UUIDs; clones get UUIDs")
        new_ids = _unique_ids(rng, extra, style, ids)
        src = rng.integers(0, n_real, extra)
        counts_real = np.bincount(h_idx, minlength=n_real)
        starts_real = np.cumsum(counts_real) - counts_real
        rows = _ranges(starts_real[src], counts_real[src])
        clone_store = np.repeat(np.arange(n_real, n, dtype=np.int64), counts_real[src])
        width = max(ids.dtype.itemsize, new_ids.dtype.itemsize)
        ids = np.concatenate([ids.astype(f"S{width}"), new_ids.astype(f"S{width}")])
        h_idx = np.concatenate([h_idx, clone_store])
        h_day = np.concatenate([h_day, h_day[rows]])
        h_start = np.concatenate([h_start, h_start[rows]])
        h_end = np.concatenate([h_end, h_end[rows]])
        zone_arr = np.concatenate([zone_arr, zone_arr[src]])

    # some stores lose their hours (-> 24x7) or their zone (-> default zone)
    no_hours = rng.random(n) < drop_hours
    no_zone = rng.random(n) < drop_zones
    keep = ~no_hours[h_idx]
    zone_arr = np.where(no_zone, b"", zone_arr)
    return StoreSet(
        ids=ids,
        hours_store=h_idx[keep].astype(np.int64),
        hours_day=h_day[keep],
        hours_start=h_start[keep],
        hours_end=h_end[keep],
        zones=zone_arr,
    )


# --------------------------------------------------------------------------
# stores: synthetic
# --------------------------------------------------------------------------
H = 3600


def _synthetic_stores(stores: int, rng: np.random.Generator) -> StoreSet:
    n = stores
    if n <= 0:
        raise ValueError("stores must be positive")
    is_uuid = rng.random(n) < SYNTH_ID_UUID_SHARE
    ids = np.empty(n, dtype="S36")
    taken = np.zeros(0, dtype="S36")
    ids[~is_uuid] = _unique_ids(rng, int((~is_uuid).sum()), "int-varied", taken)
    ids[is_uuid] = _unique_ids(rng, int(is_uuid.sum()), "uuid", taken)

    names = [z for z, _ in SYNTH_ZONES]
    weights = np.array([w for _, w in SYNTH_ZONES])
    zone_code = rng.choice(len(names), n, p=weights / weights.sum())
    zones = _as_bytes(np.array(names)[zone_code])
    zones = np.where(rng.random(n) < SYNTH_NO_ZONE, b"", zones)

    # hour patterns
    patterns = np.array([0.15, 0.30, 0.10, 0.08, 0.10, 0.10, 0.05, 0.04, 0.02, 0.03, 0.03])
    (P_24X7, P_REG, P_CLOSED, P_WEEKEND, P_NIGHT, P_SPLIT, P_MIDNIGHT, P_FULL, P_SAME, P_ZERO_END, P_TINY) = range(11)
    pat = rng.choice(len(patterns), n, p=patterns / patterns.sum())
    opening = rng.integers(6, 12, n) * H + rng.choice([0, 900, 1800, 2700], n)
    closing = rng.integers(20, 24, n) * H + rng.choice([0, 1800], n)
    night_open = rng.integers(16, 21, n) * H + rng.choice([0, 1800], n)
    night_close = rng.integers(1, 4, n) * H + rng.choice([0, 1800], n)
    closed1 = rng.integers(0, 7, n)
    closed2 = np.where(rng.random(n) < 0.5, rng.integers(0, 7, n), -1)
    lunch_open = 11 * H + rng.choice([0, 1800], n)
    lunch_close = 14 * H + rng.choice([0, 1800, 3600], n)
    overlap = rng.random(n) < 0.2  # split rows that overlap: union semantics
    dinner_open = np.where(overlap, lunch_close - 1800, 17 * H + rng.choice([0, 1800], n))
    dinner_close = rng.integers(21, 24, n) * H

    # candidate table: store x day x slot(2)
    start = np.zeros((n, 7, 2), dtype=np.int64)
    end = np.zeros((n, 7, 2), dtype=np.int64)
    present = np.zeros((n, 7, 2), dtype=bool)
    day = np.arange(7)[None, :]

    def put(mask: np.ndarray, slot: int, s: np.ndarray, e: np.ndarray, on: np.ndarray | None = None) -> None:
        m = mask[:, None] & (np.ones((1, 7), dtype=bool) if on is None else on)
        start[:, :, slot] = np.where(m, s[:, None] if s.ndim == 1 else s, start[:, :, slot])
        end[:, :, slot] = np.where(m, e[:, None] if e.ndim == 1 else e, end[:, :, slot])
        present[:, :, slot] |= m

    put(pat == P_REG, 0, opening, closing)
    open_days = (day != closed1[:, None]) & (day != closed2[:, None])
    put(pat == P_CLOSED, 0, opening, closing, open_days)
    weekend = day >= 5
    put(pat == P_WEEKEND, 0, opening, closing, ~weekend)
    put(pat == P_WEEKEND, 0, opening + H, np.minimum(closing + H, 24 * H), weekend)
    put(pat == P_NIGHT, 0, night_open, night_close)
    put(pat == P_SPLIT, 0, lunch_open, lunch_close, day != closed1[:, None])
    put(pat == P_SPLIT, 1, dinner_open, dinner_close, day != closed1[:, None])
    put(pat == P_MIDNIGHT, 0, opening, np.full(n, 24 * H))
    put(pat == P_FULL, 0, np.zeros(n, dtype=np.int64), np.full(n, 24 * H - 1))
    put(pat == P_SAME, 0, opening, opening)
    put(pat == P_ZERO_END, 0, opening, np.zeros(n, dtype=np.int64))
    put(pat == P_TINY, 0, np.zeros(n, dtype=np.int64), np.full(n, 600))

    s_idx, d_idx, k_idx = np.nonzero(present)  # C order: grouped by store, day, slot
    return StoreSet(
        ids=ids,
        hours_store=s_idx.astype(np.int64),
        hours_day=d_idx.astype(np.int8),
        hours_start=_format_hms(start[s_idx, d_idx, k_idx]),
        hours_end=_format_hms(end[s_idx, d_idx, k_idx]),
        zones=zones,
    )
