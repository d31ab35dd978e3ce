#!/usr/bin/env python
"""Benchmark of store-monitor: load, reload, CLI report and API report at several data scales.

One command, run from anywhere with the project's Python:

    python benchmarks/bench.py                      # scales 1 and 5, SQLite and MySQL
    python benchmarks/bench.py --scale 1            # one scale
    python benchmarks/bench.py --skip-mysql         # SQLite only
    python benchmarks/bench.py --quick              # smoke run, 2000 stores (~30 s)

Scale 1 is every real store of data/loop_sample/2023 (~13.5k) with 7.75 days of
hourly polls (~1.8M rows); scale k clones stores up to k times as many. Generated data is cached
in --workdir keyed by scale. Every measured step runs in a fresh subprocess (imports and cold
in-process caches count); its peak RSS is the child's ru_maxrss from os.wait4, and the running
service's is VmHWM from /proc/<pid>/status. Cheap steps take the best of --repeat runs.

Steps per scale and database:
  floor          plain pandas: read_csv + to_datetime of store_status.csv in a fresh python
  startup        `flask --app app --help` (process start, imports, create_app)
  load           `flask --app app load-data --dir D` into an empty database
  reload same    the same command again, files unchanged
  reload +1 h    the same command after ~1/186 more polls were appended (one hour later)
  report (CLI)   `flask --app app report --out F` (read / compute split parsed from its output)
  API report     `python app.py`: trigger -> poll /get_report every 20 ms -> CSV downloaded;
                 first report, 3 later ones (as_of differing by 1 s: result cache missed, same
                 data version) and an identical repeat (result cache hit)

The markdown tables go to stdout and to --out. MySQL databases bench_sm_<scale> are created on
127.0.0.1:3306 (root, no password; --mysql-url to change) and dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
REAL_DIR = ROOT / "data" / "loop_sample" / "2023"
GENERATOR = ROOT / "scripts" / "generate_data.py"
DAYS = 7.75
QUICK_STORES = 2000
STATUS_FILE = "store_status.csv"
APPEND_FILE = "append_1h.lines"  # cached appended polls (not a name the loader looks at)
STEP_TIMEOUT = 3600.0
POLL_INTERVAL = 0.02
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

FLOOR_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
ts = pd.to_datetime(df["timestamp_utc"].str.removesuffix(" UTC"), format="ISO8601", utc=True)
t2 = time.perf_counter()
print(f"rows={len(df)} import={t1 - t0:.3f} work={t2 - t1:.3f} valid={int(ts.notna().sum())}")
"""


# Runs `python -m MODULE ...` or `python -c CODE ...` and, at exit, writes the process's VmHWM
# (peak resident set of its own address space) to $BENCH_RSS_FILE. ru_maxrss from wait4 is not
# used first because Linux carries the parent's high-water mark into a forked-and-exec'd child.
RSS_WRAPPER = r"""
import atexit, os, runpy, sys
def _bench_report_rss():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    with open(os.environ["BENCH_RSS_FILE"], "w") as out:
                        out.write(line.split()[1])
    except (OSError, KeyError):
        pass
atexit.register(_bench_report_rss)
mode, target, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StepError(RuntimeError):
    """A measured step failed; the message says what and shows the output's tail."""


def tail(text: str, lines: int = 25) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("    | " + line for line in kept) if kept else "    | (empty)"


