"""The named parts of the benchmark, as data: issue 11 (celery), 12 (ranges), 15 (fleet, history, size).

Each part is a function of a PartRun that fills tables of rows, each row with its targets.
"""
from __future__ import annotations

import json
import urllib.error
from dataclasses import dataclass
from typing import Callable

from benchkit.closures_part import part_closures
from benchkit.cluster import Workers
from benchkit.live import part_live
from benchkit.measure import run_measured
from benchkit.partkit import DataSet, PartRow, PartRun, Table, Target, first_store_id, status_mb
from benchkit.settings import ROOT, StepError, tail
from benchkit.storage_part import part_storage

GB = 1024.0  # MB


@dataclass(frozen=True)
class Cluster:
    """Where the report runs: the API process's threads, or N Celery workers (`--concurrency 1`)."""

    label: str
    backend: str
    workers: int
    shards: int

    def env(self, broker_url: str) -> dict[str, str]:
        extra = {"REPORT_BACKEND": self.backend, "REPORT_SHARDS": str(self.shards)}
        if self.backend == "celery":
            extra["BROKER_URL"] = broker_url
        else:
            extra["REPORT_WORKERS"] = str(max(1, self.shards))
        return extra


THREADS = Cluster("threads, 1 shard", "threads", 0, 1)
CLUSTERS = (
    THREADS,
    Cluster("threads, 4 shards (default)", "threads", 0, 4),
    Cluster("celery, 1 worker, 2 shards", "celery", 1, 2),
    Cluster("celery, 2 workers, 4 shards", "celery", 2, 4),
)
CELERY_2 = CLUSTERS[-1]


def cluster_reports(run: PartRun, table: Table, url: str, cluster: Cluster, later: int = 3,
                    rss_limit_mb: float | None = None, where: str = "") -> dict[str, PartRow]:
    """A real `python app.py` (and workers): the first report (cold processes), then `later` more."""
    env = run.env(url, **cluster.env(run.bench.args.broker_url))
    workers = Workers(run.python, env, run.logs, cluster.workers) if cluster.workers else None
    service = run.service(env, cluster.label.replace(" ", "").replace(",", "-"))
    rows: dict[str, PartRow] = {}
    try:
        if workers is not None:
            workers.purge()
            workers.start()
        health = service.start()
        latest = int(health["latest_poll_us"])

        def one(row: PartRow, params: dict[str, str]) -> str:
            seconds, summary, count = service.report(params)
            if workers is not None:
                workers.check_alive()
            row.seconds = seconds
            api_mb = service.vm("VmHWM")
            worker_mb = workers.peak_mb() if workers is not None else None
            row.rss_mb = max(v for v in (api_mb, worker_mb) if v is not None)
            note = f"{count:,} rows; API process {api_mb:.0f} MB" if api_mb else f"{count:,} rows"
            if workers is not None:
                shards = workers.shard_lines(summary.get("report_id", ""))
                per_worker: dict[str, float] = {}
                for name, _, _, secs in shards:
                    per_worker[name] = per_worker.get(name, 0.0) + secs
                busiest = max(per_worker.values(), default=0.0)
                note += (f"; {workers.rss_note()}; shards " + ", ".join(f"#{s} {n} stores {t:.2f} s" for _, s, n, t in shards)
                         + f"; queue + merge + polling {seconds - busiest:.2f} s")
            if rss_limit_mb is not None:
                row.targets.append(Target(f"< {rss_limit_mb / GB:g} GB per process", row.rss_mb < rss_limit_mb))
            return note

        def first(row: PartRow) -> None:
            row.notes = "fresh processes; " + one(row, run.next_as_of(latest))

        def repeated(row: PartRow) -> None:
            notes, times = "", []
            for _ in range(later):
                notes = one(row, run.next_as_of(latest))
                times.append(row.seconds)
            row.seconds = min(times)
            row.notes = f"best of {later} (max {max(times):.2f}), new as_of each; last: {notes}"

        rows["first"] = run.step(table, f"{cluster.label}: first report{where}", first)
        if later:
            rows["later"] = run.step(table, f"{cluster.label}: later report{where}", repeated)
    except (StepError, OSError, KeyError, ValueError, urllib.error.URLError) as exc:
        row = PartRow(f"{cluster.label}: start", failed=True, notes=str(exc).splitlines()[0][:200])
        table.rows.append(row)
        run.result.errors.append(f"{cluster.label}: {exc}\n{tail(service.log_text())}")
        run.bench.failed = True
    finally:
        service.stop()
        if workers is not None:
            workers.stop()
    return rows


