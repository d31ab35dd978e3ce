"""Tests for scripts/generate_data.py, the synthetic input-data generator."""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_data.py"
END = datetime(2023, 1, 25, 18, 13, 22, tzinfo=timezone.utc)
FILES = ("store_status.csv", "menu_hours.csv", "timezones.csv")


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_data", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_data"] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


gd = _load_module()


def run(out: Path, **kw: object) -> dict:
    args = dict(stores=60, days=3.0, end=END, real_dir=None, seed=1, variants=False, bad_rows=0)
    args.update(kw)
    return gd.generate(out, **args)


# --------------------------------------------------------------------------
# a small reference reader: strict per-row validation, as SPEC section 1 says
# --------------------------------------------------------------------------
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?( UTC|Z|[+-]\d{2}:\d{2})?$")
TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


def parse_ts(text: str) -> datetime | None:
    text = text.strip()
    if not TS_RE.match(text):
        return None
    text = text.removesuffix(" UTC").replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    if rest:  # pad the fraction to 6 digits for fromisoformat
        m = re.match(r"^(\d+)(.*)$", rest)
        assert m
        text = f"{head}.{m.group(1).ljust(6, '0')}{m.group(2)}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_time(text: str, is_end: bool) -> int | None:
    m = TIME_RE.match(text.strip())
    if not m:
        return None
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if (h, mi, s) == (24, 0, 0):
        return 86400
    if h > 23 or mi > 59 or s > 59:
        return None
    secs = h * 3600 + mi * 60 + s
    return 86400 if (is_end and secs == 0) else secs  # an end of 00:00 closes at midnight


def read_rows(path: Path) -> list[list[str]]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.to_numpy().tolist()


def load(out: Path) -> dict:
    """Valid data + the 1-based line numbers of rejected rows, per file."""
    polls: dict[tuple[str, datetime], str] = {}
    rejected: dict[str, list[int]] = {f: [] for f in FILES}
    for i, (sid, status, ts) in enumerate(read_rows(out / "store_status.csv")):
        sid, status, when = sid.strip(), status.strip().lower(), parse_ts(ts)
        if not sid or status not in ("active", "inactive") or when is None:
            rejected["store_status.csv"].append(i + 2)
            continue
        if polls.get((sid, when)) != "inactive":  # inactive wins on conflicts
            polls[(sid, when)] = status
    hours = []
    for i, (sid, day, start, end) in enumerate(read_rows(out / "menu_hours.csv")):
        s, e = parse_time(start, False), parse_time(end, True)
        if not sid.strip() or day.strip() not in [str(d) for d in range(7)] or s is None or e is None:
            rejected["menu_hours.csv"].append(i + 2)
            continue
        hours.append((sid.strip(), int(day), s, e))
    zones = {}
    for i, (sid, tz) in enumerate(read_rows(out / "timezones.csv")):
        if not sid.strip():
            rejected["timezones.csv"].append(i + 2)
            continue
        tz = tz.strip()
        zones[sid.strip()] = tz if tz not in gd.UNKNOWN_ZONES else "America/Chicago"
    zones = {k: v for k, v in zones.items() if v != "America/Chicago"}  # the default
    return {"polls": polls, "hours": sorted(hours), "zones": zones, "rejected": rejected}


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------
def test_seed_determinism(tmp_path: Path) -> None:
    r1 = run(tmp_path / "a", variants=True, bad_rows=12)
    r2 = run(tmp_path / "b", variants=True, bad_rows=12)
    run(tmp_path / "c", variants=True, bad_rows=12, seed=2)
    assert r1 == r2
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "store_status.csv").read_bytes() != (tmp_path / "c" / "store_status.csv").read_bytes()


