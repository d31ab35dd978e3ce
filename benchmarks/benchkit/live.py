"""The `live` part (issue 19, SPEC 10): live polls into a loaded database.

Per database (SQLite, MySQL), on the standard data set:
1. a real `python app.py`: the standard report quiet (first, then later ones: the warm baseline);
2. `POST /polls` alone: batches of 1,000 new polls over 2 keep-alive connections for a while
   (live_client.py, its own process, bodies encoded before the clock starts);
3. the same with reports running back to back meanwhile: the ingest rate, and each report's time
   against the quiet one;
4. the broker: messages published to a queue of the bench vhost, then `flask consume-polls`
   started and timed from its first message to the last poll committed (one poll per message,
   then arrays of 100).
Targets (issue 19): ≥ 20,000 polls/s into MySQL; a report while ingesting within 1.5× a quiet one.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from benchkit import alert_latency
from benchkit.partkit import DataSet, PartRow, PartRun, Table, Target
from benchkit.service import Service
from benchkit.settings import ROOT, STATUS_FILE, StepError, tail

INGEST_SECONDS = {"full": 20.0, "tiny": 6.0}
CONSUMER_MESSAGES = {"full": (20_000, 1_000), "tiny": (2_000, 100)}  # single-poll messages, arrays of 100
TARGET_RATE = 20_000.0
TARGET_REPORT_RATIO = 1.5
MINUTE_US = 60_000_000


def part_live(run: PartRun) -> None:
    data = run.data(run.sizes.stores, run.sizes.days)
    seconds = INGEST_SECONDS[run.sizes.name]
    run.result.intro = (
        f"{data.describe} loaded, then live polls on a real `python app.py`: `POST /polls` in batches of 1,000 "
        f"new polls (every store once a minute after the newest loaded poll) over 2 keep-alive connections for "
        f"{seconds:g} s, from a separate client process whose bodies are encoded before the clock starts; then "
        "again with standard reports running back to back meanwhile (each with a new `as_of`); then the broker "
        "consumer (`flask consume-polls`, batches of 500 messages) timed from its first message to the last poll "
        "committed. The service runs with its defaults, LIVE_SHARE_WHILE_REPORTING=0.25 among them: while a report "
        "computes, live work takes at most a quarter of the time, so the ingest rate with reports back to back is "
        f"that share of the rate alone. Targets (issue 19): ≥ {TARGET_RATE:,.0f} polls/s into MySQL; a report while ingesting within "
        f"{TARGET_REPORT_RATIO}× a quiet one (the quiet one: best later report, inputs cached).")
    ids_file = run.dir / "store_ids.txt"
    ids = _store_ids(data)
    ids_file.write_text("\n".join(ids) + "\n")
    for kind in run.kinds():
        table = run.result.table(kind, ("polls/s or s", "peak RSS MB"))
        with run.database(kind, "bench_sm_live") as url:
            env = run.env(url, **alert_latency.SERVICE_ENV)
            loaded = run.step(table, f"load ({kind})",
                              lambda row, env=env, kind=kind: run.load(row, env, data, f"live-{kind.lower()}"))
            if loaded.failed:
                continue
            service = run.service(env, f"live-{kind.lower()}")
            try:
                health = service.start()
                latest = int(health["latest_poll_us"])
                quiet = _quiet_reports(run, table, service, latest)
                start_us = (latest // MINUTE_US + 1) * MINUTE_US
                run.step(table, "POST /polls alone", lambda row, service=service, start_us=start_us, kind=kind: _ingest(
                    run, row, service, ids_file, start_us, seconds, kind, reports=False))
                start_us += 10 ** 12  # other instants: every poll of the next step is new too
                _ingest_with_reports(run, table, service, ids_file, start_us, seconds, kind, quiet, latest)
                # Alert latency: quiet, then with the live client ingesting meanwhile (polls 100 days before
                # the newest one: new rows that change no live status, so only the alert's store moves).
                alert_latency.measure(run, table, service, kind)
                alert_latency.measure(
                    run, table, service, kind, "alert latency while ingesting",
                    during=lambda service=service, kind=kind, latest=latest: _background_ingest(
                        run, service, ids_file, latest - 100 * 86_400_000_000, seconds, kind))
            except (StepError, OSError, KeyError, ValueError) as exc:
                table.rows.append(PartRow("service", failed=True, notes=str(exc).splitlines()[0][:200]))
                run.result.errors.append(f"{kind} service: {exc}\n{tail(service.log_text())}")
                run.bench.failed = True
            finally:
                service.stop()
            for per_message, label in ((1, "one poll per message"), (100, "arrays of 100 polls")):
                run.step(table, f"broker consumer, {label}",
                         lambda row, n=per_message, env=env, url=url, latest=latest: _consumer(
                             run, row, env, url, ids, latest_us=latest + 2 * 10 ** 12 + n * 10 ** 11, per_message=n))


def _store_ids(data: DataSet) -> list[str]:
    import pandas as pd

    frame = pd.read_csv(data.dir / STATUS_FILE, usecols=["store_id"], dtype=str)
    return sorted(set(frame["store_id"].str.strip()))


def _quiet_reports(run: PartRun, table: Table, service: Service, latest: int) -> float | None:
    times: list[float] = []

    def measure(row: PartRow) -> None:
        for _ in range(3):
            seconds, _, rows = service.report(run.next_as_of(latest))
            times.append(seconds)
        row.seconds = min(times[1:])
        row.rss_mb = service.vm("VmHWM")
        row.notes = (f"first (cold) {times[0]:.2f} s, later {times[1]:.2f} / {times[2]:.2f} s (new as_of each; "
                     f"the best later one is the baseline); {rows:,} rows")

    row = run.step(table, "standard report, quiet", measure)
    return row.seconds


def _client(run: PartRun, service: Service, ids_file: Path, start_us: int, seconds: float,
            tag: str) -> subprocess.Popen[str]:
    log_path = run.logs / f"live-client-{tag}.log"
    return subprocess.Popen(
        [run.python, str(ROOT / "benchmarks" / "benchkit" / "live_client.py"), "--url", service.base,
         "--ids", str(ids_file), "--start-us", str(start_us), "--seconds", str(seconds)],
        stdout=subprocess.PIPE, stderr=open(log_path, "w"), text=True, cwd=ROOT)


def _background_ingest(run: PartRun, service: Service, ids_file: Path, start_us: int, seconds: float,
                       kind: str) -> Any:
    """Start the live client and return what waits for its end."""
    client = _client(run, service, ids_file, start_us, seconds, f"{kind.lower()}-alerts")
    _wait_ready(client)
    return lambda: _finish(client, seconds)


def _wait_ready(client: subprocess.Popen[str]) -> None:
    line = client.stdout.readline() if client.stdout else ""
    if '"ready"' not in line:
        raise StepError(f"the live client did not start: {line!r}")


def _finish(client: subprocess.Popen[str], seconds: float) -> dict[str, Any]:
    out, _ = client.communicate(timeout=seconds + 300)
    lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
    if client.returncode != 0 or not lines:
        raise StepError(f"the live client failed ({client.returncode}): {out[-500:]}")
    return json.loads(lines[-1])


def _rate_row(row: PartRow, answer: dict[str, Any], kind: str, service: Service) -> float:
    rate = answer["accepted"] / answer["seconds"]
    row.value = f"{rate:,.0f}/s"
    row.rss_mb = service.vm("VmHWM")
    row.notes = (f"{answer['accepted']:,} polls accepted in {answer['seconds']:.1f} s, {answer['requests']} requests, "
                 f"latency median {answer['p50_ms']:.0f} ms, p99 {answer['p99_ms']:.0f} ms"
                 + (f"; {answer['errors']} failed requests" if answer["errors"] else "")
                 + (f"; {answer['duplicates']} duplicates" if answer["duplicates"] else ""))
    if kind == "MySQL":
        row.targets.append(Target(f"≥ {TARGET_RATE:,.0f}/s", rate >= TARGET_RATE))
    if answer["errors"] or answer["rejected"]:
        raise StepError(f"{answer['errors']} requests failed, {answer['rejected']} polls rejected")
    return rate


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a process has used (0 if it is unknown or gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mysqld_pid() -> int | None:
    found = subprocess.run(["pgrep", "-o", "-x", "mariadbd|mysqld"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.strip() else None


def _ingest(run: PartRun, row: PartRow, service: Service, ids_file: Path, start_us: int, seconds: float,
            kind: str, reports: bool) -> None:
    """The rate, and the CPU the service and the database server spent per 1,000 polls: on a
    machine shared with other work the rate says what it got, the CPU what it would need."""
    client = _client(run, service, ids_file, start_us, seconds, f"{kind.lower()}-{'reports' if reports else 'alone'}")
    _wait_ready(client)
    service_pid = service.proc.pid if service.proc is not None else None
    mysqld = _mysqld_pid() if kind == "MySQL" else None
    before = _cpu_seconds(service_pid), _cpu_seconds(mysqld)
    answer = _finish(client, seconds)
    spent = _cpu_seconds(service_pid) - before[0], _cpu_seconds(mysqld) - before[1]
    _rate_row(row, answer, kind, service)
    per_k = 1000 / max(1, answer["accepted"])
    row.notes += f"; CPU per 1,000 polls: service {spent[0] * per_k * 1000:.1f} ms"
    if mysqld is not None:
        row.notes += f", MariaDB {spent[1] * per_k * 1000:.1f} ms (all its clients)"
    row.notes += f"; load average {os.getloadavg()[0]:.1f}"


def _ingest_with_reports(run: PartRun, table: Table, service: Service, ids_file: Path, start_us: int,
                         seconds: float, kind: str, quiet: float | None, latest: int) -> None:
    times: list[float] = []
    failures: list[str] = []
    answer: dict[str, Any] = {}

    def ingest(row: PartRow) -> None:
        client = _client(run, service, ids_file, start_us, seconds, f"{kind.lower()}-reports")
        _wait_ready(client)
        done = threading.Event()

        def reports() -> None:
            while not done.is_set():
                try:
                    spent, _, _ = service.report(run.next_as_of(latest))
                    if not done.is_set():
                        times.append(spent)
                except (StepError, OSError, ValueError) as exc:
                    failures.append(str(exc).splitlines()[0])
                    return

        reporter = threading.Thread(target=reports)
        reporter.start()
        try:
            answer.update(_finish(client, seconds))
        finally:
            done.set()
            reporter.join(600)
        _rate_row(row, answer, kind, service)
        row.notes += f"; {len(times)} reports finished meanwhile; load average {os.getloadavg()[0]:.1f}"
        if failures:
            raise StepError(f"a report failed while ingesting: {failures[0]}")

    run.step(table, "POST /polls with reports running meanwhile", ingest)

    def report(row: PartRow) -> None:
        if not times:
            raise StepError("no report finished while ingesting (the ingest window is too short)")
        row.seconds = statistics.median(times)
        row.rss_mb = service.vm("VmHWM")
        row.notes = f"median of {len(times)} ({', '.join(f'{t:.2f}' for t in times[:8])} s)"
        if quiet:
            ratio = row.seconds / quiet
            row.notes += f"; {ratio:.2f}× the quiet report ({quiet:.2f} s)"
            row.targets.append(Target(f"≤ {TARGET_REPORT_RATIO}× quiet", ratio <= TARGET_REPORT_RATIO))

    run.step(table, "standard report while ingesting", report)


def _consumer(run: PartRun, row: PartRow, env: dict[str, str], url: str, ids: list[str], latest_us: int,
              per_message: int) -> None:
    from kombu import Connection, Producer, Queue
    from sqlalchemy import create_engine, text

    broker = run.bench.args.broker_url
    messages = CONSUMER_MESSAGES[run.sizes.name][0 if per_message == 1 else 1]
    queue = f"store_monitor.polls.bench-{secrets.token_hex(4)}"
    n = len(ids)
    engine = create_engine(url)
    with engine.connect() as conn:
        before = int(conn.execute(text("SELECT COUNT(*) FROM polls")).scalar_one())
    total = messages * per_message
    with Connection(broker) as conn:
        channel = conn.channel()
        target = Queue(queue, routing_key=queue, durable=True)
        target(channel).declare()
        producer = Producer(channel)
        for m in range(messages):
            polls = []
            for i in range(m * per_message, (m + 1) * per_message):
                ts = latest_us + (i // n + 1) * MINUTE_US
                seconds, micros = divmod(ts, 1_000_000)
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}"
                polls.append({"store_id": ids[i % n], "status": "active", "timestamp_utc": stamp})
            body = json.dumps(polls[0] if per_message == 1 else polls).encode()
            producer.publish(body, exchange="", routing_key=queue, content_type="application/json",
                             content_encoding="binary", delivery_mode=2)
    log_path = run.logs / f"consumer-{queue}.log"
    consumer = subprocess.Popen(run.bench.flask("consume-polls"),
                                env=dict(env, POLL_BROKER_URL=broker, POLL_QUEUE=queue),
                                stdout=open(log_path, "w"), stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        started = None
        deadline = time.monotonic() + 600
        while True:
            with engine.connect() as conn:
                count = int(conn.execute(text("SELECT COUNT(*) FROM polls")).scalar_one()) - before
            if started is None and count > 0:
                started = time.perf_counter()  # the first batch committed: the consumer is running
                first = count
            if count >= total:
                break
            if consumer.poll() is not None:
                raise StepError(f"consume-polls exited ({consumer.returncode})\n{tail(log_path.read_text())}")
            if time.monotonic() > deadline:
                raise StepError(f"only {count} of {total} polls committed after 600 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        rate = (total - first) / elapsed if elapsed > 0 else float("inf")
        row.value = f"{rate:,.0f}/s"
        row.notes = (f"{messages:,} messages, {total:,} polls; {total - first:,} committed in {elapsed:.2f} s "
                     "after the first batch")
    finally:
        consumer.send_signal(signal.SIGTERM)
        try:
            consumer.wait(60)
        except subprocess.TimeoutExpired:
            consumer.kill()
        stopped = re.search(r"^stopped: .*$", log_path.read_text(), re.M)
        if stopped:
            row.notes += f"; consumer: {stopped.group(0)}"
        engine.dispose()
        with Connection(broker) as conn:
            conn.channel().queue_delete(queue)
            try:
                conn.channel().queue_delete(queue + ".rejected")
            except Exception:  # never declared: nothing was rejected
                pass
