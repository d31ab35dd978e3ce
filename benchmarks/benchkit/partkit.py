"""What the named parts of the benchmark (`--part celery|ranges|fleet|history|size`) share:
data sizes, result rows with their targets (✓/✗), the databases, and the common steps.

A part writes its own markdown section (one file per part in the work folder), so a part can be
re-run alone; the results file is put together from every part's latest section.
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator
from contextlib import contextmanager

from benchkit.data import ensure_data, prepare_run_dir
from benchkit.measure import Measured, run_measured
from benchkit.results import fmt_mb, fmt_s, md_escape
from benchkit.service import Service, iso_us
from benchkit.settings import REAL_DIR, STATUS_FILE, StepError, log, tail

if TYPE_CHECKING:
    from bench import Bench


@dataclass(frozen=True)
class Sizes:
    """The data of the parts: the issues' sizes (full) or a one-minute check of the harness (tiny)."""

    name: str
    stores: int | None  # None = every real store
    days: float  # the standard data set
    month_days: float  # issue 12: 31 days of polls
    month_range_hours: int  # issue 12: the 30-day range
    fleet_factor: int  # issue 15 (a): 10× stores
    history_stores: int  # issue 15 (b)
    history_days: tuple[float, float]  # 8 days and 370 days
    history_range_hours: int  # 366 days
    json_requests: int  # availability requests after the first; the median is kept


FULL = Sizes("full", None, 7.75, 31, 720, 10, 400, (8, 370), 8784, 20)
TINY = Sizes("tiny", 300, 2, 4, 72, 10, 60, (3, 12), 240, 20)


@dataclass
class Target:
    """`measured <= limit` (or `<`), shown as the limit's text and ✓/✗."""

    text: str
    ok: bool


def at_most(value: float | None, limit: float, text: str) -> Target | None:
    return None if value is None else Target(text, value <= limit)


@dataclass
class PartRow:
    step: str
    seconds: float | None = None
    rss_mb: float | None = None
    notes: str = ""
    failed: bool = False
    targets: list[Target] = field(default_factory=list)
    value: str | None = None  # shown instead of seconds (e.g. MB per million polls)


@dataclass
class Table:
    heading: str
    rows: list[PartRow] = field(default_factory=list)
    columns: tuple[str, str] = ("seconds", "peak RSS MB")


@dataclass
class PartResult:
    name: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def table(self, heading: str, columns: tuple[str, str] = ("seconds", "peak RSS MB")) -> Table:
        table = Table(heading, columns=columns)
        self.tables.append(table)
        return table

    def render(self) -> str:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        lines = [f"### {self.title}", "", f"_{when}, {self.elapsed / 60:.1f} min._ " + self.intro]
        for table in self.tables:
            lines += ["", f"#### {table.heading}", "",
                      f"| step | {table.columns[0]} | {table.columns[1]} | target | ✓/✗ | notes |",
                      "|---|---:|---:|---|:-:|---|"]
            for row in table.rows:
                shown = "FAILED" if row.failed else (row.value if row.value is not None else fmt_s(row.seconds))
                target = "; ".join(t.text for t in row.targets)
                mark = "" if not row.targets else ("✓" if all(t.ok for t in row.targets) else "✗")
                lines.append(f"| {md_escape(row.step)} | {shown} | {fmt_mb(row.rss_mb)} | {md_escape(target)} "
                             f"| {mark} | {md_escape(row.notes)} |")
        if self.errors:
            lines += ["", "Errors:", ""] + [f"- {md_escape(e.splitlines()[0])[:300]}" for e in self.errors]
        return "\n".join(lines)


@dataclass
class DataSet:
    key: str
    dir: Path
    info: dict[str, Any]

    @property
    def rows(self) -> int:
        return int(self.info.get("store_status_rows") or 0)

    @property
    def describe(self) -> str:
        return f"{int(self.info.get('stores', 0)):,} stores, {self.rows:,} polls"