# ---- issue 11 -------------------------------------------------------------------------------
def part_celery(run: PartRun) -> None:
    data = run.data(run.sizes.stores, run.sizes.days)
    run.result.intro = (f"The standard report over {data.describe} on MySQL, triggered on a real `python app.py` "
                        "and followed to the CSV; Celery workers run `celery -A make_celery worker --concurrency 1` "
                        f"on {run.bench.args.broker_url.rsplit('@', 1)[-1]}; REPORT_SHARDS = 2 × workers. Peak RSS "
                        "is the largest VmHWM of the API process and of each worker and its pool child.")
    table = run.result.table("report backends (MySQL)")
    with run.database("MySQL", "bench_sm_celery") as url:
        loaded = run.step(table, "load (MySQL)", lambda row: run.load(row, run.env(url), data, "mysql"))
        if loaded.failed:
            return
        for cluster in CLUSTERS:
            cluster_reports(run, table, url, cluster)
        phases = run.result.table("where the time goes: each shard built alone, cold (MySQL)",
                                  ("seconds", "peak RSS MB"))
        run.step(phases, "shards 1, 2, 4: read / compute / CSV per shard, then merge",
                 lambda row: _phases(run, row, run.env(url)))


def _phases(run: PartRun, row: PartRow, env: dict[str, str]) -> None:
    m = run_measured([run.python, str(ROOT / "benchmarks" / "benchkit" / "phases.py"), "1", "2", "4"], env,
                     run.logs, "phases")
    answer = json.loads(m.stdout.strip().splitlines()[-1])
    row.seconds, row.rss_mb = m.seconds, m.rss_mb
    bits = []
    for k, info in answer["shards"].items():
        parts = info["parts"]
        reads = sum(p["read"] for p in parts)
        computes = sum(p["compute"] for p in parts)
        slowest = max(p["total"] for p in parts)
        bits.append(f"k={k}: read Σ {reads:.2f} s, compute Σ {computes:.2f} s, CSV Σ {sum(p['csv'] for p in parts):.2f} s,"
                    f" slowest shard {slowest:.2f} s, merge {info['merge']:.3f} s")
    row.notes = f"{answer['stores']:,} stores. " + " · ".join(bits)
    (run.dir / "phases.json").write_text(json.dumps(answer, indent=2))


