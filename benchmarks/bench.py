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

Named parts (--part, repeatable; default: all of them, `core` being the scales above):
  celery   issue 11: the standard report on threads and on 1 and 2 real Celery workers (MySQL)
  ranges   issue 12: 31 days of polls: load, standard report, 30-day range, one store's JSON
  fleet    issue 15 (a): 1× and 10× stores: load, report (threads, celery 2 workers), growth
  history  issue 15 (b): 400 stores with 8 and 370 days: standard report, 366-day range
  size     issue 15 (c): database size per million polls, SQLite and MySQL
  closures issue 20: the ranges data with one closure per store (a public holiday each): standard
           report and 30-day range against the same data without closures
  live     issue 19: POST /polls and broker consumer rates into SQLite and MySQL, reports meanwhile
Each part writes its section to <workdir>/sections-<size>/<part>.md; --out is put together from
every section there, so a part re-run alone replaces only its own section. --tiny runs the parts
on a few hundred stores and days (a check of the harness, ~2 min a part).
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchkit package beside this script

from benchkit.data import count_lines, ensure_append_lines, ensure_data, prepare_run_dir, real_store_count
from benchkit.machine import MySQL, cpu_model, mem_total_gb, versions
from benchkit.measure import Measured, best_of, run_measured
from benchkit.partkit import FULL, TINY, PartResult, PartRun
from benchkit.parts import PARTS
from benchkit.results import Row, ScaleResult, fmt_mb, render_growth, render_scale
from benchkit.service import Service, iso_us, timing_note
from benchkit.settings import FLOOR_SCRIPT, QUICK_STORES, REAL_DIR, ROOT, STATUS_FILE, StepError, log, tail


PARTS_HEADING = "## Scale, ranges and workers (issues 11, 12, 15)"


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
                            "REPORT_WORKERS", "HOST", "PORT", "FLASK_APP", "FLASK_DEBUG", "REPORT_BACKEND",
                            "BROKER_URL", "REPORT_SHARDS", "POLL_RETENTION_DAYS", "AUTH_REQUIRED")}
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
        tag = db.lower()
        try:
            url = fresh()
        except Exception as exc:
            self.fail(res, Row(f"load/{tag}", f"load ({db})"), StepError(f"cannot create the {db} database: {exc}"))
            return
        load_dir = prepare_run_dir(run_dir, data_dir)
        env = self.env(url, run_dir)
        ctx = BackendRun(self, env, run_dir, load_dir, self.flask("load-data", "--dir", str(load_dir)),
                         tag, self.args.repeat, append_body, append_rows)
        for step in BACKEND_STEPS:
            row = Row(f"{step.key}/{tag}", step.title.format(db=db))
            try:
                log(f"{res.label}: {row.step}")
                measured, row.notes = step.run(ctx)
                row.seconds, row.rss_mb = measured.seconds, measured.rss_mb
                res.rows.append(row)
            except StepError as exc:
                self.fail(res, row, exc)
                if step.needed_by_the_rest:
                    return
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
        if "core" not in self.args.part:
            scales = []
        try:
            self.run_parts()
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
        sections = self.sections_dir()
        if results:
            (sections / "core.md").write_text(text + "\n")
        text = self.assemble(text if results else None)
        print(text)
        out = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
        log(f"results written to {out}")
        return 1 if self.failed else 0

    # ---- named parts -----------------------------------------------------------------------
    def sections_dir(self) -> Path:
        name = "tiny" if self.args.tiny else "quick" if self.args.quick else "full"
        path = self.workdir / f"sections-{name}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def sizes(self) -> Any:
        return TINY if self.args.tiny else FULL

    def run_parts(self) -> None:
        wanted = [p for p in PARTS if p.name in self.args.part]
        if any(p.name in ("celery", "fleet", "live") for p in wanted):
            self.ensure_broker()
        for part in wanted:
            result = PartResult(part.name, part.title + ("" if self.sizes is FULL else " (tiny: a harness check)"))
            started = time.perf_counter()
            try:
                part.run(PartRun(self, result, self.sizes))
            except StepError as exc:  # data generation or a database that cannot be created
                self.failed = True
                result.errors.append(str(exc))
                log(f"part {part.name} stopped:\n{exc}")
            finally:
                result.elapsed = time.perf_counter() - started
                text = result.render()
                (self.sections_dir() / f"{part.name}.md").write_text(text + "\n")
                print(text + "\n", flush=True)

    def ensure_broker(self) -> None:
        """The RabbitMQ vhost of --broker-url exists (scripts/ensure_brokers.sh creates it)."""
        from urllib.parse import unquote, urlsplit

        vhost = unquote(urlsplit(self.args.broker_url).path.lstrip("/")) or "/"
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_brokers.sh")], capture_output=True, text=True,
                              env=dict(os.environ, RABBITMQ_TEST_VHOST=vhost), cwd=ROOT, timeout=600)
        if proc.returncode != 0:
            log(f"WARNING: scripts/ensure_brokers.sh failed; the Celery steps will say more:\n{tail(proc.stderr)}")

    def assemble(self, core: str | None) -> str:
        """The results file: the core tables (this run's or the last ones) and every part's last section."""
        sections = self.sections_dir()
        if core is None:
            core = self._read(sections / "core.md")
        if core is None:  # keep the core tables the results file already has
            core = (self._read(self.args.out) or "## Benchmark results").split(PARTS_HEADING)[0].rstrip("\n")
        parts = [core]
        earlier = self._earlier_sections()
        named = [self._read(sections / f"{p.name}.md") or earlier.get(p.title) for p in PARTS]
        if any(named):
            parts += ["", PARTS_HEADING, "",
                      "Each section below is the last run of its part (`--part NAME`); its date is in the file "
                      "names under " + str(sections) + "."]
            parts += ["\n" + text for text in named if text]
        return "\n".join(parts)

    def _earlier_sections(self) -> dict[str, str]:
        """Part sections of the results file as it stands, by title: a part with no section in
        the workdir (another machine, a cleaned /tmp) keeps the one it has there."""
        text = self._read(self.args.out) or ""
        if PARTS_HEADING not in text:
            return {}
        found: dict[str, str] = {}
        for chunk in re.split(r"\n(?=### )", text.split(PARTS_HEADING, 1)[1]):
            if chunk.startswith("### "):
                found[chunk.splitlines()[0][4:].strip()] = chunk.rstrip("\n")
        return found

    @staticmethod
    def _read(path: Path) -> str | None:
        try:
            return path.read_text().rstrip("\n")
        except OSError:
            return None

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



