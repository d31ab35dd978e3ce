"""Issue 22: storage that scales out — one store's availability cold and warm at 1× and 10×
stores, the database read of a report's shards (1 against 4), loads, and pruning a month of
400 days, on SQLite and MySQL, in one run."""
from __future__ import annotations

import json
import statistics
import time
from typing import Any

from benchkit.measure import run_measured
from benchkit.partkit import DataSet, PartRow, PartRun, Table, Target, timed_json_get
from benchkit.settings import ROOT, STATUS_FILE, StepError, tail

PROBE = ROOT / "benchmarks" / "benchkit" / "storage_probe.py"
RANGE_HOURS = 720  # availability over 30 days
STORES_ASKED = 30  # distinct stores asked, each once cold and once warm
SHARDS = 4
PRUNE_STORES, PRUNE_DAYS, PRUNE_KEEP = 400, 400, 370  # 400 days of polls, a month pruned


def _store_ids(data: DataSet, count: int) -> list[str]:
    """Distinct store ids from the first polls of the generated file (every one has polls)."""
    seen: dict[str, None] = {}
    with open(data.dir / STATUS_FILE, encoding="utf-8") as fh:
        fh.readline()
        for line in fh:
            seen.setdefault(line.split(",", 1)[0].strip('"'), None)
            if len(seen) >= count:
                break
    return list(seen)


def _p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def _ask(service: Any, stores: list[str]) -> list[float]:
    """Each store's availability over RANGE_HOURS once, in order; seconds each."""
    return [timed_json_get(service, f"/stores/{store}/availability?last_hours={RANGE_HOURS}") for store in stores]


def _caught_up(service: Any, timeout: float = 300.0) -> float:
    """Seconds until /health says live status holds the newest load (SPEC 10's evaluator folds a
    load made by `flask load-data` into it on the service's first start)."""
    started = time.perf_counter()
    while True:
        status, _, body = service.request("GET", "/health")
        if status == 200 and json.loads(body).get("live", {}).get("caught_up"):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise StepError(f"live status did not catch up within {timeout:.0f}s\n{tail(service.log_text())}")
        time.sleep(0.1)


def _availability(run: PartRun, table: Table, env: dict[str, str], data: DataSet, tag: str) -> None:
    """Three phases: the service's first start after the CLI load, while its live evaluator
    folds that load in (one read of 8 days of every store), then a fresh process: each store's
    first request (cold) and the same again (warm)."""
    stores = _store_ids(data, STORES_ASKED)
    first = run.service(env, f"avail-{tag}-catchup")
    try:
        first.start()
        during = _ask(first, stores)
        catch_up = _caught_up(first)
    finally:
        first.stop()
    service = run.service(env, f"avail-{tag}")
    rss = None
    try:
        service.start()
        _caught_up(service)
        cold, warm = _ask(service, stores), _ask(service, stores)
        rss = service.vm("VmHWM")
    finally:
        service.stop()
    table.rows.append(PartRow(
        f"availability, {RANGE_HOURS // 24} days, while live status catches up with the load (first start)",
        seconds=statistics.median(during),
        notes=(f"{len(during)} stores: median {statistics.median(during) * 1000:.1f} ms, p99 {_p99(during) * 1000:.1f} "
               f"ms; live status caught up {catch_up:.1f} s after the last of them")))
    table.rows.append(PartRow(
        f"availability, {RANGE_HOURS // 24} days, cold (fresh process, each store's first request)",
        seconds=statistics.median(cold), rss_mb=rss,
        targets=[Target("median < 0.1 s", statistics.median(cold) < 0.1), Target("p99 < 0.3 s", _p99(cold) < 0.3)],
        notes=(f"{len(cold)} stores: median {statistics.median(cold) * 1000:.1f} ms, p99 {_p99(cold) * 1000:.1f} ms, "
               f"the process's first request {cold[0] * 1000:.1f} ms")))
    table.rows.append(PartRow(
        f"availability, {RANGE_HOURS // 24} days, warm (the same stores again)", seconds=statistics.median(warm),
        rss_mb=rss, targets=[Target("median < 0.03 s", statistics.median(warm) < 0.03)],
        notes=f"median {statistics.median(warm) * 1000:.1f} ms, p99 {_p99(warm) * 1000:.1f} ms"))


def _shard_reads(run: PartRun, table: Table, env: dict[str, str], tag: str) -> None:
    def measure(row: PartRow) -> None:
        m = run_measured([run.python, str(PROBE), "shards", str(SHARDS)], env, run.logs, f"shards-{tag}")
        if m.returncode != 0:
            raise StepError(f"shard probe failed\n{tail(m.stderr)}")
        found = json.loads(m.stdout.strip().splitlines()[-1])
        one, many = found["k1"], found[f"k{SHARDS}"]
        ratio = many["total"] / one["total"] if one["total"] else float("inf")
        row.seconds, row.rss_mb = many["total"], m.rss_mb
        row.targets.append(Target(f"≤ 1.3× the 1-shard read ({1.3 * one['total']:.2f} s)", ratio <= 1.3))
        row.notes = (f"1 shard {one['total']:.2f} s ({one['polls']:,} polls); {SHARDS} shards "
                     + " + ".join(f"{s:.2f}" for s in many["seconds"]) + f" s ({many['polls']:,} polls); "
                     f"ratio {ratio:.2f}")

    run.step(table, f"standard report's DB read, {SHARDS} shards in all (each a fresh engine)", measure)


