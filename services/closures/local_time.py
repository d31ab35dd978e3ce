"""Local wall-clock datetimes of closures → UTC, with the store's zone and zoneinfo's fold=0 rule.

The same conversion as business hours (SPEC 2.2, services/reports/timezones.py): an ambiguous
local time takes its first occurrence, a nonexistent one the offset in force before the change.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.reports.timezones import resolve_zone, wall_to_utc

US_PER_S = 1_000_000


def zone_names_of(keys: np.ndarray, stored: pd.Series) -> np.ndarray:
    """The zone each row's store uses: its stored name if known, else the default (SPEC 2.3).
    `stored` is a store key → zone name Series (models.closures.store_zones)."""
    names = stored.reindex(np.asarray(keys, dtype=np.int64)).fillna("").to_numpy(dtype=object)
    codes, given = pd.factorize(names)
    resolved = np.array([resolve_zone(name) for name in given], dtype=object)
    return resolved[codes] if len(codes) else np.zeros(0, dtype=object)


def local_to_utc_us(zone_names: np.ndarray, wall_s: np.ndarray) -> np.ndarray:
    """UTC epoch µs of wall times (`parsing.parse_local_datetimes` seconds), row by row zone."""
    if len(wall_s) == 0:
        return np.zeros(0, dtype=np.int64)
    codes, names = pd.factorize(np.asarray(zone_names, dtype=object))
    return wall_to_utc(list(names), codes, np.asarray(wall_s, dtype=np.int64)) * US_PER_S
