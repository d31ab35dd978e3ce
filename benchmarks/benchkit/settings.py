"""Where the benchmark finds things, its limits, and the scripts it runs in child processes."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
REAL_DIR = ROOT / "data" / "loop_sample" / "2023"
GENERATOR = ROOT / "scripts" / "generate_data.py"
DAYS = 7.75
QUICK_STORES = 2000
STATUS_FILE = "store_status.csv"
APPEND_FILE = "append_1h.lines"  # cached appended polls (not a name the loader looks at)
STEP_TIMEOUT = 3600.0
POLL_INTERVAL = 0.02
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

FLOOR_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
ts = pd.to_datetime(df["timestamp_utc"].str.removesuffix(" UTC"), format="ISO8601", utc=True)
t2 = time.perf_counter()
print(f"rows={len(df)} import={t1 - t0:.3f} work={t2 - t1:.3f} valid={int(ts.notna().sum())}")
"""


# Runs `python -m MODULE ...` or `python -c CODE ...` and, at exit, writes the process's VmHWM
# (peak resident set of its own address space) to $BENCH_RSS_FILE. ru_maxrss from wait4 is not
# used first because Linux carries the parent's high-water mark into a forked-and-exec'd child.
RSS_WRAPPER = r"""
import atexit, os, runpy, sys
def _bench_report_rss():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    with open(os.environ["BENCH_RSS_FILE"], "w") as out:
                        out.write(line.split()[1])
    except (OSError, KeyError):
        pass
atexit.register(_bench_report_rss)
mode, target, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StepError(RuntimeError):
    """A measured step failed; the message says what and shows the output's tail."""


def tail(text: str, lines: int = 25) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("    | " + line for line in kept) if kept else "    | (empty)"