def _workers(run: PartRun, table: Table, url: str) -> None:
    """The standard report on 1 and on 2 real Celery workers (4 shards, fresh processes): with
    shards that read only their stores, a second worker must not make it slower (issue 22)."""
    from benchkit.parts import Cluster, cluster_reports  # parts imports this module

    firsts: dict[int, PartRow] = {}
    for workers in (1, 2):
        cluster = Cluster(f"celery, {workers} worker{'s' if workers > 1 else ''}, 4 shards", "celery", workers, 4)
        rows = cluster_reports(run, table, url, cluster, later=0)
        if "first" in rows and rows["first"].seconds is not None and not rows["first"].failed:
            firsts[workers] = rows["first"]
    if 1 in firsts and 2 in firsts:
        one, two = firsts[1].seconds or 0.0, firsts[2].seconds or 0.0
        firsts[2].targets.append(Target(f"no slower than 1 worker ({one:.2f} s)", two <= one))
        firsts[2].notes += f"; {two / one:.2f}× the 1-worker report" if one else ""


def _prune(run: PartRun) -> None:
    stores, days, keep = (PRUNE_STORES, PRUNE_DAYS, PRUNE_KEEP) if run.sizes.name == "full" else (60, 60, 30)
    data = run.data(stores, days)
    table = run.result.table(f"retention: {data.describe} ({days} days), POLL_RETENTION_DAYS={keep}")
    for kind in run.kinds():
        with run.database(kind, "bench_sm_prune") as url:
            env = run.env(url)
            loaded = run.step(table, f"load ({kind})",
                              lambda row, env=env, kind=kind: run.load(row, env, data, f"prune-{kind.lower()}"))
            if loaded.failed:
                continue

            def prune(row: PartRow, kind: str = kind, env: dict[str, str] = env) -> None:
                m = run_measured([run.python, str(PROBE), "prune", str(keep)], env, run.logs,
                                 f"prune-{kind.lower()}")
                if m.returncode != 0:
                    raise StepError(f"prune probe failed\n{tail(m.stderr)}")
                found = json.loads(m.stdout.strip().splitlines()[-1])
                row.seconds, row.rss_mb = found["seconds"], m.rss_mb
                if kind == "MySQL":
                    row.targets.append(Target("< 1 s", found["seconds"] < 1.0))
                days = (found["oldest_after"] - found["oldest_before"]) / 86_400e6
                row.notes = f"{found['pruned']:,} polls ({days:.1f} days) pruned, timed inside the process"

            run.step(table, f"prune a month ({kind})", prune)


def part_storage(run: PartRun) -> None:
    sizes = run.sizes
    one = run.data(sizes.stores, sizes.days)
    n = int(one.info["stores"])
    ten = run.data(n * sizes.fleet_factor, sizes.days)
    run.result.intro = (
        f"1×: {one.describe}; {sizes.fleet_factor}×: {ten.describe} ({sizes.days:g} days each; the 30-day "
        "availability range covers them all). Targets (issue 22): availability over 30 days cold median < 100 ms "
        "and p99 < 300 ms, warm < 30 ms; the shards' DB read ≤ 1.3× one read of all stores; pruning a month of "
        f"400 days < 1 s on MySQL; the {sizes.fleet_factor}× load ≤ {sizes.fleet_factor + 1}× the 1× load; at "
        f"{sizes.fleet_factor}× on MySQL the standard report on 2 Celery workers no slower than on 1.")
    loads: dict[tuple[str, str], float] = {}
    for label, data in (("1×", one), (f"{sizes.fleet_factor}×", ten)):
        for kind in run.kinds():
            table = run.result.table(f"{label}, {kind}: {data.describe}")
            with run.database(kind, "bench_sm_storage") as url:
                env = run.env(url)
                loaded = run.step(table, f"load ({kind}, fresh process)",
                                  lambda row, env=env, data=data, kind=kind: run.load(
                                      row, env, data, f"storage-{kind.lower()}"))
                if loaded.failed:
                    continue
                loads[(label, kind)] = loaded.seconds or 0.0
                if label != "1×" and loads.get(("1×", kind)):
                    ratio = loaded.seconds / loads[("1×", kind)]
                    limit = sizes.fleet_factor + 1
                    loaded.targets.append(Target(f"≤ {limit}× the 1× load", ratio <= limit))
                    loaded.notes += f"; {ratio:.2f}× the 1× load"
                try:
                    _availability(run, table, env, data, f"{kind.lower()}-{label}")
                except StepError as exc:
                    run.result.errors.append(f"availability ({label}, {kind}): {exc}")
                    run.bench.failed = True
                _shard_reads(run, table, env, f"{kind.lower()}-{label}")
                if kind == "MySQL" and label != "1×":
                    run.bench.ensure_broker()
                    _workers(run, table, url)
    _prune(run)