class PartRun:
    """One part's run: the bench's settings, its result, failures recorded rather than raised."""

    def __init__(self, bench: "Bench", result: PartResult, sizes: Sizes) -> None:
        self.bench, self.result, self.sizes = bench, result, sizes
        self.python = bench.python
        self.dir = bench.workdir / f"part-{result.name}-{sizes.name}"
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "logs").mkdir(parents=True)
        self.as_of_offset = 0  # every API report gets its own as_of: no result cache hit across steps

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    def data(self, stores: int | None, days: float, extra: tuple[str, ...] = ()) -> DataSet:
        slug = re.sub(r"[^A-Za-z0-9]+", "", "".join(extra))
        key = f"{'all' if stores is None else stores}st-{days:g}d{('-' + slug) if slug else ''}"
        data_dir, info = ensure_data(self.python, self.bench.workdir, key, stores, days, extra)
        return DataSet(key, data_dir, info)

    def step(self, table: Table, title: str, fn: Callable[[PartRow], None]) -> PartRow:
        """Run one measured step into a row; a failure marks the row and the part, never stops the run."""
        row = PartRow(title)
        log(f"{self.result.name}: {title}")
        try:
            fn(row)
        except (StepError, OSError, ValueError, KeyError) as exc:
            self.bench.failed = True
            row.failed = True
            text = str(exc) or type(exc).__name__
            row.notes = text.splitlines()[0][:200]
            self.result.errors.append(f"{title}: {text}")
            log(f"STEP FAILED: {title}\n{text}")
        table.rows.append(row)
        return row

    @contextmanager
    def database(self, kind: str, name: str) -> Iterator[str]:
        """A fresh, empty database (SQLite file or MySQL schema), removed afterwards."""
        if kind == "SQLite":
            path = self.dir / f"{name}.sqlite"
            try:
                yield f"sqlite:///{path}"
            finally:
                for leftover in self.dir.glob(f"{name}.sqlite*"):
                    leftover.unlink(missing_ok=True)
        else:
            mysql = self.bench.mysql
            if mysql is None:
                raise StepError("MySQL is skipped (--skip-mysql)")
            url = mysql.fresh(name)
            try:
                yield url
            finally:
                mysql.drop(name)

    def kinds(self) -> list[str]:
        return ["SQLite"] + ([] if self.bench.mysql is None else ["MySQL"])

    def env(self, url: str, **extra: str) -> dict[str, str]:
        return self.bench.env(url, self.dir, **extra)

    # ---- common steps ------------------------------------------------------------------------
    def load(self, row: PartRow, env: dict[str, str], data: DataSet, tag: str) -> Measured:
        load_dir = prepare_run_dir(self.dir / f"load-{tag}", data.dir)
        try:
            m = run_measured(self.bench.flask("load-data", "--dir", str(load_dir)), env, self.logs, f"load-{tag}")
        finally:
            shutil.rmtree(load_dir.parent, ignore_errors=True)
        row.seconds, row.rss_mb = m.seconds, m.rss_mb
        polls = re.search(r"^polls\s+\S+\s+(.*)$", m.stdout, re.M)
        pruned = re.search(r"prun\w*[^\n]*", m.stdout)
        row.notes = f"{data.describe}; " + (polls.group(1).strip() if polls else tail(m.stdout, 2))
        if pruned:
            row.notes += f"; {pruned.group(0).strip()}"
        return m

    def report_cli(self, row: PartRow, env: dict[str, str], tag: str, *extra: str) -> Path:
        """`flask --app app report [extra] --out F` in a fresh process; the CSV is kept for its ids."""
        out_csv = self.dir / f"report-{tag}.csv"
        m = run_measured(self.bench.flask("report", *extra, "--out", str(out_csv)), env, self.logs, f"report-{tag}")
        row.seconds, row.rss_mb = m.seconds, m.rss_mb
        found = re.search(r"wrote (\d+) stores?.*read ([\d.]+)s, compute ([\d.]+)s", m.stdout)
        total = re.search(r"wrote (\d+) stores?.*total ([\d.]+)s", m.stdout)
        if found:
            row.notes = f"read {found.group(2)} s, compute {found.group(3)} s; {int(found.group(1)):,} rows"
        elif total:
            row.notes = f"read + compute {total.group(2)} s; {int(total.group(1)):,} rows"
        else:
            row.notes = m.stdout.strip()[-160:]
        return out_csv

    def next_as_of(self, latest_us: int) -> dict[str, str]:
        self.as_of_offset += 1
        return {"as_of": iso_us(latest_us + self.as_of_offset * 1_000_000)}

    def service(self, env: dict[str, str], tag: str) -> Service:
        return Service(self.python, dict(env, PORT="0", HOST="127.0.0.1"), self.logs / f"service-{tag}.log")

    def json_median(self, service: Service, path: str, requests: int) -> tuple[float, float, list[float]]:
        """First request (cold) and the median of the next `requests` (warm), in seconds."""
        times = [timed_json_get(service, path) for _ in range(requests + 1)]
        return times[0], statistics.median(times[1:]), times[1:]


def timed_json_get(service: Service, path: str) -> float:
    """Seconds of one GET of `path` that must answer 200 with JSON."""
    started = time.perf_counter()
    status, _, body = service.request("GET", path)
    seconds = time.perf_counter() - started
    if status != 200:
        raise StepError(f"GET {path} answered {status}: {body[:300]!r}\n{tail(service.log_text())}")
    json.loads(body)
    return seconds


def first_store_id(report_csv: Path) -> str:
    with open(report_csv, encoding="utf-8") as fh:
        fh.readline()
        line = fh.readline()
    if not line:
        raise StepError(f"{report_csv} has no rows")
    return line.split(",", 1)[0].strip('"')


def status_mb(data: DataSet) -> float:
    return (data.dir / STATUS_FILE).stat().st_size / 1e6


def real_dir_ok() -> bool:
    return REAL_DIR.is_dir()
