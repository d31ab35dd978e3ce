#!/usr/bin/env python
"""A bounded HTTP load test of a real `python app.py` (not part of pytest).

    python benchmarks/load_test.py                      # 16 clients for 30 s on generated data
    python benchmarks/load_test.py --clients 8 --seconds 10 --data DIR

What it does:
1. data: DIR from --data, or `scripts/generate_data.py --real-dir data/loop_sample/2023
   --stores 2000 --days 7` into a temporary folder;
2. starts `python app.py` (this Python, cwd = project root) on a free port of 127.0.0.1 with
   DATABASE_URL = a fresh SQLite file, CSV_DIR = the data, REPORT_DIR = a temporary folder and
   RELOAD_INTERVAL_SECONDS=0, and waits until /health counts the polls of the start-up load;
3. triggers a few reports, then runs --clients threads for --seconds (at most --max-requests in
   all), each looping over: GET /get_report (running or complete ids; CSVs are downloaded whole and
   their header checked), GET /reports/<id>, now and then GET /health and POST /trigger_report
   (at most --max-triggers new reports, so the job queue stays bounded);
4. prints a markdown summary (requests, req/s, 5xx, connection errors, p50/p95/p99 latency per
   endpoint) and exits non-zero on any 5xx, connection error or malformed answer.

The server is always stopped (SIGTERM, then SIGKILL) and the temporary folders removed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = ROOT / "data" / "loop_sample" / "2023"
HOST = "127.0.0.1"
REPORT_HEADER = (b"store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
                 b"downtime_last_hour,downtime_last_day,downtime_last_week")
sys.path.insert(0, str(ROOT / "tests"))  # the helpers shared with the tests: tests/support
from support.server import CONTRACT_SETTINGS, free_port  # noqa: E402


@dataclass
class Result:
    endpoint: str
    status: int  # 0 = connection error
    seconds: float
    problem: str = ""


@dataclass
class Shared:
    """What the client threads share: known report ids and the results."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    report_ids: list[str] = field(default_factory=list)
    store_ids: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    triggers_left: int = 0
    requests_left: int = 0

    def take_request(self) -> bool:
        return self._take("requests_left")

    def take_trigger(self) -> bool:
        return self._take("triggers_left")

    def _take(self, budget: str) -> bool:
        """One unit of the named budget, if any is left (the bounds keep the load test finite)."""
        with self.lock:
            left = getattr(self, budget)
            if left <= 0:
                return False
            setattr(self, budget, left - 1)
            return True


