"""Generated input data, cached per scale, and the run folders built from it."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from benchkit.settings import APPEND_FILE, DAYS, GENERATOR, REAL_DIR, ROOT, STATUS_FILE, StepError, log, tail


def real_store_count(real_dir: Path) -> int:
    """Distinct store ids of the real files, as generate_data.py counts them."""
    import pandas as pd

    zones = pd.read_csv(real_dir / "timezones.csv", dtype=str, usecols=["store_id"])
    hours = pd.read_csv(real_dir / "menu_hours.csv", dtype=str, usecols=["store_id"])
    return len(pd.unique(pd.concat([zones["store_id"], hours["store_id"]], ignore_index=True)))


def count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            count += chunk.count(b"\n")
    return max(0, count - 1)  # header


def ensure_data(python: str, workdir: Path, key: str, stores: int | None, days: float = DAYS,
                extra: tuple[str, ...] = ()) -> tuple[Path, dict[str, Any]]:
    """Generated files for one data set, from the cache when a complete earlier run left them.

    `key` must name the set uniquely (stores, days, extra generator options)."""
    data_dir = workdir / f"data-{key}"
    marker = data_dir / "generated.json"
    if marker.is_file() and (data_dir / STATUS_FILE).is_file():
        info = json.loads(marker.read_text())
        log(f"using cached data {data_dir} ({info.get('stores')} stores)")
        return data_dir, info
    temp = workdir / f"data-{key}.partial"
    shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    cmd = [python, str(GENERATOR), "--real-dir", str(REAL_DIR), "--days", f"{days:g}", "--out", str(temp), "--json"]
    if stores is not None:
        cmd += ["--stores", str(stores)]
    cmd += list(extra)
    log(f"generating data: {shlex.join(cmd)}")
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise StepError(f"data generation failed (exit {proc.returncode})\n{tail(proc.stderr)}")
    info = json.loads(proc.stdout)
    info["generate_seconds"] = round(time.perf_counter() - started, 2)
    (temp / "generated.json").write_text(json.dumps(info, indent=2))
    temp.rename(data_dir)
    log(f"generated {info['stores']} stores, {info['store_status_rows']} poll rows in {info['generate_seconds']}s")
    return data_dir, info


def ensure_append_lines(data_dir: Path) -> tuple[bytes, int]:
    """One more hour of polls: the polls of the last hour, shifted by +1 h, in the file's format."""
    cached = data_dir / APPEND_FILE
    if cached.is_file():
        data = cached.read_bytes()
        return data, data.count(b"\n")
    import pandas as pd

    frame = pd.read_csv(data_dir / STATUS_FILE, dtype=str, keep_default_na=False)
    ts = pd.to_datetime(frame["timestamp_utc"].str.removesuffix(" UTC"), format="ISO8601", utc=True, errors="coerce")
    last = ts.max()
    recent = frame[ts > last - pd.Timedelta(hours=1)].copy()
    shifted = ts[ts > last - pd.Timedelta(hours=1)] + pd.Timedelta(hours=1)
    recent["timestamp_utc"] = shifted.dt.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
    body = recent.to_csv(header=False, index=False, lineterminator="\n").encode()
    cached.write_bytes(body)
    return body, body.count(b"\n")


def prepare_run_dir(run_dir: Path, data_dir: Path) -> Path:
    """A load folder of its own: hard links to the hours and zone files, a copy of the polls."""
    load_dir = run_dir / "csv"
    shutil.rmtree(load_dir, ignore_errors=True)
    load_dir.mkdir(parents=True)
    for source in data_dir.glob("*.csv"):
        target = load_dir / source.name
        if source.name == STATUS_FILE:
            shutil.copyfile(source, target)
        else:
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
    return load_dir
