"""Shards are ranges of store keys (services/jobs/runner._plan); their rows are merged back into
store_id order (services/jobs/tasks.merge_rows_by_store_id), whatever the ids hold."""
from __future__ import annotations

import csv
import io
import random

from services.jobs.tasks import merge_rows_by_store_id


def body(ids: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for store_id in sorted(ids):
        writer.writerow([store_id, 1, 2.5])
    return out.getvalue()


def test_rows_of_interleaved_shards_come_out_in_code_point_order() -> None:
    ids = [f"s{n:03d}" for n in range(60)] + ['a,b', 'q"uote', "line\u2028sep", "Émile", "z", "Z", "10", "9", "é"]
    rng = random.Random(7)
    rng.shuffle(ids)
    shards = [ids[k::4] for k in range(4)]  # key ranges cut across the id order
    merged = merge_rows_by_store_id([body(s) for s in shards] + [""])
    assert merged == body(ids)
    assert [row[0] for row in csv.reader(io.StringIO(merged))] == sorted(ids)


def test_one_shard_is_returned_as_it_is() -> None:
    assert merge_rows_by_store_id([body(["b", "a"])]) == body(["a", "b"])
