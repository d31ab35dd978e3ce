"""A real `python app.py` process for end-to-end tests, spoken to over HTTP on 127.0.0.1.

Why a separate process: the app-factory tests (test_api.py) run the Flask app in the test's own
process, which cannot show what only a real server does: waitress threads, the start-up load in
the background, SIGTERM and SIGKILL, a restart on the same database, a database that goes away.

Usage::

    server = ServerProcess({"DATABASE_URL": url, "CSV_DIR": str(csv)}, log_path=tmp / "server.log")
    server.start()                      # waits until /health answers (200 or 503)
    response = server.request("POST", "/trigger_report", json_body={"as_of": "..."})
    server.stop()                       # SIGTERM, waits, returns the exit code
    print(server.logs())                # stdout and stderr of the process

Each process writes its own log file (overwritten on start); `logs()` reads it back.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]

# Settings of SPEC section 4: never inherited from the test's own environment.
CONTRACT_SETTINGS = ("DATABASE_URL", "CSV_DIR", "REPORT_DIR", "RELOAD_INTERVAL_SECONDS", "REPORT_WORKERS", "HOST", "PORT")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class HttpResponse:
    status: int
    headers: Message
    body: bytes
    seconds: float  # from sending the request to having read the whole body

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        assert self.content_type == "application/json", (self.status, self.content_type, self.body[:300])
        return json.loads(self.body)

    def is_html(self) -> bool:
        head = self.body[:500].lower()
        return "html" in self.content_type or b"<html" in head or b"<!doctype" in head


class ServerError(AssertionError):
    pass


class ServerProcess:
    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        port: int | None = None,
        name: str = "server",
        cwd: Path = ROOT,
    ) -> None:
        self.port = port or free_port()
        self._own_port = port is None  # picked here: may be picked again if another process took it
        self.name = name
        self.log_path = Path(log_path)
        self.cwd = cwd
        base = {k: v for k, v in os.environ.items() if k not in CONTRACT_SETTINGS}
        self.env = {
            **base,
            "HOST": "127.0.0.1",
            "RELOAD_INTERVAL_SECONDS": "0",
            "REPORT_WORKERS": "2",
            # Tests trigger reports in bursts; the rate limit of SPEC 8 is tested on its own.
            "TRIGGER_RATE_LIMIT": "100000/minute",
            "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in env.items()},
            "PORT": str(self.port),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None  # time.monotonic() of the spawn
        self.port_opened_at: float | None = None  # first successful TCP connect

    # -- life cycle ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, wait: bool = True) -> ServerProcess:
        assert self.proc is None, "already started"
        for attempt in range(3):
            if self._own_port and (attempt or port_open(self.port)):
                self.port = free_port()  # tests run in parallel: another one's server got there first
                self.env["PORT"] = str(self.port)
            elif port_open(self.port):
                raise ServerError(f"port {self.port} is already taken")
            self._spawn()
            if not wait:
                return self
            try:
                self.wait_for_port(timeout)
                break
            except ServerError:
                if not (self._own_port and self.proc.poll() is not None and "in use" in self.logs()):
                    raise
                self.proc = None  # lost the race for the port between free_port() and its bind()
        self.wait_for_health(timeout)
        return self

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py")], cwd=self.cwd, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait_for_port(self, timeout: float = 30.0) -> float:
        """Block until the port accepts connections; returns the monotonic time it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("before opening its port")
            if port_open(self.port, timeout=0.05):
                self.port_opened_at = time.monotonic()
                return self.port_opened_at
            time.sleep(0.01)
        raise ServerError(f"{self.name}: port {self.port} not open after {timeout}s\n{self.logs_tail()}")

    def wait_for_health(self, timeout: float = 30.0, statuses: tuple[int, ...] = (200, 503)) -> HttpResponse:
        deadline = time.monotonic() + timeout
        last: Exception | HttpResponse | None = None
        while time.monotonic() < deadline:
            self._check_alive("while waiting for /health")
            try:
                response = self.request("GET", "/health", timeout=5)
                if response.status in statuses:
                    return response
                last = response
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise ServerError(f"{self.name}: /health did not answer {statuses} in {timeout}s (last: {last!r})")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; SIGKILL and ServerError if it does not exit in time."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise ServerError(f"{self.name} ignored SIGTERM for {timeout}s and was killed") from None
        return self.proc.returncode

    def kill(self) -> int:
        """SIGKILL: the process dies wherever it is, like a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        return self.proc.returncode

    def cleanup(self) -> None:
        if self.running:
            self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()

    def _check_alive(self, when: str) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise ServerError(f"{self.name} exited with {self.proc.returncode} {when}\n{self.logs_tail()}")

    # -- HTTP --------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> HttpResponse:
        all_headers = {"Connection": "close", **(headers or {})}
        if query:
            path += ("&" if "?" in path else "?") + urlencode(query, doseq=True)
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form, doseq=True).encode()
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
            return HttpResponse(response.status, response.headers, data, time.monotonic() - started)
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("POST", path, **kwargs)

    def trigger(self, timeout: float = 60.0, **kwargs: Any) -> str:
        """POST /trigger_report; asserts the 202 answer and returns the report id."""
        response = self.post("/trigger_report", timeout=timeout, **kwargs)
        assert response.status == 202, (response.status, response.body[:300])
        body = response.json()
        assert body["status"] == "Running", body
        return body["report_id"]

    def wait_report(self, report_id: str, timeout: float = 60.0, interval: float = 0.05) -> HttpResponse:
        """Poll /get_report until the report is no longer Running; returns the final answer."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get("/get_report", query={"report_id": report_id})
            assert response.status == 200, (response.status, response.body[:300])
            if response.content_type != "application/json" or response.json()["status"] != "Running":
                return response
            if time.monotonic() > deadline:
                raise ServerError(f"report {report_id} still Running after {timeout}s\n{self.logs_tail()}")
            time.sleep(interval)

    # -- logs --------------------------------------------------------------------------------
    def logs(self) -> str:
        """What this process wrote to stdout and stderr so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def logs_tail(self, lines: int = 80) -> str:
        return f"--- last {lines} log lines of {self.name} ({self.log_path}) ---\n" + "\n".join(
            self.logs().splitlines()[-lines:]
        )
