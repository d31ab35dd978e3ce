"""Real Celery workers (`celery -A make_celery worker`) for the cluster steps, and their memory.

Each worker is started by this harness and stopped by its own pid. Its peak RSS is the largest
VmHWM of the worker process and of its pool children (the prefork child runs the tasks), read
from /proc while the worker runs, since a child's /proc entry is gone once it exits.
"""
from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchkit.settings import ROOT, StepError, log, tail

SHARD_LINE = re.compile(r"report (\S+) shard (\d+)/(\d+): (\d+) stores in ([\d.]+)s")


def vm_kb(pid: int, field_name: str = "VmHWM") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                pass
    except OSError:
        pass
    return found


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    log_path: Path
    peak_kb: dict[int, int] = field(default_factory=dict)  # pid → VmHWM, the worker and its children

    def sample(self) -> None:
        for pid in [self.proc.pid, *children(self.proc.pid)]:
            value = vm_kb(pid)
            if value is not None:
                self.peak_kb[pid] = max(value, self.peak_kb.get(pid, 0))

    def peak_mb(self) -> float | None:
        return max(self.peak_kb.values()) / 1024.0 if self.peak_kb else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Workers:
    """N workers with `--concurrency 1`, on the environment the API processes use."""

    def __init__(self, python: str, env: dict[str, str], log_dir: Path, count: int) -> None:
        self.python, self.env, self.log_dir, self.count = python, env, log_dir, count
        self.workers: list[Worker] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._logs: list = []

    def purge(self) -> None:
        """Drop messages an interrupted earlier run left in the queue."""
        proc = subprocess.run([self.python, "-m", "celery", "-A", "make_celery", "purge", "-f"], env=self.env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise StepError(f"`celery purge` failed (exit {proc.returncode}): is the broker up?\n{tail(proc.stderr)}")

    def start(self, timeout: float = 120.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stamp = int(time.time() * 1000)
        for i in range(1, self.count + 1):
            log_path = self.log_dir / f"worker{i}-{stamp}.log"
            out = open(log_path, "wb")
            self._logs.append(out)
            cmd = [self.python, "-m", "celery", "-A", "make_celery", "worker", "--loglevel", "INFO",
                   "--concurrency", "1", "-n", f"bench{i}-{stamp}@%h", "--without-gossip", "--without-mingle"]
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env, cwd=ROOT)
            self.workers.append(Worker(f"worker {i}", proc, log_path))
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            while " ready." not in worker.log_text():
                if worker.proc.poll() is not None:
                    raise StepError(f"{worker.name} exited ({worker.proc.returncode}) while starting\n"
                                    f"{tail(worker.log_text())}")
                if time.monotonic() > deadline:
                    raise StepError(f"{worker.name} not ready within {timeout:.0f}s\n{tail(worker.log_text())}")
                time.sleep(0.1)
        self._sampler = threading.Thread(target=self._sample_loop, name="rss-sampler", daemon=True)
        self._sampler.start()

    def _sample_loop(self) -> None:
        while not self._stop.wait(0.2):
            for worker in self.workers:
                worker.sample()

    def check_alive(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() is not None:
                raise StepError(f"{worker.name} exited ({worker.proc.returncode})\n{tail(worker.log_text())}")

    def shard_lines(self, report_id: str) -> list[tuple[str, int, int, float]]:
        """(worker, shard, stores, seconds) of each shard of the report, from the workers' logs."""
        found = []
        for worker in self.workers:
            for m in SHARD_LINE.finditer(worker.log_text()):
                if m.group(1) == report_id:
                    found.append((worker.name, int(m.group(2)), int(m.group(4)), float(m.group(5))))
        return sorted(found, key=lambda item: item[1])

    def rss_note(self) -> str:
        for worker in self.workers:
            worker.sample()
        return ", ".join(f"{w.name} {w.peak_mb():.0f} MB" if w.peak_mb() else f"{w.name} —" for w in self.workers)

    def peak_mb(self) -> float | None:
        values = [w.peak_mb() for w in self.workers if w.peak_mb() is not None]
        return max(values) if values else None

    def stop(self) -> None:
        self._stop.set()
        for worker in self.workers:
            if worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"{worker.name} did not stop on SIGTERM within 30 s: killing it")
                worker.proc.kill()
                worker.proc.wait(timeout=10)
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        for out in self._logs:
            out.close()