class Client:
    """One keep-alive connection; reconnects after a failure."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def timed(client: Client, shared: Shared, endpoint: str, method: str, path: str,
          body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes] | None:
    started = time.perf_counter()
    try:
        status, response_headers, data = client.request(method, path, body, headers)
    except (OSError, http.client.HTTPException) as exc:
        with shared.lock:
            shared.results.append(Result(endpoint, 0, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"))
        return None
    result = Result(endpoint, status, time.perf_counter() - started)
    result.problem = check_answer(endpoint, status, response_headers, data)
    with shared.lock:
        shared.results.append(result)
    return status, response_headers, data


def check_answer(endpoint: str, status: int, headers: dict[str, str], data: bytes) -> str:
    """A short description of what is wrong with an answer, or ''."""
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if b"Traceback" in data:
        return "traceback in body"
    if status >= 400 and content_type != "application/json":
        return f"error answer as {content_type or 'no content type'}"
    if endpoint == "GET /get_report" and status == 200:
        if content_type == "text/csv":
            if not data.startswith(REPORT_HEADER):
                return "CSV without the report header"
            if headers.get("x-report-status") != "Complete":
                return "CSV without X-Report-Status: Complete"
        elif content_type == "application/json":
            if json.loads(data).get("status") not in ("Running", "Failed"):
                return f"unexpected JSON {data[:100]!r}"
        else:
            return f"unexpected content type {content_type}"
    if endpoint == "POST /trigger_report" and status != 202:
        return f"trigger answered {status}"
    return ""


def client_loop(port: int, shared: Shared, deadline: float, seed: int, timeout: float) -> None:
    rng = random.Random(seed)
    client = Client(port, timeout)
    try:
        while time.monotonic() < deadline and shared.take_request():
            with shared.lock:
                report_id = rng.choice(shared.report_ids)
            roll = rng.random()
            if roll < 0.60:
                param = rng.choice(["report_id", "repid"])
                timed(client, shared, "GET /get_report", "GET", f"/get_report?{param}={quote(report_id)}")
            elif roll < 0.88:
                timed(client, shared, "GET /reports/<id>", "GET", f"/reports/{quote(report_id)}")
            elif roll < 0.96:
                timed(client, shared, "GET /health", "GET", "/health")
            elif roll < 0.98:
                timed(client, shared, "GET /get_report (unknown id)", "GET", "/get_report?report_id=no-such-report")
            elif shared.take_trigger():
                params: dict = {}
                if rng.random() < 0.5:  # a few distinct as_of values: some reports computed, some reused
                    params["as_of"] = rng.choice(["2023-01-25T18:00:00Z", "2023-01-24T12:00:00Z", "2023-01-23T00:00:00Z"])
                if rng.random() < 0.5 and shared.store_ids:
                    params["store_id"] = rng.sample(shared.store_ids, k=min(len(shared.store_ids), rng.randint(1, 50)))
                answer = timed(client, shared, "POST /trigger_report", "POST", "/trigger_report",
                               json.dumps(params).encode(), {"Content-Type": "application/json"})
                if answer and answer[0] == 202:
                    with shared.lock:
                        shared.report_ids.append(json.loads(answer[2])["report_id"])
            else:
                timed(client, shared, "GET /health", "GET", "/health")
    finally:
        client.close()


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def summary(results: list[Result], seconds: float, clients: int, extra: dict[str, str]) -> str:
    by_endpoint: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_endpoint[r.endpoint].append(r)
    server_errors = sum(r.status >= 500 for r in results)
    connection_errors = sum(r.status == 0 for r in results)
    problems = [r for r in results if r.problem and r.status != 0]
    lines = [
        "## Load test summary",
        "",
        "| measure | value |",
        "|---|---|",
        f"| clients | {clients} |",
        f"| duration | {seconds:.1f} s |",
        f"| requests | {len(results)} |",
        f"| requests/s | {len(results) / seconds:.1f} |" if seconds > 0 else "| requests/s | - |",
        f"| 5xx answers | {server_errors} |",
        f"| connection errors | {connection_errors} |",
        f"| malformed answers | {len(problems)} |",
        *[f"| {k} | {v} |" for k, v in extra.items()],
        "",
        "| endpoint | requests | statuses | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for endpoint in sorted(by_endpoint):
        rs = by_endpoint[endpoint]
        ms = sorted(r.seconds * 1000 for r in rs)
        statuses = ", ".join(f"{s or 'conn-err'}×{n}" for s, n in sorted(Counter(r.status for r in rs).items()))
        lines.append(
            f"| {endpoint} | {len(rs)} | {statuses} | {percentile(ms, 0.50):.1f} | {percentile(ms, 0.95):.1f} | "
            f"{percentile(ms, 0.99):.1f} | {ms[-1]:.1f} |"
        )
    shown = Counter(f"{r.endpoint}: {r.problem}" for r in results if r.problem)
    if shown:
        lines += ["", "Problems:", *[f"- {text} (×{n})" for text, n in shown.most_common(10)]]
    return "\n".join(lines)


class Server:
    def __init__(self, work: Path, data_dir: Path, port: int) -> None:
        self.port = port
        self.log_path = work / "server.log"
        env = {k: v for k, v in os.environ.items() if k not in CONTRACT_SETTINGS}
        env.update(
            DATABASE_URL=f"sqlite:///{work / 'load_test.sqlite'}",
            CSV_DIR=str(data_dir),
            REPORT_DIR=str(work / "reports"),
            RELOAD_INTERVAL_SECONDS="0",
            HOST=HOST,
            PORT=str(port),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"server ignored SIGTERM for {timeout}s: killing it", file=sys.stderr)
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def get_json(port: int, path: str, timeout: float = 10.0, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    client = Client(port, timeout)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, data = client.request(method, path, payload, headers)
        return status, json.loads(data) if data.startswith(b"{") else {}
    finally:
        client.close()


def wait_for_polls(server: Server, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"server exited with {server.proc.returncode}\n{server.log_tail()}")
        try:
            status, health = get_json(server.port, "/health", timeout=5)
            last = (status, health)
            if status == 200 and health.get("polls", 0) > 0:
                return health
        except (OSError, http.client.HTTPException, ValueError) as exc:
            last = exc
        time.sleep(0.25)
    raise RuntimeError(f"/health showed no polls after {timeout}s (last: {last!r})\n{server.log_tail()}")


def store_ids_of(data_dir: Path, limit: int = 500) -> list[str]:
    import csv
    with open(data_dir / "store_status.csv", newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        seen: dict[str, None] = {}
        for row in reader:
            seen.setdefault(row["store_id"].strip(), None)
            if len(seen) >= limit:
                break
    return list(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=500_000, help="upper bound on requests in all")
    parser.add_argument("--max-triggers", type=int, default=20, help="new reports the clients may trigger")
    parser.add_argument("--data", type=Path, help="folder with the three CSVs (default: generate)")
    parser.add_argument("--stores", type=int, default=2000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, log)")
    parser.add_argument("--out", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.seconds > 3600:
        parser.error("--clients must be >= 1 and --seconds in (0, 3600]")

    work = Path(tempfile.mkdtemp(prefix="store-monitor-load-"))
    server: Server | None = None
    exit_code = 1
    try:
        if args.data:
            data_dir = args.data.resolve()
        else:
            data_dir = work / "data"
            started = time.monotonic()
            subprocess.run(
                [sys.executable, "scripts/generate_data.py", "--real-dir", str(REAL_DIR), "--stores", str(args.stores),
                 "--days", str(args.days), "--out", str(data_dir)],
                cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
            )
            print(f"generated {args.stores} stores x {args.days} days in {time.monotonic() - started:.1f}s", file=sys.stderr)
        server = Server(work, data_dir, free_port())
        started = time.monotonic()
        server.start()
        health = wait_for_polls(server, args.startup_timeout)
        load_seconds = time.monotonic() - started
        print(f"server up on {HOST}:{server.port}, {health['polls']} polls of {health['stores']} stores "
              f"after {load_seconds:.1f}s", file=sys.stderr)

        shared = Shared(triggers_left=args.max_triggers, requests_left=args.max_requests)
        shared.store_ids = store_ids_of(data_dir)
        for body in ({}, {"as_of": "2023-01-25T18:00:00Z"}, {"store_id": shared.store_ids[:20]}):
            status, answer = get_json(server.port, "/trigger_report", method="POST", body=body)
            if status != 202:
                raise RuntimeError(f"trigger answered {status}: {answer}")
            shared.report_ids.append(answer["report_id"])

        started = time.monotonic()
        deadline = started + args.seconds
        threads = [
            threading.Thread(target=client_loop, args=(server.port, shared, deadline, seed, args.request_timeout),
                             name=f"client-{seed}", daemon=True)
            for seed in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + args.request_timeout + 30)
        elapsed = time.monotonic() - started
        stuck = sum(thread.is_alive() for thread in threads)

        with shared.lock:
            results = list(shared.results)
            report_ids = list(shared.report_ids)
        finished = Counter()
        for report_id in report_ids:
            try:
                status, body = get_json(server.port, f"/reports/{quote(report_id)}")
                finished[body.get("status", str(status))] += 1
            except (OSError, http.client.HTTPException, ValueError):
                finished["unreachable"] += 1
        extra = {
            "data": f"{health['stores']} stores, {health['polls']} polls (start-up load {load_seconds:.1f} s)",
            "reports": f"{len(report_ids)} triggered; at the end: "
                       + ", ".join(f"{k} {v}" for k, v in sorted(finished.items())),
        }
        if stuck:
            extra["client threads still blocked"] = str(stuck)
        text = summary(results, elapsed, args.clients, extra)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        bad = (sum(r.status >= 500 or r.status == 0 for r in results) + sum(bool(r.problem) for r in results) + stuck)
        exit_code = 1 if bad or not results else 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        exit_code = 130
    except Exception as exc:  # print the reason and still stop the server
        print(f"load test failed: {exc}", file=sys.stderr)
        exit_code = 1
    finally:
        if server is not None:
            code = server.stop()
            log = server.log_tail(2000)
            tracebacks = log.count("Traceback")
            if tracebacks:
                print(f"server log has {tracebacks} traceback(s); last lines:\n{server.log_tail(30)}", file=sys.stderr)
            print(f"server stopped (exit code {code})", file=sys.stderr)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
