"""A running `python app.py` driven over HTTP: start, trigger, follow, download."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchkit.settings import EPOCH, POLL_INTERVAL, ROOT, STEP_TIMEOUT, StepError, log, tail


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