def test_counts_plausible_and_match_files(tmp_path: Path) -> None:
    res = run(tmp_path, stores=80, days=4.0)
    status = pd.read_csv(tmp_path / "store_status.csv", dtype=str)
    hours = pd.read_csv(tmp_path / "menu_hours.csv", dtype=str)
    zones = pd.read_csv(tmp_path / "timezones.csv", dtype=str)
    assert list(status.columns) == ["store_id", "status", "timestamp_utc"]
    assert list(hours.columns) == ["store_id", "dayOfWeek", "start_time_local", "end_time_local"]
    assert list(zones.columns) == ["store_id", "timezone_str"]
    assert len(status) == res["store_status_rows"] == res["polls"]
    assert len(hours) == res["menu_hours_rows"]
    assert len(zones) == res["timezones_rows"]
    assert res["stores"] == 80
    # every store is polled, roughly hourly, with some loss
    per_store = status.groupby("store_id").size()
    assert len(per_store) == 80
    hourly = 4 * 24
    assert 0.55 * hourly * 80 < len(status) < 1.0 * hourly * 80
    # mostly active, but with inactivity
    inactive = (status["status"] == "inactive").mean()
    assert 0.02 < inactive < 0.35
    # some 24x7 stores (no hours rows) and some stores without a zone row
    assert res["stores_without_hours"] == 80 - hours["store_id"].nunique() > 0
    assert set(hours["store_id"]) <= set(per_store.index)
    assert set(zones["store_id"]) <= set(per_store.index)
    assert (status["status"].isin(["active", "inactive"])).all()
    # not sorted: the real file is not either
    assert not status["timestamp_utc"].is_monotonic_increasing


@pytest.mark.parametrize("variants", [False, True])
def test_all_timestamps_parse_with_pandas(tmp_path: Path, variants: bool) -> None:
    days = 2.5
    run(tmp_path, days=days, variants=variants)
    status = pd.read_csv(tmp_path / "store_status.csv", dtype=str, encoding="utf-8-sig")
    parsed = pd.to_datetime(status["timestamp_utc"].str.removesuffix(" UTC"), format="ISO8601", utc=True)
    assert not parsed.isna().any()
    assert parsed.max() == pd.Timestamp(END)  # the latest poll is exactly `end`
    assert parsed.min() >= pd.Timestamp(END) - pd.Timedelta(days=days)
    if not variants:  # the real format, fraction with trailing zeros dropped
        assert status["timestamp_utc"].str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])? UTC$").all()


def test_bad_rows_exact(tmp_path: Path) -> None:
    res = run(tmp_path, bad_rows=25)
    assert sum(res["bad_rows"].values()) == 25
    assert all(v > 0 for v in res["bad_rows"].values())
    data = load(tmp_path)
    for name in FILES:
        assert sorted(data["rejected"][name]) == sorted(res["bad_lines"][name])
        assert len(res["bad_lines"][name]) == res["bad_rows"][name]
    assert res["duplicate_polls"] > 0 and res["conflicting_duplicates"] > 0
    assert res["unknown_timezones"] > 0
    zones = pd.read_csv(tmp_path / "timezones.csv", dtype=str, keep_default_na=False)
    assert zones["timezone_str"].isin(gd.UNKNOWN_ZONES).sum() == res["unknown_timezones"]
    status = pd.read_csv(tmp_path / "store_status.csv", dtype=str, keep_default_na=False)
    ok = status[~(status.index + 2).isin(res["bad_lines"]["store_status.csv"])]
    dup = ok.duplicated(["store_id", "timestamp_utc"], keep=False)
    assert ok[["store_id", "timestamp_utc"]].duplicated().sum() == res["duplicate_polls"]
    conflicting = ok[dup].groupby(["store_id", "timestamp_utc"])["status"].nunique().gt(1).sum()
    assert conflicting == res["conflicting_duplicates"]
    assert len(data["polls"]) == res["polls"]


def test_bad_rows_with_variants_count(tmp_path: Path) -> None:
    res = run(tmp_path, bad_rows=7, variants=True)
    data = load(tmp_path)
    assert {k: len(v) for k, v in data["rejected"].items()} == res["bad_rows"]


@pytest.mark.parametrize("seed", [0, 5])
def test_variants_and_bad_rows_mean_the_same_data(tmp_path: Path, seed: int) -> None:
    plain = load_run(tmp_path / "plain", seed=seed)
    variants = load_run(tmp_path / "variants", seed=seed, variants=True)
    noisy = load_run(tmp_path / "noisy", seed=seed, variants=True, bad_rows=40)
    for other in (variants, noisy):
        assert other["polls"] == plain["polls"]
        assert other["hours"] == plain["hours"]
        assert other["zones"] == plain["zones"]
    # the variants really are there
    text = (tmp_path / "variants" / "store_status.csv").read_bytes().decode("utf-8-sig")
    for needle in ("Z\r\n", "+00:00", " Active ", "INACTIVE", "\r\n"):
        assert needle in text
    assert re.search(r"T\d\d:\d\d:\d\d(\.\d+)?-0[358]:[03]0\r\n", text)
    assert re.search(r" \d\d:\d\d:\d\d\r\n", text)  # naive = UTC
    hours_text = (tmp_path / "variants" / "menu_hours.csv").read_bytes().decode("utf-8-sig")
    assert re.search(r",\d\d:\d\d,", hours_text) and re.search(r",24:00\n", hours_text)