# ---- issue 12 -------------------------------------------------------------------------------
def part_ranges(run: PartRun) -> None:
    sizes = run.sizes
    data = run.data(sizes.stores, sizes.month_days)
    hours = sizes.month_range_hours
    run.result.intro = (f"{data.describe} ({sizes.month_days:g} days, {status_mb(data):.0f} MB). Targets (issue 12): "
                        f"the {hours}-hour range report within 4× the standard report on the same database, one "
                        "store's availability JSON under 100 ms warm (median of the requests after the first), "
                        "peak RSS under 2 GB.")
    for kind in run.kinds():
        table = run.result.table(f"{kind}")
        rss = lambda row: row.targets.append(Target("< 2 GB", row.rss_mb is not None and row.rss_mb < 2 * GB))  # noqa: E731
        with run.database(kind, "bench_sm_ranges") as url:
            env = run.env(url)
            loaded = run.step(table, f"load ({kind})", lambda row: (run.load(row, env, data, kind.lower()), rss(row)))
            if loaded.failed:
                continue
            paths: dict[str, object] = {}

            def standard(row: PartRow) -> None:
                paths["csv"] = run.report_cli(row, env, f"std-{kind}")
                rss(row)

            std = run.step(table, "standard report, `flask report` (fresh process)", standard)

            def ranged(row: PartRow) -> None:
                run.report_cli(row, env, f"range-{kind}", "--last-hours", str(hours))
                rss(row)
                if std.seconds:
                    row.targets.insert(0, Target(f"≤ 4× standard ({4 * std.seconds:.2f} s)", row.seconds <= 4 * std.seconds))
                    row.notes += f"; {row.seconds / std.seconds:.2f}× the standard report"

            run.step(table, f"range report, `flask report --last-hours {hours}`", ranged)

            def availability(row: PartRow) -> None:
                if "csv" not in paths:
                    raise StepError("no standard report CSV to take a store id from")
                store = first_store_id(paths["csv"])  # type: ignore[arg-type]
                service = run.service(env, f"json-{kind}")
                try:
                    service.start()
                    path = f"/stores/{store}/availability?last_hours={hours}"
                    cold, median, times = run.json_median(service, path, sizes.json_requests)
                    row.seconds, row.rss_mb = median, service.vm("VmHWM")
                finally:
                    service.stop()
                row.targets += [Target("< 0.1 s warm", median < 0.1), Target("< 2 GB", row.rss_mb is not None and row.rss_mb < 2 * GB)]
                row.notes = (f"store {store}, last_hours={hours}: first request {cold * 1000:.0f} ms, then median of "
                             f"{len(times)} {median * 1000:.1f} ms (max {max(times) * 1000:.1f} ms); service RSS")

            run.step(table, "one store's availability JSON, warm (`GET /stores/<id>/availability`)", availability)


# ---- issue 15 (a) ---------------------------------------------------------------------------
def part_fleet(run: PartRun) -> None:
    sizes, args = run.sizes, run.bench.args
    one = run.data(sizes.stores, sizes.days)
    n = int(one.info["stores"])
    extra = tuple(args.fleet_args.split()) if args.fleet_args else ()
    ten = run.data(None if extra else n * sizes.fleet_factor, sizes.days, extra)
    how = f"generator options `{args.fleet_args}`" if extra else f"`--stores {n * sizes.fleet_factor}` (real stores cloned)"
    run.result.intro = (f"1×: {one.describe}; {sizes.fleet_factor}×: {ten.describe}, made with {how}. Targets (issue 15): "
                        f"each step at {sizes.fleet_factor}× within {sizes.fleet_factor + 1}× its 1× time; peak RSS "
                        "under 3 GB for a load and 2 GB per report process (API process and each worker).")
    measured: dict[str, dict[str, PartRow]] = {}
    for label, data in (("1×", one), (f"{sizes.fleet_factor}×", ten)):
        table = run.result.table(f"{label}: {data.describe}")
        # The 1× steps are cheap and noisy: the best of --repeat runs, which makes the ratio stricter.
        runs = max(1, args.repeat) if label == "1×" else 1
        attempts = [_fleet_steps(run, data) for _ in range(runs)]
        rows = measured.setdefault(label, {})
        for key in attempts[0]:
            tries = [a[key] for a in attempts if key in a and a[key].seconds is not None and not a[key].failed]
            best = min(tries, key=lambda r: r.seconds) if tries else attempts[0][key]
            if runs > 1 and tries:
                best.notes += f" (best of {len(tries)}: " + ", ".join(f"{r.seconds:.2f}" for r in tries) + " s)"
            table.rows.append(best)
            rows[key] = best
    big = f"{sizes.fleet_factor}×"
    growth = run.result.table(f"growth 1× → {big}", (f"seconds 1× → {big}", f"peak RSS MB {big}"))
    for key, small in measured.get("1×", {}).items():
        large = measured.get(big, {}).get(key)
        if large is None or small.seconds is None or large.seconds is None:
            continue
        ratio = large.seconds / small.seconds
        growth.rows.append(PartRow(key, value=f"{small.seconds:.2f} → {large.seconds:.2f}", rss_mb=large.rss_mb,
                                   targets=[Target(f"≤ {sizes.fleet_factor + 1}× (time ratio)",
                                                   ratio <= sizes.fleet_factor + 1)],
                                   notes=f"time ratio {ratio:.2f}; RSS {small.rss_mb or 0:.0f} → {large.rss_mb or 0:.0f} MB"))


