"""The report builder's in-memory inputs cache: reused only when it is exactly right."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models import report_inputs
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant
from services.reports.builder import InputsCache, build_report
from services.access.principal import OWNER, Principal
from services.reports.answers import AnswerCache
from services.reports.ranges import StoreNotFound, store_availability
from services.contract.reports import ReportRequest
from conftest import combine_examples


@pytest.fixture
def counted_reads(monkeypatch):
    calls: list[int | None] = []
    real = report_inputs.read_report_inputs

    def counting(conn, now_us, lookback_us, store_ids=None):
        calls.append(now_us)
        return real(conn, now_us, lookback_us, store_ids)

    monkeypatch.setattr(report_inputs, "read_report_inputs", counting)
    return calls


def test_cache_serves_same_or_later_now_and_rereads_otherwise(runtime, tmp_path: Path, counted_reads) -> None:
    engine = runtime.engine
    load_directory(engine, combine_examples(["ex1", "ex2", "ex3", "ex4"], tmp_path / "in"))
    cache = InputsCache()
    noon = parse_instant("2023-01-23T12:00:00Z")

    first = build_report(engine, noon, cache=cache)
    later = build_report(engine, noon + 1_000_000, cache=cache)
    subset = build_report(engine, noon, ["store-2"], cache=cache)
    assert len(counted_reads) == 1  # the later now and the store subset came from memory
    pd.testing.assert_frame_equal(later.frame, build_report(engine, noon + 1_000_000).frame)
    pd.testing.assert_frame_equal(subset.frame, build_report(engine, noon, ["store-2"]).frame)
    assert list(subset.frame["store_id"]) == ["store-2"]

    earlier = build_report(engine, noon - 3_600_000_000, cache=cache)  # window starts before the cache
    assert len(counted_reads) == 4  # the first read, 2 uncached comparisons above, this re-read
    pd.testing.assert_frame_equal(earlier.frame, build_report(engine, noon - 3_600_000_000).frame)

    # new data: a new version, so the cache is not used
    before = len(counted_reads)
    load_directory(engine, combine_examples(["ex1", "ex2", "ex3", "ex4", "ex5"], tmp_path / "more"))
    fresh = build_report(engine, noon, cache=cache)
    assert len(counted_reads) == before + 1
    assert "store-5" in set(fresh.frame["store_id"])
    assert first.data_version < fresh.data_version


def test_one_store_availability_reads_just_its_store(runtime, tmp_path: Path, counted_reads) -> None:
    """Polls are read by store on both databases (MySQL's (store, time) key, SQLite's hour
    index: models/poll_layout.py): each request reads its store alone, nothing of it is kept,
    and the answer is that of an uncached read; a full read in memory still serves it."""
    engine = runtime.engine
    load_directory(engine, combine_examples(["ex1", "ex2", "ex3", "ex4", "ex7"], tmp_path / "in"))
    cache = InputsCache()
    spec = ReportRequest.of(last_hours=30 * 24)
    answers = [store_availability(engine, sid, spec, cache) for sid in ("store-1", "store-2", "r1")]
    assert len(counted_reads) == 3  # one read per store
    assert answers[2] == store_availability(engine, "r1", spec)
    assert answers[0]["store_id"] == "store-1" and answers[1]["store_id"] == "store-2"
    build_report(engine, cache=cache)  # every store's 8 days: kept
    assert len(counted_reads) == 5
    assert store_availability(engine, "store-1", ReportRequest.of(last_hours=24), cache) == \
        store_availability(engine, "store-1", ReportRequest.of(last_hours=24))
    assert len(counted_reads) == 6  # the kept read served the first, the uncached one read


def test_one_store_availability_is_answered_again_from_memory_until_the_data_changes(
        runtime, tmp_path: Path, counted_reads) -> None:
    """The caller's same question on the same data version is answered from AnswerCache; another
    caller's is computed (and another owner's store is a 404 after the same work, SPEC 8); a load
    that changes data makes the next answer a fresh one, equal to an uncached read."""
    engine = runtime.engine
    load_directory(engine, combine_examples(["ex1", "ex2"], tmp_path / "a"))
    answers = AnswerCache()
    spec = ReportRequest.of(last_hours=30 * 24)
    owner = Principal(key_id="k1", role=OWNER, store_ids=frozenset({"store-1"}))
    first = store_availability(engine, "store-1", spec, None, owner, answers)
    assert store_availability(engine, "store-1", spec, None, owner, answers) is first
    assert len(counted_reads) == 1
    assert store_availability(engine, "store-1", ReportRequest.of(last_hours=24), None, owner, answers) != first
    assert len(counted_reads) == 2  # another range: its own answer
    other = Principal(key_id="k2", role=OWNER, store_ids=frozenset({"store-2"}))
    for _ in range(2):
        with pytest.raises(StoreNotFound):
            store_availability(engine, "store-1", spec, None, other, answers)
    assert len(counted_reads) == 4  # never from the first owner's answer, nor from a 404
    load_directory(engine, combine_examples(["ex1", "ex2", "ex7"], tmp_path / "b"))
    fresh = store_availability(engine, "store-1", spec, None, owner, answers)
    assert len(counted_reads) == 5 and fresh is not first
    assert fresh == store_availability(engine, "store-1", spec, None, owner)
    assert fresh["to"] != first["to"]  # ex7's polls end later: the range moved with the data


def test_a_hit_on_the_second_entry_moves_it_first_by_identity() -> None:
    """Two entries (the standard window and a longer range, or a background read put first
    meanwhile): serving the second reorders them by identity, never by comparing their DataFrames
    (which have no truth value: this was a 500 on GET /stores/<id>/availability)."""
    def entry(lo_us: int) -> report_inputs.ReportInputs:
        frame = pd.DataFrame({"store": [1, 2]})
        return report_inputs.ReportInputs(frame, frame, frame, frame, latest_us=100, lo_us=lo_us, hi_us=100,
                                          data_version=7)

    cache = InputsCache()
    wide, narrow = entry(0), entry(50)
    cache.put(wide)
    cache.put(narrow)  # first now
    assert cache.get(7, 60, 20) is wide  # [40, 60] is only in the wide one
    assert cache.get(7, 90, 20) is wide  # both cover [70, 90]: the one served last comes first
