"""Local wall-clock time → UTC for many stores at once, with zoneinfo's fold=0 rule.

A zone's offset is piecewise constant between transitions, so a handful of (wall-time
threshold, offset) segments per zone and one `searchsorted` convert every business-hours
boundary of every store. The thresholds follow CPython's zoneinfo: a transition takes effect
at wall time T + max(offset before, offset after), so a skipped (spring) wall time keeps the
offset in force before the transition and a repeated (autumn) one takes its first occurrence.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import numpy as np

DEFAULT_ZONE = "America/Chicago"
_SAMPLE_STEP_S = 3600
_WALL_BITS = 34  # seconds of wall time per zone in the combined search key


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def resolve_zone(name: object) -> str:
    """An IANA zone name, or the default for a missing or unknown one (SPEC 2.3)."""
    if isinstance(name, str) and name in known_zones():
        return name
    return DEFAULT_ZONE


def _offset_at(zone: ZoneInfo, utc_s: int) -> int:
    offset = datetime.fromtimestamp(utc_s, tz=zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


@lru_cache(maxsize=4096)
def zone_segments(name: str, lo_s: int, hi_s: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(wall-time thresholds, offsets) of `name` for UTC instants in [lo_s, hi_s].

    The first threshold is -2**62 (before everything); offsets are seconds east of UTC.
    """
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(DEFAULT_ZONE)
    start = lo_s - lo_s % _SAMPLE_STEP_S
    samples = list(range(start, hi_s + 2 * _SAMPLE_STEP_S, _SAMPLE_STEP_S))
    offsets = [_offset_at(zone, s) for s in samples]
    thresholds = [-(2**62)]
    values = [offsets[0]]
    for i in range(1, len(samples)):
        if offsets[i] == offsets[i - 1]:
            continue
        # Bisect to the exact second of the transition: before < t <= after.
        before, after = samples[i - 1], samples[i]
        while after - before > 1:
            middle = (before + after) // 2
            if _offset_at(zone, middle) == offsets[i - 1]:
                before = middle
            else:
                after = middle
        thresholds.append(after + max(offsets[i - 1], offsets[i]))
        values.append(offsets[i])
    return tuple(thresholds), tuple(values)


def wall_to_utc(zone_names: Sequence[str], zone_index: np.ndarray, wall_s: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of local wall times.

    `wall_s` are wall-clock times written as if they were UTC epoch seconds (days since
    1970-01-01 × 86400 + seconds since local midnight); `zone_index` points into `zone_names`.
    """
    if len(wall_s) == 0:
        return np.zeros(0, dtype=np.int64)
    wall_s = np.asarray(wall_s, dtype=np.int64)
    zone_index = np.asarray(zone_index, dtype=np.int64)
    base = int(wall_s.min()) - 2 * 86_400
    lo_s, hi_s = base, int(wall_s.max()) + 2 * 86_400
    if hi_s - base >= 2**_WALL_BITS:
        raise ValueError("wall times span too wide a range for one conversion")
    seg_zone: list[np.ndarray] = []
    seg_threshold: list[np.ndarray] = []
    seg_offset: list[np.ndarray] = []
    for z, name in enumerate(zone_names):
        thresholds, offsets = zone_segments(name, lo_s, hi_s)
        seg_zone.append(np.full(len(thresholds), z, dtype=np.int64))
        seg_threshold.append(np.clip(np.asarray(thresholds, dtype=np.int64) - base, 0, None))
        seg_offset.append(np.asarray(offsets, dtype=np.int64))
    seg_keys = (np.concatenate(seg_zone) << _WALL_BITS) + np.concatenate(seg_threshold)
    offsets_all = np.concatenate(seg_offset)
    order = np.argsort(seg_keys, kind="stable")
    seg_keys, offsets_all = seg_keys[order], offsets_all[order]
    keys = (zone_index << _WALL_BITS) + (wall_s - base)
    position = np.searchsorted(seg_keys, keys, side="right") - 1
    return wall_s - offsets_all[position]