def _fleet_steps(run: PartRun, data: DataSet) -> dict[str, PartRow]:
    """Load, CLI report and API reports (threads; on MySQL also 2 Celery workers) on fresh databases."""
    scratch = Table("scratch")
    rows: dict[str, PartRow] = {}
    for kind in run.kinds():
        with run.database(kind, "bench_sm_fleet") as url:
            env = run.env(url)
            key = f"load ({kind})"

            def load(row: PartRow, env: dict[str, str] = env, kind: str = kind) -> None:
                run.load(row, env, data, f"fleet-{kind.lower()}")
                row.targets.append(Target("< 3 GB", row.rss_mb is not None and row.rss_mb < 3 * GB))

            rows[key] = run.step(scratch, key, load)
            if rows[key].failed:
                continue
            key = f"standard report, CLI ({kind})"

            def report(row: PartRow, env: dict[str, str] = env, kind: str = kind) -> None:
                run.report_cli(row, env, f"fleet-{kind.lower()}")
                row.targets.append(Target("< 2 GB", row.rss_mb is not None and row.rss_mb < 2 * GB))

            rows[key] = run.step(scratch, key, report)
            for cluster in (THREADS, CELERY_2) if kind == "MySQL" else (THREADS,):
                got = cluster_reports(run, scratch, url, cluster, later=0, rss_limit_mb=2 * GB, where=f" ({kind})")
                if "first" in got:
                    rows[f"API report, {cluster.label} ({kind})"] = got["first"]
    return rows


# ---- issue 15 (b) ---------------------------------------------------------------------------
def part_history(run: PartRun) -> None:
    sizes = run.sizes
    short_days, long_days = sizes.history_days
    short = run.data(sizes.history_stores, short_days)
    long = run.data(sizes.history_stores, long_days)
    hours = sizes.history_range_hours
    run.result.intro = (f"{short_days:g} days: {short.describe}; {long_days:g} days: {long.describe} "
                        f"({status_mb(long):.0f} MB). Targets (issue 15): the standard report about as fast with "
                        f"{long_days:g} days of polls as with {short_days:g} (read here as ≤ 1.25×); the {hours}-hour "
                        "range report within a few times the floor of its poll file (read here as ≤ 3× plain pandas "
                        "reading and parsing it).")
    floor = run.result.table("floor: pandas read_csv + to_datetime of the poll file")
    floors: dict[str, float] = {}
    for label, data in ((f"{short_days:g} days", short), (f"{long_days:g} days", long)):
        def measure(row: PartRow, data: DataSet = data, label: str = label) -> None:
            from benchkit.settings import FLOOR_SCRIPT, STATUS_FILE

            m = run_measured([run.python, "-c", FLOOR_SCRIPT, str(data.dir / STATUS_FILE)], run.env("sqlite://"),
                             run.logs, f"floor-{data.key}")
            row.seconds, row.rss_mb, row.notes = m.seconds, m.rss_mb, m.stdout.strip()
            floors[label] = m.seconds

        run.step(floor, f"floor, {label}", measure)
    for kind in run.kinds():
        table = run.result.table(kind)
        std: dict[str, float] = {}
        for label, data in ((f"{short_days:g} days", short), (f"{long_days:g} days", long)):
            with run.database(kind, "bench_sm_history") as url:
                env = run.env(url)
                loaded = run.step(table, f"load, {label}", lambda row: run.load(row, env, data, f"hist-{kind}"))
                if loaded.failed:
                    continue

                def standard(row: PartRow, label: str = label) -> None:
                    run.report_cli(row, env, f"hist-{kind}")
                    std[label] = row.seconds
                    base = std.get(f"{short_days:g} days")
                    if label != f"{short_days:g} days" and base:
                        row.targets.append(Target(f"≤ 1.25× the {short_days:g}-day report ({1.25 * base:.2f} s)",
                                                  row.seconds <= 1.25 * base))
                        row.notes += f"; {row.seconds / base:.2f}× the {short_days:g}-day report"

                run.step(table, f"standard report, {label}", standard)
                if data is long:
                    def ranged(row: PartRow) -> None:
                        run.report_cli(row, env, f"hist-range-{kind}", "--last-hours", str(hours))
                        base = floors.get(f"{long_days:g} days")
                        if base:
                            row.targets.append(Target(f"≤ 3× floor ({3 * base:.2f} s)", row.seconds <= 3 * base))
                            row.notes += f"; {row.seconds / base:.2f}× floor"

                    run.step(table, f"range report `--last-hours {hours}`, {label}", ranged)


