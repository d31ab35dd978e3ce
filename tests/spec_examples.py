"""Minimal loaders for the worked examples in data/spec_examples (SPEC 2.6).

Why so simple: the examples are tiny, clean CSVs; parsing them with the `csv` module keeps the
reference tests independent of the project's own ingestion code.  The frames they return have
the shape `compute_uptime` expects.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from conftest import SPEC_EXAMPLES

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse_utc_us(text: str) -> int:
    """'2023-01-23 10:14:00 UTC', '2023-01-23T12:00:00Z', ... -> epoch microseconds (UTC)."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[: -len(" UTC")]
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def parse_local_seconds(text: str) -> int:
    """'HH:MM:SS' or 'HH:MM' (24:00 allowed) -> seconds since local midnight."""
    parts = [int(p) for p in text.strip().split(":")]
    hours, minutes, seconds = (parts + [0])[:3]
    return hours * 3600 + minutes * 60 + seconds


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


@dataclass(frozen=True)
class SpecExample:
    name: str
    polls: pd.DataFrame
    hours: pd.DataFrame
    zones: pd.DataFrame
    now_us: int
    expected: pd.DataFrame  # indexed by store, the six report columns as floats


def load_example(folder: Path) -> SpecExample:
    """Read one example folder (store_status.csv, menu_hours.csv, timezones.csv, as_of,
    expected.csv)."""
    status = _rows(folder / "store_status.csv")
    polls = pd.DataFrame(
        {
            "store": pd.Series([r["store_id"] for r in status], dtype=object),
            "ts_us": pd.Series([parse_utc_us(r["timestamp_utc"]) for r in status], dtype="int64"),
            "active": pd.Series([r["status"].lower() == "active" for r in status], dtype=bool),
        }
    )
    menu = _rows(folder / "menu_hours.csv")
    hours = pd.DataFrame(
        {
            "store": pd.Series([r["store_id"] for r in menu], dtype=object),
            "day": pd.Series([int(r["dayOfWeek"]) for r in menu], dtype="int64"),
            "start_s": pd.Series([parse_local_seconds(r["start_time_local"]) for r in menu], dtype="int64"),
            "end_s": pd.Series([parse_local_seconds(r["end_time_local"]) for r in menu], dtype="int64"),
        }
    )
    tz_rows = _rows(folder / "timezones.csv")
    zones = pd.DataFrame(
        {
            "store": pd.Series([r["store_id"] for r in tz_rows], dtype=object),
            "tz": pd.Series([r["timezone_str"] for r in tz_rows], dtype=object),
        }
    )
    now_us = parse_utc_us((folder / "as_of").read_text())
    expected_rows = _rows(folder / "expected.csv")
    columns = [c for c in expected_rows[0] if c != "store_id"] if expected_rows else []
    expected = pd.DataFrame(
        [[float(r[c]) for c in columns] for r in expected_rows],
        columns=columns,
        index=pd.Index([r["store_id"] for r in expected_rows], name="store", dtype=object),
    )
    return SpecExample(folder.name, polls, hours, zones, now_us, expected)


def example_folders() -> list[Path]:
    """Every example folder (those holding an expected.csv), sorted by name."""
    return sorted(p for p in SPEC_EXAMPLES.iterdir() if (p / "expected.csv").is_file())
