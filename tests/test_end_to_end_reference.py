"""The whole pipeline against the reference implementation on realistic data.

Real 2023 business hours and time zones (several zones, some stores without hours or zone),
generated polls written in every accepted spelling with bad rows mixed in, loaded with
`flask load-data` and reported with `flask report` on SQLite and MySQL — compared store by store
with `reference_uptime` computed from a clean copy of the same data (same seed, plain format,
no bad rows), parsed here with the csv module only. A window with a DST change is included.
"""
from __future__ import annotations

import csv
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from conftest import REAL_2023, ROOT
from reference_report import reference_uptime
from spec_examples import parse_local_seconds, parse_utc_us

sys.path.insert(0, str(ROOT / "scripts"))
from generate_data import generate

STORES = 150
# The US spring-forward night (2023-03-12) falls inside the week of the second report.
END = datetime(2023, 3, 14, 18, 13, 22, tzinfo=timezone.utc)
AS_OFS = [None, "2023-03-13T07:30:00Z"]


def clean_frames(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def rows(name: str) -> list[dict[str, str]]:
        with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))

    polls = pd.DataFrame(
        [{"store": r["store_id"], "ts_us": parse_utc_us(r["timestamp_utc"]), "active": r["status"] == "active"}
         for r in rows("store_status.csv")]
    )
    hours = pd.DataFrame(
        [{"store": r["store_id"], "day": int(r["dayOfWeek"]), "start_s": parse_local_seconds(r["start_time_local"]),
          "end_s": parse_local_seconds(r["end_time_local"])} for r in rows("menu_hours.csv")],
        columns=["store", "day", "start_s", "end_s"],
    )
    zones = pd.DataFrame([{"store": r["store_id"], "tz": r["timezone_str"]} for r in rows("timezones.csv")])
    return polls, hours, zones


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    base = tmp_path_factory.mktemp("e2e")
    common = dict(stores=STORES, days=8.5, end=END, real_dir=REAL_2023, seed=11, drop_hours=0.05, drop_zones=0.05)
    generate(base / "clean", **common)
    messy = generate(base / "messy", variants=True, bad_rows=40, **common)
    return base / "clean", base / "messy", messy


@pytest.mark.parametrize("as_of", AS_OFS, ids=["latest", "dst-week"])
def test_reports_match_the_reference(app, datasets, tmp_path: Path, as_of: str | None) -> None:
    clean, messy, generated = datasets
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["load-data", "--dir", str(messy)])
    assert loaded.exit_code == 0, loaded.output
    bad = generated["bad_rows"]
    assert f"({generated['polls']} new polls), {bad['store_status.csv']} rejected" in loaded.output
    assert f"{bad['menu_hours.csv']} rejected" in loaded.output
    out = tmp_path / "report.csv"
    args = ["report", "--out", str(out)] + (["--as-of", as_of] if as_of else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output

    polls, hours, zones = clean_frames(clean)
    now_us = parse_utc_us(as_of) if as_of else int(polls["ts_us"].max())
    expected = reference_uptime(polls, hours, zones, now_us)
    got = pd.read_csv(out, dtype={"store_id": str}).set_index("store_id")
    assert list(got.index) == sorted(expected.index)
    difference = (got[expected.columns] - expected.loc[got.index]).abs()
    assert float(difference.to_numpy().max()) <= 0.01, difference.max()
    assert (got.to_numpy() > 0).any()  # not a trivially empty report