# --------------------------------------------------------------------------------------------
# the steps run on each database, as data: (key, title, what to run, whether the rest needs it)
# --------------------------------------------------------------------------------------------
@dataclass
class BackendRun:
    """What the steps on one database share."""

    bench: Bench
    env: dict[str, str]
    run_dir: Path
    load_dir: Path
    load_cmd: list[str]
    tag: str
    repeat: int
    append_body: bytes
    append_rows: int

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"


def _load(ctx: BackendRun) -> tuple[Measured, str]:
    m = run_measured(ctx.load_cmd, ctx.env, ctx.logs, f"load-{ctx.tag}")
    notes = _load_note(m.stdout)
    if "polls" in m.stdout and " loaded " not in m.stdout:
        notes += " (store_status not reported as loaded!)"
    return m, notes


def _reload_same(ctx: BackendRun) -> tuple[Measured, str]:
    best, _ = best_of(ctx.repeat, lambda i: run_measured(ctx.load_cmd, ctx.env, ctx.logs, f"reload-same-{ctx.tag}-{i}"))
    changed = "no change" not in best.stdout
    return best, ("DATA CHANGED?! " if changed else "no change") + f" (best of {ctx.repeat})"


def _reload_append(ctx: BackendRun) -> tuple[Measured, str]:
    with open(ctx.load_dir / STATUS_FILE, "ab") as fh:
        fh.write(ctx.append_body)
    m = run_measured(ctx.load_cmd, ctx.env, ctx.logs, f"reload-append-{ctx.tag}")
    return m, f"+{ctx.append_rows:,} lines; " + _load_note(m.stdout)


def _report_cli(ctx: BackendRun) -> tuple[Measured, str]:
    out_csv = ctx.run_dir / f"report-cli-{ctx.tag}.csv"
    best, _ = best_of(ctx.repeat, lambda i: run_measured(
        ctx.bench.flask("report", "--out", str(out_csv)), ctx.env, ctx.logs, f"report-cli-{ctx.tag}-{i}"))
    out_csv.unlink(missing_ok=True)
    m = re.search(r"wrote (\d+) stores?.*read ([\d.]+)s, compute ([\d.]+)s", best.stdout)
    if not m:
        return best, f"could not parse the output: {best.stdout.strip()[-120:]!r}"
    read, compute = float(m.group(2)), float(m.group(3))
    other = best.seconds - read - compute
    return best, (f"read {read:.2f} s, compute {compute:.2f} s, other {other:.2f} s "
                  f"(start, imports, write); {int(m.group(1)):,} rows (best of {ctx.repeat})")


@dataclass(frozen=True)
class BackendStep:
    key: str
    title: str  # {db} is the database's name
    run: Callable[[BackendRun], tuple[Measured, str]]
    needed_by_the_rest: bool = False


BACKEND_STEPS = (
    BackendStep("load", "load ({db})", _load, needed_by_the_rest=True),
    BackendStep("reload-same", "reload, files unchanged ({db})", _reload_same),
    BackendStep("reload-append", "reload, +1 h of polls appended ({db})", _reload_append),
    BackendStep("report-cli", "report, CLI ({db})", _report_cli),
)

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
    parser.add_argument("--part", nargs="+", default=None, choices=["all", "core", *(p.name for p in PARTS)],
                        help="what to run (default all; --quick: core)")
    parser.add_argument("--tiny", action="store_true",
                        help="run the named parts on a few hundred stores and days (checks the harness)")
    parser.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672/store_monitor_bench",
                        help="RabbitMQ for the Celery steps; its vhost is created (default %(default)s)")
    parser.add_argument("--fleet-args", default="",
                        help="generator options of the 10× fleet (e.g. h15's fleet option); "
                             "default: --stores 10 × the real stores (clones)")
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306",
                        help="server URL without database (default %(default)s)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "benchmarks" / ("out/results-quick.md" if args.quick else "results.md")
    if args.part is None:
        args.part = ["core"] if args.quick else ["all"]
    if "all" in args.part:
        args.part = ["core", *(p.name for p in PARTS)]
    if args.tiny:
        args.quick = True  # the core tables too: 2000 stores
    if args.tiny and args.out == ROOT / "benchmarks" / "results.md":
        args.out = ROOT / "benchmarks" / "out" / "results-tiny.md"
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