# ---- issue 15 (c) ---------------------------------------------------------------------------
def part_size(run: PartRun) -> None:
    data = run.data(run.sizes.stores, run.sizes.days)
    run.result.intro = (f"{data.describe} loaded into an empty database. SQLite: the database file (all tables; "
                        "polls are nearly all of it). MySQL: data_length + index_length of `polls` from "
                        "information_schema after ANALYZE TABLE.")
    table = run.result.table("database size", ("MB per million polls", "total MB"))
    for kind in run.kinds():
        with run.database(kind, "bench_sm_size") as url:
            def measure(row: PartRow, url: str = url, kind: str = kind) -> None:
                run.load(PartRow("load"), run.env(url), data, f"size-{kind}")
                if kind == "SQLite":
                    path = url.removeprefix("sqlite:///")
                    from pathlib import Path

                    total = sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*")
                                if not p.name.endswith(".load-lock"))
                    polls = _sqlite_count(path)
                else:
                    total, polls = _mysql_polls_size(run, url.rsplit("/", 1)[-1])
                per_million = total / 1e6 / (polls / 1e6) if polls else float("nan")
                row.value, row.rss_mb = f"{per_million:.1f}", total / 1e6
                row.notes = f"{polls:,} polls, {total / 1e6:.1f} MB"

            run.step(table, kind, measure)


def _sqlite_count(path: str) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM polls").fetchone()[0])


def _mysql_polls_size(run: PartRun, schema: str) -> tuple[int, int]:
    mysql = run.bench.mysql
    assert mysql is not None
    with mysql.connect() as conn, conn.cursor() as cur:
        cur.execute(f"ANALYZE TABLE `{schema}`.`polls`")
        cur.fetchall()
        cur.execute("SELECT data_length + index_length FROM information_schema.TABLES "
                    "WHERE table_schema = %s AND table_name = 'polls'", (schema,))
        total = int(cur.fetchone()[0])
        cur.execute(f"SELECT COUNT(*) FROM `{schema}`.`polls`")
        return total, int(cur.fetchone()[0])


@dataclass(frozen=True)
class Part:
    name: str
    title: str
    run: Callable[[PartRun], None]
    minutes: str  # expected at full size on this machine, for the help text


PARTS = (
    Part("celery", "Issue 11: the report on threads and on Celery workers", part_celery, "~5"),
    Part("ranges", "Issue 12: 31 days of polls — standard, 30-day range, one store's JSON", part_ranges, "~10"),
    Part("fleet", "Issue 15 (a): 1× and 10× stores", part_fleet, "~25"),
    Part("history", "Issue 15 (b): 400 stores, 8 and 370 days of polls", part_history, "~8"),
    Part("size", "Issue 15 (c): database size per million polls", part_size, "~2"),
    Part("closures", "Issue 20: one planned closure per store — standard report and 30-day range", part_closures,
         "~8"),
    Part("storage", "Issue 22: storage that scales out — availability, shard reads, pruning", part_storage, "~10"),
    Part("live", "Issue 19: live polls — POST /polls and the broker consumer, reports meanwhile", part_live, "~6"),
)