def load_run(out: Path, **kw: object) -> dict:
    run(out, stores=150, **kw)
    return load(out)


def test_offset_variant_is_same_instant(tmp_path: Path) -> None:
    run(tmp_path / "p", seed=3)
    run(tmp_path / "v", seed=3, variants=True)

    def instants(d: Path) -> pd.DataFrame:
        s = pd.read_csv(d / "store_status.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        s["store_id"] = s["store_id"].str.strip()
        s["t"] = pd.to_datetime(s["timestamp_utc"].str.strip().str.removesuffix(" UTC"), format="ISO8601", utc=True)
        return s.sort_values(["store_id", "t"])[["store_id", "t"]].reset_index(drop=True)

    pd.testing.assert_frame_equal(instants(tmp_path / "p"), instants(tmp_path / "v"))


def test_synthetic_hours_mix(tmp_path: Path) -> None:
    run(tmp_path, stores=400, days=1.0)
    hours = pd.read_csv(tmp_path / "menu_hours.csv", dtype=str)
    zones = pd.read_csv(tmp_path / "timezones.csv", dtype=str)
    assert (hours["end_time_local"] < hours["start_time_local"]).any()  # overnight
    assert (hours["end_time_local"] == "24:00:00").any()
    assert hours.groupby(["store_id", "dayOfWeek"]).size().max() >= 2  # split
    days_per_store = hours.groupby("store_id")["dayOfWeek"].nunique()
    assert (days_per_store < 7).any()  # closed days
    assert zones["timezone_str"].str.startswith("America/").mean() > 0.6
    assert zones["timezone_str"].str.startswith(("Europe/", "Asia/")).any()
    assert hours["dayOfWeek"].isin([str(d) for d in range(7)]).all()


def _write_real(d: Path, ids: list[str], day_col: str) -> None:
    d.mkdir()
    rows = [f"{sid},{day},09:00:00,1{i % 10}:30:00" for i, sid in enumerate(ids[:-1]) for day in (0, 2, 4)]
    (d / "menu_hours.csv").write_text(f"store_id,{day_col},start_time_local,end_time_local\n" + "\n".join(rows) + "\n")
    zones = [f"{sid},America/Denver" for sid in ids[1:]]
    (d / "timezones.csv").write_text("store_id,timezone_str\n" + "\n".join(zones) + "\n")


@pytest.mark.parametrize("style", ["int", "uuid"])
def test_real_dir_subset_and_clones(tmp_path: Path, style: str) -> None:
    rng = np.random.default_rng(0)
    if style == "int":
        ids = [str(x) for x in rng.integers(10**17, 9 * 10**18, 12)]
        day_col, pattern = "day", r"^[1-9]\d{18}$"
    else:
        import uuid

        ids = [str(uuid.UUID(bytes=bytes(rng.integers(0, 256, 16, dtype=np.uint8)), version=4)) for _ in range(12)]
        day_col, pattern = "dayOfWeek", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    real = tmp_path / "real"
    _write_real(real, ids, day_col)
    # union order: the zone file first, then stores only in the hours file
    order = ids[1:] + ids[:1]

    res = run(tmp_path / "few", stores=5, real_dir=real, drop_hours=0.0, drop_zones=0.0)
    status = pd.read_csv(tmp_path / "few" / "store_status.csv", dtype=str)
    assert res["stores"] == 5 and set(status["store_id"]) == set(order[:5])

    res = run(tmp_path / "many", stores=40, real_dir=real, drop_hours=0.0, drop_zones=0.0)
    status = pd.read_csv(tmp_path / "many" / "store_status.csv", dtype=str)
    hours = pd.read_csv(tmp_path / "many" / "menu_hours.csv", dtype=str)
    zones = pd.read_csv(tmp_path / "many" / "timezones.csv", dtype=str)
    assert res["stores"] == 40 and status["store_id"].nunique() == 40
    new = set(status["store_id"]) - set(ids)
    assert len(new) == 28 and all(re.match(pattern, s) for s in new)
    # clones carry a real store's hours (3 rows of 09:00-1x:30) and zone
    per_store = hours.groupby("store_id").size()
    assert set(per_store) == {3}
    assert set(zones["timezone_str"]) == {"America/Denver"}
    assert hours["start_time_local"].eq("09:00:00").all()


def test_real_dir_drops_hours_and_zones(tmp_path: Path) -> None:
    ids = [str(10**18 + i * 7919) for i in range(300)]
    real = tmp_path / "real"
    _write_real(real, ids, "day_of_week")
    res = run(tmp_path / "out", stores=None, real_dir=real, drop_hours=0.05, drop_zones=0.05)
    assert res["stores"] == 300
    # 1 store has no hours and 1 no zone in the real files themselves
    assert res["stores_without_hours"] > 1 and res["stores_without_timezone"] > 1


from conftest import REAL_2023  # noqa: E402


def test_real_2023_sample_keeps_real_values(tmp_path: Path) -> None:
    real = REAL_2023
    run(tmp_path, stores=50, real_dir=real, drop_hours=0.0, drop_zones=0.0)
    out_hours = pd.read_csv(tmp_path / "menu_hours.csv", dtype=str)
    real_hours = pd.read_csv(real / "menu_hours.csv", dtype=str).rename(columns={"day": "dayOfWeek"})
    mine = real_hours[real_hours["store_id"].isin(set(out_hours["store_id"]))]
    key = ["store_id", "dayOfWeek", "start_time_local", "end_time_local"]
    assert sorted(map(tuple, mine[key].to_numpy())) == sorted(map(tuple, out_hours[key].to_numpy()))
    real_zones = pd.read_csv(real / "timezones.csv", dtype=str)
    assert pd.read_csv(tmp_path / "timezones.csv", dtype=str)["store_id"].tolist() == real_zones["store_id"][:50].tolist()


def test_datetime_formatting_matches_python() -> None:
    rng = np.random.default_rng(7)
    us = rng.integers(-(10**16), 4 * 10**18 // 1000, 20_000)
    frac = rng.integers(0, 7, us.shape[0])
    got = gd._from_buf(gd._format_datetimes(us, np.full(us.shape[0], ord("T"), np.uint8), frac))
    epoch = datetime(1970, 1, 1)
    for value, n, text in zip(us.tolist(), frac.tolist(), got.tolist()):
        expected = (epoch + timedelta(microseconds=value)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        expected = expected[: 20 + n] if n else expected[:19]
        assert text.decode() == expected


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gd.main(["--out", str(tmp_path), "--stores", "10", "--days", "1", "--end", "2023-03-12T12:00:00Z"]) == 0
    line = capsys.readouterr().out.strip()
    assert "10 stores" in line and "\n" not in line
    status = pd.read_csv(tmp_path / "store_status.csv", dtype=str)
    assert status["timestamp_utc"].max() == "2023-03-12 12:00:00 UTC"


def test_fleet_multiplies_the_real_stores_with_cloned_hours_and_zones(tmp_path: Path) -> None:
    ids = [str(10**18 + i * 7919) for i in range(30)]
    real = tmp_path / "real"
    _write_real(real, ids, "day")
    res = run(tmp_path / "fleet", stores=None, real_dir=real, fleet=3, days=1.0, drop_hours=0.0, drop_zones=0.0)
    status = pd.read_csv(tmp_path / "fleet" / "store_status.csv", dtype=str)
    hours = pd.read_csv(tmp_path / "fleet" / "menu_hours.csv", dtype=str)
    assert res["stores"] == 90 and status["store_id"].nunique() == 90
    new = set(status["store_id"]) - set(ids)
    assert len(new) == 60 and all(re.match(r"^[1-9]\d{18}$", s) for s in new)
    assert set(hours.groupby("store_id").size()) == {3}  # every clone has a real store's hours
    # the same as asking for that many stores
    again = run(tmp_path / "stores", real_dir=real, stores=90, days=1.0, drop_hours=0.0, drop_zones=0.0)
    assert again["stores"] == 90
    for name in ("store_status.csv", "menu_hours.csv", "timezones.csv"):
        assert (tmp_path / "fleet" / name).read_bytes() == (tmp_path / "stores" / name).read_bytes()
    with pytest.raises(ValueError):
        run(tmp_path / "bad", stores=None, fleet=2)  # a fleet multiplies real stores: it needs real_dir
