"""Where a sharded report's time goes: run as a script on a loaded database ($DATABASE_URL).

For each shard count k, the stores are split as the report runner splits them (contiguous
store_id ranges) and each shard is built alone, cold, as a worker would: database read,
compute, CSV text + compression; then the merge (decompress and join) of the k parts. Prints one
JSON object. With k workers on k machines a report takes about the slowest shard plus the merge;
a shard's read still scans the whole time window, so the read total grows with k.
"""
from __future__ import annotations

import json
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project root


def main(counts: list[int]) -> None:
    import os

    import numpy as np

    from models import store_data
    from models.db import make_engine, read_tx
    from services.reports.builder import build_report, report_csv_text

    engine = make_engine(os.environ["DATABASE_URL"])
    with read_tx(engine) as conn:
        ids = sorted(store_data.store_keys(conn, None).index.tolist())
    answer: dict[str, object] = {"stores": len(ids), "shards": {}}
    for k in counts:
        parts, shards = [], []
        for chunk in np.array_split(np.array(ids, dtype=object), min(k, len(ids))):
            started = time.perf_counter()
            built = build_report(engine, None, list(chunk), None)
            built_at = time.perf_counter()
            parts.append(zlib.compress(report_csv_text(built.frame).encode("utf-8"), 6))
            shards.append({"stores": len(chunk), "read": built.timings["read"], "compute": built.timings["compute"],
                           "csv": round(time.perf_counter() - built_at, 4),
                           "total": round(time.perf_counter() - started, 4)})
        started = time.perf_counter()
        texts = [zlib.decompress(part).decode("utf-8") for part in parts]
        merged = texts[0].partition("\n")[0] + "\n" + "".join(t.partition("\n")[2] for t in texts)
        merge = time.perf_counter() - started
        answer["shards"][str(k)] = {"parts": shards, "merge": round(merge, 4), "rows": merged.count("\n") - 1}
    print(json.dumps(answer))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 2, 4])
