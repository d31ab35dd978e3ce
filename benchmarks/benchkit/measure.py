"""Child processes measured for wall time and peak resident memory."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from benchkit.settings import ROOT, RSS_WRAPPER, STEP_TIMEOUT, StepError, tail


@dataclass
class Measured:
    seconds: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str], env: dict[str, str], log_dir: Path, name: str,
                 timeout: float = STEP_TIMEOUT, check: bool = True) -> Measured:
    """Run cmd in a fresh process; wall seconds and the child's own peak RSS.

    A Python command (`python -m M ...` / `python -c CODE ...`) runs under RSS_WRAPPER, which
    reports VmHWM; anything else falls back to ru_maxrss from wait4 (an upper bound).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    rss_path = log_dir / f"{name}.vmhwm"
    rss_path.unlink(missing_ok=True)
    cmd = shown = list(cmd)
    if len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1] in ("-m", "-c"):
        cmd = [cmd[0], "-c", RSS_WRAPPER, *cmd[1:]]
        env = dict(env, BENCH_RSS_FILE=str(rss_path))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=ROOT)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: never leave the child running
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        rss_mb = int(rss_path.read_text().strip()) / 1024.0
    except (OSError, ValueError):
        rss_mb = usage.ru_maxrss / 1024.0
    result = Measured(seconds, rss_mb, proc.returncode,
                      out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))
    if check and (timed_out.is_set() or result.returncode != 0):
        why = f"timed out after {timeout:.0f}s" if timed_out.is_set() else f"exit code {result.returncode}"
        raise StepError(
            f"{name}: `{shlex.join(shown)}` failed ({why})\n  stdout tail:\n{tail(result.stdout, 8)}"
            f"\n  stderr tail:\n{tail(result.stderr)}\n  full logs: {out_path}, {err_path}"
        )
    return result


def best_of(runs: int, fn: Callable[[int], Measured]) -> tuple[Measured, list[Measured]]:
    results = [fn(i) for i in range(max(1, runs))]
    return min(results, key=lambda r: r.seconds), results
