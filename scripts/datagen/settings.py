"""Constants of the data model (tuned to the real data) and the two record types."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np


DEFAULT_END = datetime(2023, 1, 25, 18, 13, 22, tzinfo=timezone.utc)
DEFAULT_DAYS = 7.75
DEFAULT_SYNTHETIC_STORES = 1000

STATUS_FILE = "store_status.csv"
HOURS_FILE = "menu_hours.csv"
TZ_FILE = "timezones.csv"

US_PER_S = 1_000_000
US_PER_H = 3600 * US_PER_S
US_PER_DAY = 24 * US_PER_H

# --- poll model parameters (tuned: full 2023 store set, 7.75 days -> ~1.8M rows)
RANDOM_LOSS = 0.02  # iid lost polls
GAP_RATE = 0.0227  # mean per-store chance per hour that a poller gap starts
GAP_MAX_HOURS = 30  # gap lengths uniform 1..GAP_MAX_HOURS
EXTRA_POLL_RATE = 0.015  # a second poll in the same hour
SECOND_PRECISION = 0.06  # polls whose instant is whole seconds
MILLI_PRECISION = 0.04  # polls whose instant is whole milliseconds
DOWN_RATE = (0.01, 0.05)  # normal stores: per-hour chance to go down
DOWN_MAX_HOURS = 6
FLAKY_SHARE = 0.07
FLAKY_DOWN_RATE = (0.06, 0.20)
FLAKY_MAX_HOURS = 10
DEAD_SHARE = 0.005  # stores with one multi-day outage
LEAD_SLOTS = 48  # simulate this many hours before the window (no edge effects)
POLL_BLOCK = 4096  # stores per generation block (fixed: part of the determinism)

SYNTH_ZONES: tuple[tuple[str, float], ...] = (
    ("America/New_York", 0.40),
    ("America/Los_Angeles", 0.18),
    ("America/Chicago", 0.12),
    ("America/Denver", 0.05),
    ("America/Phoenix", 0.04),
    ("America/Detroit", 0.02),
    ("America/Indiana/Indianapolis", 0.02),
    ("America/Boise", 0.01),
    ("America/Anchorage", 0.01),
    ("Pacific/Honolulu", 0.01),
    ("America/Sao_Paulo", 0.01),
    ("America/St_Johns", 0.01),  # UTC-3:30
    ("Europe/London", 0.02),
    ("Europe/Berlin", 0.02),
    ("Asia/Kolkata", 0.02),  # UTC+5:30
    ("Asia/Kathmandu", 0.01),  # UTC+5:45
    ("Asia/Beirut", 0.01),
    ("Asia/Tokyo", 0.01),
    ("Australia/Adelaide", 0.01),  # southern hemisphere DST, +9:30/+10:30
)
SYNTH_NO_ZONE = 0.03  # synthetic stores without a zone row
SYNTH_ID_UUID_SHARE = 0.2  # synthetic ids: 80% integer-like, 20% UUID

UNKNOWN_ZONES = ("Mars/Olympus", "America/Atlantis", "Moon/Tranquility", "Not/AZone")
DEFAULT_ZONE = "America/Chicago"

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIME_RE = r"^(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?$|^24:00(?::00)?$"


# --------------------------------------------------------------------------
# data model
# --------------------------------------------------------------------------
@dataclass
class StoreSet:
    """Stores with their business hours and zones (all byte-string arrays)."""

    ids: np.ndarray  # (S,) |S  store ids, output order
    hours_store: np.ndarray  # (R,) int64 index into ids, grouped by store
    hours_day: np.ndarray  # (R,) int8 0..6
    hours_start: np.ndarray  # (R,) |S  "HH:MM:SS"
    hours_end: np.ndarray  # (R,) |S
    zones: np.ndarray  # (S,) |S  b"" = no zone row


@dataclass
class Polls:
    """Valid poll rows (before shuffling)."""

    store: np.ndarray  # int64 index into StoreSet.ids
    us: np.ndarray  # int64 microseconds since the epoch (UTC)
    inactive: np.ndarray  # bool
    precision: np.ndarray  # int8: 0 = microseconds, 1 = milliseconds, 2 = seconds


# --------------------------------------------------------------------------
