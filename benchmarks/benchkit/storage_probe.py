"""In-process measurements of the storage part (issue 22), run in a fresh process by the bench.

    python storage_probe.py shards N          # DB read of the standard report: 1 shard, N shards
    python storage_probe.py prune DAYS        # POLL_RETENTION_DAYS=DAYS pruning, timed

The database is DATABASE_URL. One JSON line on stdout.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from models import retention, store_data  # noqa: E402
from models.db import make_engine, read_tx  # noqa: E402
from services.reports.inputs import read_inputs  # noqa: E402


def shards(count: int) -> dict[str, object]:
    """The reads a standard report's shards make (ranges of store keys, as the job runner plans
    them), each on a fresh engine like a Celery worker's, against one read of every store."""
    engine = make_engine(os.environ["DATABASE_URL"])
    with read_tx(engine) as conn:
        ids = store_data.store_keys(conn).sort_values(kind="stable").index.tolist()
    engine.dispose()
    plans = {1: [None], count: [list(p) for p in np.array_split(np.array(ids, dtype=object), count)]}
    out: dict[str, object] = {"stores": len(ids)}
    for k, plan in plans.items():
        seconds, polls = [], 0
        for part in plan:
            engine = make_engine(os.environ["DATABASE_URL"])
            started = time.perf_counter()
            inputs = read_inputs(engine, None, part, None)
            seconds.append(time.perf_counter() - started)
            polls += len(inputs.polls)
            engine.dispose()
        out[f"k{k}"] = {"seconds": [round(s, 3) for s in seconds], "total": round(sum(seconds), 3), "polls": polls}
    return out


def prune(days: int) -> dict[str, object]:
    engine = make_engine(os.environ["DATABASE_URL"])
    with read_tx(engine) as conn:
        before = (store_data.earliest_poll_us(conn), store_data.latest_poll_us(conn))
    started = time.perf_counter()
    pruned = retention.prune_polls(engine, days)
    seconds = time.perf_counter() - started
    with read_tx(engine) as conn:
        after = store_data.earliest_poll_us(conn)
    engine.dispose()
    return {"seconds": round(seconds, 3), "pruned": pruned, "oldest_before": before[0], "newest": before[1],
            "oldest_after": after}


if __name__ == "__main__":
    what, arg = sys.argv[1], int(sys.argv[2])
    print(json.dumps(shards(arg) if what == "shards" else prune(arg)))
