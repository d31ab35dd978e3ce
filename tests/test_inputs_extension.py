"""The report-inputs cache follows live polls (SPEC 10, issue 19): a cached full read is extended
with the live batches committed since (poll_arrivals by batch number) instead of being read
again, and the extended inputs give exactly the report of a cold read. A load, or arrivals
pruned before the cache could take them, mean a full read; a report keeps its snapshot."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_inputs
from models import report_inputs
from models.db import init_schema, make_engine, write_tx
from models.live_polls import write_live_polls
from services.ingest.loader import load_directory
from services.reports.builder import report_frame
from services.reports.inputs import InputsCache, read_inputs
from services.reports.ranges import compute_range_data
from services.contract.reports import ReportRequest
from support.poll_files import grid_polls_csv

NEWEST = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
HOUR_US = 3_600_000_000


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _polls_csv(stores: int = 6, days: int = 3) -> str:
    return grid_polls_csv(NEWEST, days=days, stores=stores, every_hours=1, offset_minutes=7, inactive_every=4)


HOURS = "store_id,day,start_time_local,end_time_local\n" + "".join(
    f"s{i},{day},0{i}:00:00,2{i % 4}:00:00\n" for i in range(0, 6, 2) for day in range(7))
ZONES = "store_id,timezone_str\ns0,America/New_York\ns1,Asia/Kolkata\ns3,Europe/Berlin\n"


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    url = (f"sqlite:///{tmp_path / 'db.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("mysql_url"))
    engine = make_engine(url)
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls_csv(), hours=HOURS, zones=ZONES))
    yield engine
    engine.dispose()


@pytest.fixture
def cold_reads(monkeypatch) -> list[int]:
    """One entry per full read of the database (read_report_inputs)."""
    calls: list[int] = []
    real = report_inputs.read_report_inputs

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(report_inputs, "read_report_inputs", counting)
    return calls


def _live(engine, polls: list[tuple[str, datetime, bool]]) -> None:
    """One live batch, written as the live ingestion writes it."""
    with write_tx(engine) as conn:
        write_live_polls(conn, np.array([p[0] for p in polls], dtype=object),
                         np.array([_us(p[1]) for p in polls], dtype=np.int64),
                         np.array([p[2] for p in polls], dtype=bool), received_us=_us(NEWEST))


def _report(inputs) -> pd.DataFrame:
    return report_frame(inputs, int(inputs.latest_us), None)


def _range(engine, cache: InputsCache | None) -> pd.DataFrame:
    data = compute_range_data(engine, ReportRequest(last_hours=48), cache, with_days=True)
    return data.result.totals.assign(store_id=data.store_ids.to_numpy()).sort_values("store_id").reset_index(drop=True)


def test_a_cached_read_extended_by_live_polls_equals_a_cold_read(engine, cold_reads: list[int]) -> None:
    cache = InputsCache()
    first = read_inputs(engine, None, None, cache)
    assert len(cold_reads) == 1
    first_polls = first.polls.copy()
    _live(engine, [("s1", NEWEST + timedelta(minutes=50), False), ("s2", NEWEST + timedelta(minutes=52), True)])
    _live(engine, [  # a stored active poll turned inactive, a new store, a late poll, one from long ago
        ("s3", NEWEST - timedelta(hours=5) + timedelta(minutes=21), False),
        ("new-store", NEWEST + timedelta(minutes=58), False),
        ("s4", NEWEST - timedelta(hours=30, minutes=3), False),
        ("old-store", NEWEST - timedelta(days=40), True),
    ])
    extended = read_inputs(engine, None, None, cache)
    assert len(cold_reads) == 1, "the cached read was extended, not read again"
    assert extended.latest_us == _us(NEWEST + timedelta(minutes=58))
    cold = read_inputs(engine, None, None, None)
    pd.testing.assert_frame_equal(_report(extended), _report(cold))
    assert {"new-store", "old-store"} <= set(_report(extended)["store_id"])
    # The report that read `first` keeps its snapshot.
    pd.testing.assert_frame_equal(first.polls, first_polls)
    assert "new-store" not in set(_report(first)["store_id"])
    # Ranges (availability, range reports) served from the extended entry agree too.
    pd.testing.assert_frame_equal(_range(engine, cache), _range(engine, None))
    # Again: the extended entry is extended in its turn.
    _live(engine, [("s5", NEWEST + timedelta(minutes=70), False)])
    again = read_inputs(engine, None, None, cache)
    assert len(cold_reads) == 3  # the two cold reads above (`cold` and the uncached range), none here
    pd.testing.assert_frame_equal(_report(again), _report(read_inputs(engine, None, None, None)))


def test_pruned_arrivals_or_a_load_mean_a_full_read(engine, cold_reads: list[int], tmp_path: Path) -> None:
    cache = InputsCache()
    read_inputs(engine, None, None, cache)
    _live(engine, [("s1", NEWEST + timedelta(minutes=50), False)])
    _live(engine, [("s2", NEWEST + timedelta(minutes=52), False)])
    with write_tx(engine) as conn:  # the alert evaluator prunes old arrivals
        conn.exec_driver_sql("DELETE FROM poll_arrivals WHERE seq <= 1")
    pruned = read_inputs(engine, None, None, cache)
    assert len(cold_reads) == 2
    pd.testing.assert_frame_equal(_report(pruned), _report(read_inputs(engine, None, None, None)))
    later = _polls_csv().replace("2024-03-01 12:", "2024-03-01 13:")
    load_directory(engine, write_inputs(tmp_path / "more", polls=later))
    _live(engine, [("s2", NEWEST + timedelta(hours=2), True)])
    after_load = read_inputs(engine, None, None, cache)
    assert len(cold_reads) == 4  # the load changed the data version beyond live batches
    pd.testing.assert_frame_equal(_report(after_load), _report(read_inputs(engine, None, None, None)))