# --------------------------------------------------------------------------------------------
# measured subprocesses
# --------------------------------------------------------------------------------------------
@dataclass
class Measured:
    seconds: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str], env: dict[str, str], log_dir: Path, name: str,
                 timeout: float = STEP_TIMEOUT, check: bool = True) -> Measured:
    """Run cmd in a fresh process; wall seconds and the child's own peak RSS.

    A Python command (`python -m M ...` / `python -c CODE ...`) runs under RSS_WRAPPER, which
    reports VmHWM; anything else falls back to ru_maxrss from wait4 (an upper bound).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    rss_path = log_dir / f"{name}.vmhwm"
    rss_path.unlink(missing_ok=True)
    cmd = shown = list(cmd)
    if len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1] in ("-m", "-c"):
        cmd = [cmd[0], "-c", RSS_WRAPPER, *cmd[1:]]
        env = dict(env, BENCH_RSS_FILE=str(rss_path))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=ROOT)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: never leave the child running
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        rss_mb = int(rss_path.read_text().strip()) / 1024.0
    except (OSError, ValueError):
        rss_mb = usage.ru_maxrss / 1024.0
    result = Measured(seconds, rss_mb, proc.returncode,
                      out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))
    if check and (timed_out.is_set() or result.returncode != 0):
        why = f"timed out after {timeout:.0f}s" if timed_out.is_set() else f"exit code {result.returncode}"
        raise StepError(
            f"{name}: `{shlex.join(shown)}` failed ({why})\n  stdout tail:\n{tail(result.stdout, 8)}"
            f"\n  stderr tail:\n{tail(result.stderr)}\n  full logs: {out_path}, {err_path}"
        )
    return result


def best_of(runs: int, fn: Callable[[int], Measured]) -> tuple[Measured, list[Measured]]:
    results = [fn(i) for i in range(max(1, runs))]
    return min(results, key=lambda r: r.seconds), results


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Row:
    key: str  # stable across scales, for the growth table
    step: str
    seconds: float | None = None
    rss_mb: float | None = None
    notes: str = ""
    failed: bool = False
    relative: bool = True  # show × floor


@dataclass
class ScaleResult:
    label: str
    scale: float
    stores: int
    info: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def floor(self) -> float | None:
        for row in self.rows:
            if row.key == "floor" and row.seconds:
                return row.seconds
        return None


def fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_scale(res: ScaleResult) -> str:
    info = res.info
    lines = [
        f"### {res.label}: {res.stores:,} stores, {info.get('status_rows', 0):,} poll rows "
        f"({info.get('status_mb', 0):.0f} MB), {info.get('hours_rows', 0):,} hours rows, "
        f"{info.get('zones_rows', 0):,} zone rows",
        "",
        "| step | seconds | × floor | peak RSS MB | notes |",
        "|---|---:|---:|---:|---|",
    ]
    floor = res.floor()
    for row in res.rows:
        ratio = "—"
        if row.seconds is not None and floor and row.relative:
            ratio = f"{row.seconds / floor:.2f}"
        seconds = "FAILED" if row.failed else fmt_s(row.seconds)
        lines.append(f"| {row.step} | {seconds} | {ratio} | {fmt_mb(row.rss_mb)} | {md_escape(row.notes)} |")
    if res.errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {md_escape(e.splitlines()[0])}" for e in res.errors]
    return "\n".join(lines)


def render_growth(small: ScaleResult, large: ScaleResult) -> str:
    by_key = {row.key: row for row in small.rows}
    factor = large.scale / small.scale if small.scale else float("nan")
    a, b = f"{small.scale:g}×", f"{large.scale:g}×"
    lines = [
        f"### growth {a} → {b} (data ×{factor:g}: "
        f"{small.info.get('status_rows', 0):,} → {large.info.get('status_rows', 0):,} poll rows)",
        "",
        f"| step | s {a} | s {b} | time ratio | RSS MB {a} | RSS MB {b} | RSS ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def ratio(a: float | None, b: float | None) -> str:
        return f"{b / a:.2f}" if a and b is not None else "—"

    for row in large.rows:
        base = by_key.get(row.key)
        if base is None:
            continue
        lines.append(
            f"| {row.step} | {fmt_s(base.seconds)} | {fmt_s(row.seconds)} | {ratio(base.seconds, row.seconds)} "
            f"| {fmt_mb(base.rss_mb)} | {fmt_mb(row.rss_mb)} | {ratio(base.rss_mb, row.rss_mb)} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# machine and environment
# --------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(python: str) -> dict[str, str]:
    probe = (
        "import json, platform, sqlite3, pandas, numpy, sqlalchemy, flask\n"
        "v = {'python': platform.python_version(), 'pandas': pandas.__version__,"
        " 'numpy': numpy.__version__, 'sqlite': sqlite3.sqlite_version,"
        " 'sqlalchemy': sqlalchemy.__version__, 'flask': flask.__version__}\n"
        "try:\n import pymysql; v['pymysql'] = pymysql.__version__\nexcept ImportError: pass\n"
        "print(json.dumps(v))"
    )
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
        return json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError) as exc:
        return {"error": str(exc)}


def mem_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------------------------
# MySQL
# --------------------------------------------------------------------------------------------
class MySQL:
    def __init__(self, base_url: str) -> None:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(base_url.replace("mysql+pymysql://", "mysql://", 1))
        self.base_url = base_url.rstrip("/")
        self.kwargs = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=unquote(parts.username or "root"), password=unquote(parts.password or ""))
        self.created: set[str] = set()

    def connect(self) -> Any:
        import pymysql

        return pymysql.connect(connect_timeout=10, autocommit=True, **self.kwargs)

    def version(self) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return str(cur.fetchone()[0])

    def fresh(self, name: str) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            self.created.add(name)
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return f"{self.base_url}/{name}"

    def drop(self, name: str) -> None:
        try:
            with self.connect() as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            self.created.discard(name)
        except Exception as exc:  # reported, never fatal: cleanup runs in finally blocks
            log(f"WARNING: could not drop MySQL database {name}: {exc}")

    def drop_all(self) -> None:
        for name in sorted(self.created):
            self.drop(name)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
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


def ensure_data(python: str, workdir: Path, key: str, stores: int | None) -> tuple[Path, dict[str, Any]]:
    """Generated files for one scale, from the cache when a complete earlier run left them."""
    data_dir = workdir / f"data-{key}"
    marker = data_dir / "generated.json"
    if marker.is_file() and (data_dir / STATUS_FILE).is_file():
        info = json.loads(marker.read_text())
        log(f"using cached data {data_dir} ({info.get('stores')} stores)")
        return data_dir, info
    temp = workdir / f"data-{key}.partial"
    shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(data_dir, ignore_errors=True)
    cmd = [python, str(GENERATOR), "--real-dir", str(REAL_DIR), "--days", str(DAYS), "--out", str(temp), "--json"]
    if stores is not None:
        cmd += ["--stores", str(stores)]
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


# --------------------------------------------------------------------------------------------
# the service
# --------------------------------------------------------------------------------------------
class Service:
    """`python app.py` on a loaded database, with an empty CSV_DIR and no reloads."""

    def __init__(self, python: str, env: dict[str, str], log_path: Path) -> None:
        self.python, self.env, self.log_path = python, env, log_path
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = 120.0) -> dict[str, Any]:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.python, "app.py"], stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        port = None
        while port is None:
            self._check_alive("starting")
            match = re.search(r"listening on http://[^\s:]+:(\d+)", self.log_text())
            if match:
                port = int(match.group(1))
            elif time.monotonic() > deadline:
                raise StepError(f"the service did not log its port within {timeout:.0f}s\n{tail(self.log_text())}")
            else:
                time.sleep(0.05)
        self.base = f"http://127.0.0.1:{port}"
        while True:
            self._check_alive("waiting for /health")
            try:
                status, _, body = self.request("GET", "/health")
                health = json.loads(body)
                if status == 200 and health.get("reload", {}).get("last_finished") and not health["reload"]["running"]:
                    return health
            except (urllib.error.URLError, ConnectionError, ValueError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise StepError(f"/health not ready within {timeout:.0f}s\n{tail(self.log_text())}")
            time.sleep(0.05)

    def _check_alive(self, doing: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise StepError(f"the service exited ({self.proc.returncode}) while {doing}\n{tail(self.log_text())}")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b""
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def vm(self, field_name: str = "VmHWM") -> float | None:
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return None

    def report(self, params: dict[str, Any] | None, timeout: float = STEP_TIMEOUT) -> tuple[float, dict, int]:
        """trigger → poll /get_report every 20 ms → CSV downloaded: seconds, summary, CSV rows."""
        started = time.perf_counter()
        status, _, body = self.request("POST", "/trigger_report", params)
        if status != 202:
            raise StepError(f"POST /trigger_report answered {status}: {body[:300]!r}\n{tail(self.log_text())}")
        report_id = json.loads(body)["report_id"]
        deadline = time.monotonic() + timeout
        while True:
            status, headers, body = self.request("GET", f"/get_report?report_id={report_id}")
            if status == 200 and headers.get("X-Report-Status") == "Complete":
                break
            if status != 200:
                raise StepError(f"/get_report answered {status}: {body[:300]!r}\n{tail(self.log_text())}")
            answer = json.loads(body)
            if answer.get("status") == "Failed":
                raise StepError(f"report {report_id} failed: {answer.get('error')}\n{tail(self.log_text())}")
            if time.monotonic() > deadline:
                raise StepError(f"report {report_id} not done within {timeout:.0f}s")
            self._check_alive("a report ran")
            time.sleep(POLL_INTERVAL)
        seconds = time.perf_counter() - started
        rows = max(0, body.count(b"\n") - 1)
        _, _, summary_body = self.request("GET", f"/reports/{report_id}")
        try:
            summary = json.loads(summary_body)
        except ValueError:
            summary = {}
        return seconds, summary, rows

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    log("service did not stop on SIGTERM within 20 s: killing it")
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            self._log.close()


def iso_us(us: int) -> str:
    return (EPOCH + timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


def timing_note(summary: dict) -> str:
    timings = summary.get("timings") or {}
    if not isinstance(timings, dict) or not timings:
        return ""
    if "reused_from" in timings:
        return f"reused file of {timings['reused_from'][:8]}…"
    parts = [f"{k} {timings[k]:.2f}" for k in ("read", "compute", "write") if isinstance(timings.get(k), (int, float))]
    return "job: " + ", ".join(parts) + " s" if parts else ""


# --------------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.python = sys.executable
        self.workdir: Path = args.workdir.resolve()
        self.mysql = None if args.skip_mysql else MySQL(args.mysql_url)
        self.failed = False

    def env(self, database_url: str, run_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "CSV_DIR", "REPORT_DIR", "RELOAD_INTERVAL_SECONDS",
                            "REPORT_WORKERS", "HOST", "PORT", "FLASK_APP", "FLASK_DEBUG")}
        empty = run_dir / "empty_csv_dir"
        empty.mkdir(parents=True, exist_ok=True)
        env.update(
            DATABASE_URL=database_url,
            CSV_DIR=str(empty),
            REPORT_DIR=str(run_dir / "reports"),
            RELOAD_INTERVAL_SECONDS="0",
            PYTHONUNBUFFERED="1",
            # Bytecode is cached as a deployment would have it, but in the workdir rather than in
            # the source tree (warmed up once before measuring, see Bench.warm_up).
            PYTHONPYCACHEPREFIX=str(self.workdir / "pycache"),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(extra)
        return env

    def flask(self, *args: str) -> list[str]:
        return [self.python, "-m", "flask", "--app", "app", *args]

    # ---- one scale -------------------------------------------------------------------------
    def run_scale(self, scale: float, n_real: int) -> ScaleResult:
        quick = self.args.quick
        if quick:
            stores: int | None = int(round(QUICK_STORES * scale))
            key, label = f"quick{stores}", f"quick {scale:g}× ({stores} stores)"
        else:
            stores = None if scale == 1 else int(round(n_real * scale))
            key, label = f"s{scale:g}", f"scale {scale:g}×"
        data_dir, gen = ensure_data(self.python, self.workdir, key, stores)
        status_path = data_dir / STATUS_FILE
        info = {
            "status_rows": gen.get("store_status_rows") or count_lines(status_path),
            "status_mb": status_path.stat().st_size / 1e6,
            "hours_rows": gen.get("menu_hours_rows", 0),
            "zones_rows": gen.get("timezones_rows", 0),
            "first_poll": gen.get("first_poll_utc"),
            "last_poll": gen.get("last_poll_utc"),
            "generate_seconds": gen.get("generate_seconds"),
        }
        res = ScaleResult(label=label, scale=scale, stores=int(gen["stores"]), info=info)
        run_dir = self.workdir / f"run-{key}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        logs = run_dir / "logs"
        append_body, append_rows = ensure_append_lines(data_dir)
        info["append_rows"] = append_rows
        repeat = self.args.repeat

        # 1. the floor
        try:
            log(f"{label}: floor (pandas read_csv + to_datetime)")
            best, _ = best_of(repeat, lambda i: run_measured(
                [self.python, "-c", FLOOR_SCRIPT, str(status_path)], self.env("sqlite://", run_dir), logs, f"floor-{i}"))
            m = re.search(r"rows=(\d+) import=([\d.]+) work=([\d.]+)", best.stdout)
            note = f"import pandas {float(m.group(2)):.2f} s + read/parse {float(m.group(3)):.2f} s, {int(m.group(1)):,} rows" if m else ""
            res.rows.append(Row("floor", "floor: pandas read_csv + to_datetime", best.seconds, best.rss_mb,
                                note + f" (best of {repeat})"))
        except StepError as exc:
            self.fail(res, Row("floor", "floor: pandas read_csv + to_datetime"), exc)

        # 0. process start + imports + create_app, for reading the other rows
        try:
            log(f"{label}: startup (flask --app app --help)")
            best, _ = best_of(repeat, lambda i: run_measured(
                self.flask("--help"), self.env(f"sqlite:///{run_dir / 'startup.sqlite'}", run_dir), logs, f"startup-{i}"))
            if "load-data" not in best.stdout:
                raise StepError("`flask --app app --help` does not list load-data: the app did not load\n" + tail(best.stderr))
            res.rows.append(Row("startup", "startup: `flask --app app --help`", best.seconds, best.rss_mb,
                                f"process start, imports, create_app (best of {repeat})"))
        except StepError as exc:
            self.fail(res, Row("startup", "startup: `flask --app app --help`"), exc)
        finally:
            for leftover in run_dir.glob("startup.sqlite*"):
                leftover.unlink(missing_ok=True)

        backends: list[tuple[str, Callable[[], str], Callable[[], None]]] = []
        sqlite_file = run_dir / "bench.sqlite"

        def fresh_sqlite() -> str:
            for suffix in ("", "-wal", "-shm", "-journal", ".load-lock"):
                Path(str(sqlite_file) + suffix).unlink(missing_ok=True)
            return f"sqlite:///{sqlite_file}"

        def drop_sqlite() -> None:
            for suffix in ("", "-wal", "-shm", "-journal", ".load-lock"):
                Path(str(sqlite_file) + suffix).unlink(missing_ok=True)

        backends.append(("SQLite", fresh_sqlite, drop_sqlite))
        if self.mysql is not None:
            db_name = ("bench_sm_" + (key if quick else f"{scale:g}")).replace(".", "_")
            mysql = self.mysql
            backends.append(("MySQL", lambda: mysql.fresh(db_name), lambda: mysql.drop(db_name)))

        for name, fresh, drop in backends:
            try:
                self.run_backend(res, name, fresh, run_dir, data_dir, append_body, append_rows)
            finally:
                drop()
        shutil.rmtree(run_dir / "csv", ignore_errors=True)
        shutil.rmtree(run_dir / "reports", ignore_errors=True)
        return res

    def fail(self, res: ScaleResult, row: Row, exc: BaseException) -> None:
        self.failed = True
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row.failed, row.notes = True, first[:200]
        res.rows.append(row)
        res.errors.append(f"{row.step}: {exc}")
        log(f"STEP FAILED: {row.step}\n{exc}")

    # ---- one database ----------------------------------------------------------------------
    def run_backend(self, res: ScaleResult, db: str, fresh: Callable[[], str], run_dir: Path,
                    data_dir: Path, append_body: bytes, append_rows: int) -> None:
        label, tag, repeat = res.label, db.lower(), self.args.repeat
        logs = run_dir / "logs"
        try:
            url = fresh()
        except Exception as exc:
            self.fail(res, Row(f"load/{tag}", f"load ({db})"), StepError(f"cannot create the {db} database: {exc}"))
            return
        load_dir = prepare_run_dir(run_dir, data_dir)
        env = self.env(url, run_dir)
        load_cmd = self.flask("load-data", "--dir", str(load_dir))

        # 2. load into an empty database
        step = Row(f"load/{tag}", f"load ({db})")
        try:
            log(f"{label}: load into {db}")
            m = run_measured(load_cmd, env, logs, f"load-{tag}")
            step.seconds, step.rss_mb = m.seconds, m.rss_mb
            step.notes = _load_note(m.stdout)
            if "polls" in m.stdout and " loaded " not in m.stdout:
                step.notes += " (store_status not reported as loaded!)"
            res.rows.append(step)
        except StepError as exc:
            self.fail(res, step, exc)
            return  # the rest needs the data

        # 3. the same files again
        step = Row(f"reload-same/{tag}", f"reload, files unchanged ({db})")
        try:
            log(f"{label}: reload unchanged ({db})")
            best, _ = best_of(repeat, lambda i: run_measured(load_cmd, env, logs, f"reload-same-{tag}-{i}"))
            step.seconds, step.rss_mb = best.seconds, best.rss_mb
            changed = "no change" not in best.stdout
            step.notes = ("DATA CHANGED?! " if changed else "no change") + f" (best of {repeat})"
            res.rows.append(step)
        except StepError as exc:
            self.fail(res, step, exc)

        # 4. the poll file grew by one hour
        step = Row(f"reload-append/{tag}", f"reload, +1 h of polls appended ({db})")
        try:
            log(f"{label}: reload after appending {append_rows} polls ({db})")
            with open(load_dir / STATUS_FILE, "ab") as fh:
                fh.write(append_body)
            m = run_measured(load_cmd, env, logs, f"reload-append-{tag}")
            step.seconds, step.rss_mb = m.seconds, m.rss_mb
            step.notes = f"+{append_rows:,} lines; " + _load_note(m.stdout)
            res.rows.append(step)
        except StepError as exc:
            self.fail(res, step, exc)

        # 5. the CLI report
        step = Row(f"report-cli/{tag}", f"report, CLI ({db})")
        try:
            log(f"{label}: CLI report ({db})")
            out_csv = run_dir / f"report-cli-{tag}.csv"
            best, _ = best_of(repeat, lambda i: run_measured(
                self.flask("report", "--out", str(out_csv)), env, logs, f"report-cli-{tag}-{i}"))
            step.seconds, step.rss_mb = best.seconds, best.rss_mb
            m = re.search(r"wrote (\d+) stores.*read ([\d.]+)s, compute ([\d.]+)s", best.stdout)
            if m:
                read, compute = float(m.group(2)), float(m.group(3))
                other = best.seconds - read - compute
                step.notes = (f"read {read:.2f} s, compute {compute:.2f} s, other {other:.2f} s "
                              f"(start, imports, write); {int(m.group(1)):,} rows (best of {repeat})")
            else:
                step.notes = f"could not parse the output: {best.stdout.strip()[-120:]!r}"
            res.rows.append(step)
            out_csv.unlink(missing_ok=True)
        except StepError as exc:
            self.fail(res, step, exc)

        # 6. through the API of a running service
        self.run_service(res, db, tag, env, run_dir)

    def run_service(self, res: ScaleResult, db: str, tag: str, env: dict[str, str], run_dir: Path) -> None:
        log(f"{res.label}: service on {db}")
        service_env = dict(env, PORT="0", HOST="127.0.0.1")
        reports = run_dir / "reports"
        shutil.rmtree(reports, ignore_errors=True)
        reports.mkdir(parents=True)
        service = Service(self.python, service_env, run_dir / "logs" / f"service-{tag}.log")
        current = Row(f"api-first/{tag}", f"API: first report ({db})")
        try:
            started = time.perf_counter()
            health = service.start()
            ready = time.perf_counter() - started
            idle_hwm = service.vm("VmHWM")
            latest = health.get("latest_poll_us")
            if latest is None:
                raise StepError(f"/health reports no polls: {health}")

            seconds, summary, rows = service.report(None)
            current.seconds, current.rss_mb = seconds, service.vm("VmHWM")
            current.notes = (f"{timing_note(summary)}; {rows:,} rows; service ready in {ready:.2f} s, "
                             f"{fmt_mb(idle_hwm)} MB before the first report")
            res.rows.append(current)

            current = Row(f"api-later/{tag}", f"API: later report, new as_of ({db})")
            later = []
            for k in (1, 2, 3):
                later.append(service.report({"as_of": iso_us(int(latest) + k * 1_000_000)}))
            times = [t for t, _, _ in later]
            current.seconds, current.rss_mb = min(times), service.vm("VmHWM")
            current.notes = (f"best of 3 (median {statistics.median(times):.2f}, max {max(times):.2f}); "
                             f"last {timing_note(later[-1][1])}; as_of = latest poll +1/+2/+3 s")
            res.rows.append(current)

            current = Row(f"api-repeat/{tag}", f"API: identical repeat ({db})")
            seconds, summary, rows = service.report({"as_of": iso_us(int(latest) + 3_000_000)})
            current.seconds, current.rss_mb = seconds, service.vm("VmHWM")
            current.notes = (timing_note(summary) or "no timings") + "; result cache"
            current.relative = True
            res.rows.append(current)
        except (StepError, OSError, ValueError, KeyError, urllib.error.URLError) as exc:
            self.fail(res, current, exc if isinstance(exc, StepError) else StepError(f"{type(exc).__name__}: {exc}\n{tail(service.log_text())}"))
        finally:
            service.stop()
            shutil.rmtree(reports, ignore_errors=True)

    # ---- all -------------------------------------------------------------------------------
    def run(self) -> int:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not REAL_DIR.is_dir():
            log(f"ERROR: the real data folder {REAL_DIR} does not exist")
            return 2
        scales = sorted(set(self.args.scale or ([1.0] if self.args.quick else [1.0, 5.0])))
        load_before = os.getloadavg()
        vers = versions(self.python)
        mariadb = "skipped"
        if self.mysql is not None:
            try:
                mariadb = self.mysql.version()
            except Exception as exc:
                log(f"ERROR: MySQL at {self.mysql.kwargs['host']}:{self.mysql.kwargs['port']} unreachable: {exc}"
                    " (use --skip-mysql to run without it)")
                return 2
        n_real = real_store_count(REAL_DIR)
        self.warm_up()
        results: list[ScaleResult] = []
        started = time.perf_counter()
        try:
            for scale in scales:
                try:
                    results.append(self.run_scale(scale, n_real))
                except StepError as exc:  # data generation: nothing to measure at this scale
                    self.failed = True
                    log(f"scale {scale:g} skipped:\n{exc}")
                    results.append(ScaleResult(label=f"scale {scale:g}×", scale=scale, stores=0, info={},
                                               errors=[str(exc)]))
        finally:
            if self.mysql is not None:
                self.mysql.drop_all()
        elapsed = time.perf_counter() - started
        load_after = os.getloadavg()
        text = self.render(results, vers, mariadb, load_before, load_after, elapsed)
        print(text)
        out = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        log(f"results written to {out}")
        return 1 if self.failed else 0

    def warm_up(self) -> None:
        """Compile the bytecode of every module the steps import, unmeasured."""
        log("warming up the bytecode cache")
        run_dir = self.workdir / "warmup"
        env = self.env(f"sqlite:///{run_dir / 'warmup.sqlite'}", run_dir)
        try:
            run_measured(self.flask("--help"), env, run_dir, "flask-help")
            run_measured([self.python, "-c", "import pandas, pymysql, waitress, app"], env, run_dir, "imports")
        except StepError as exc:
            log(f"warm-up failed (the measured steps will say more):\n{exc}")
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def render(self, results: list[ScaleResult], vers: dict[str, str], mariadb: str,
               load_before: tuple[float, ...], load_after: tuple[float, ...], elapsed: float) -> str:
        mem = mem_total_gb()
        machine = (
            f"Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}"
            + (f", {mem:.0f} GB RAM" if mem else "")
            + f"; Python {vers.get('python')}, pandas {vers.get('pandas')}, numpy {vers.get('numpy')}, "
            f"SQLAlchemy {vers.get('sqlalchemy')}, SQLite {vers.get('sqlite')}, PyMySQL {vers.get('pymysql', '—')}, "
            f"MariaDB {mariadb}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after."
        )
        parts = [
            "## Benchmark results",
            "",
            f"`{shlex.join(['python', 'benchmarks/bench.py', *sys.argv[1:]])}` — "
            f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {elapsed / 60:.1f} min in all.",
            "",
            machine,
            "",
            "Every step is a fresh process (wall time includes process start and imports); peak RSS is "
            "the process's own peak resident set (VmHWM of /proc/<pid>/status read at exit; the service: "
            "VmHWM so far). "
            "× floor = seconds / the floor's seconds. API times run from POST /trigger_report to the CSV "
            "downloaded, polling /get_report every 20 ms; the service runs with an empty CSV_DIR and "
            "RELOAD_INTERVAL_SECONDS=0. Reports run on the data after the +1 h append. Bytecode caches "
            "are warm (compiled once before measuring).",
        ]
        for res in results:
            parts += ["", render_scale(res)]
        ok = [r for r in results if r.rows]
        if len(ok) >= 2:
            parts += ["", render_growth(ok[0], ok[-1])]
        return "\n".join(parts)


def _load_note(stdout: str) -> str:
    """The load command's own summary: the poll file's line and the data version line."""
    polls = re.search(r"^polls\s+\S+\s+(.*)$", stdout, re.M)
    version = re.search(r"^data version .*$", stdout, re.M)
    bits = [polls.group(1).strip() if polls else "", version.group(0).strip() if version else ""]
    rejected = re.search(r"^\s+\.\.\. and (\d+) more rejected", stdout, re.M)
    if rejected:
        bits.append(f"{rejected.group(0).strip()}")
    return "; ".join(b for b in bits if b)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--scale", type=float, nargs="+", default=None,
                        help="data scales (default 1 5; 1 = all real stores)")
    parser.add_argument("--skip-mysql", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run on {QUICK_STORES} stores × scale (default scale 1)")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown output (default benchmarks/results.md; --quick: benchmarks/out/results-quick.md)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/store-monitor-bench"),
                        help="generated data (cached per scale), databases, logs")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs of the cheap steps, best kept (default 2; --quick: 1)")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306",
                        help="server URL without database (default %(default)s)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "benchmarks" / ("out/results-quick.md" if args.quick else "results.md")
    if args.repeat is None:
        args.repeat = 1 if args.quick else 2
    if args.scale and any(s <= 0 for s in args.scale):
        parser.error("scales must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds through the finally blocks: server stopped, DBs dropped

    signal.signal(signal.SIGTERM, on_term)
    try:
        return Bench(args).run()
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
