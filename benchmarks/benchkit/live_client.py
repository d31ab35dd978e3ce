"""The load generator of the `live` part: POST /polls as fast as the service takes it.

Run as its own process (the benchmark's Python would otherwise share the GIL with nothing but
itself, and the service's measured rate would include this process's JSON encoding): the request
bodies are all encoded before the clock starts; `--connections` threads then post them over
keep-alive connections until `--seconds` have passed or the bodies run out. Prints one JSON line:
requests, polls sent/accepted/duplicates/rejected, seconds, and request latency percentiles.

Polls: store ids from `--ids` (one a line), one poll per store per minute from `--start-us` on,
so every poll is new (the usual live traffic: the fleet polled every minute).
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from urllib.parse import urlsplit

MINUTE_US = 60_000_000


def bodies(ids: list[str], start_us: int, batch: int, count: int) -> list[bytes]:
    out = []
    n = len(ids)
    for b in range(count):
        polls = []
        for i in range(b * batch, (b + 1) * batch):
            ts = start_us + (i // n) * MINUTE_US + (i % 997) * 1000
            seconds, micros = divmod(ts, 1_000_000)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"
            polls.append({"store_id": ids[i % n], "status": "inactive" if i % 11 == 0 else "active",
                          "timestamp_utc": stamp})
        out.append(json.dumps(polls).encode())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--start-us", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--max-rate", type=float, default=60_000.0, help="polls/s the bodies are made for")
    args = parser.parse_args()
    ids = [line.strip() for line in open(args.ids, encoding="utf-8") if line.strip()]
    count = max(1, int(args.seconds * args.max_rate / args.batch))
    made = bodies(ids, args.start_us, args.batch, count)
    target = urlsplit(args.url)
    lock = threading.Lock()
    queue = list(reversed(made))
    totals = {"requests": 0, "polls": 0, "accepted": 0, "duplicates": 0, "rejected": 0, "errors": 0}
    latencies: list[float] = []
    print(json.dumps({"ready": len(made)}), flush=True)
    started = time.perf_counter()
    deadline = started + args.seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        while time.perf_counter() < deadline:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            sent = time.perf_counter()
            conn.request("POST", "/polls", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - sent
            with lock:
                latencies.append(elapsed)
                totals["requests"] += 1
                totals["polls"] += args.batch
                if response.status == 200:
                    answer = json.loads(data)
                    totals["accepted"] += answer["accepted"]
                    totals["duplicates"] += answer["duplicates"]
                    totals["rejected"] += len(answer["rejected"])
                else:
                    totals["errors"] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    totals.update(seconds=seconds, p50_ms=1000 * statistics.median(ordered) if ordered else None,
                  p99_ms=1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else None,
                  bodies=len(made))
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
