"""What the live evaluator keeps in memory instead of reading back (SPEC 10, issue 19's ingest
rate): the batches this process committed (services/live/batch_log.py) and its copy of
live_store_state (services/live/state_copy.py). Both must give exactly what the database holds,
whatever other processes write in between; real SQLite and MySQL, real writer path."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from models import live_queries, store_data
from models.db import init_schema, make_engine, read_tx
from services.ingestion.writer import commit_polls
from services.live import batch_log
from services.live.batch_log import BatchLog
from services.live.evaluator import LiveEvaluator
from tests.support.live_writes import us

MIN_US = 60 * 1_000_000
T0 = us("2024-05-01T11:00:00")


@pytest.fixture
def engines(database_url: str) -> tuple[Engine, Engine]:
    """Two engines on one database: two processes."""
    first = make_engine(database_url)
    init_schema(first)
    second = make_engine(database_url)
    yield first, second
    batch_log.disable(first)
    batch_log.disable(second)
    first.dispose()
    second.dispose()


def send(engine: Engine, polls: list[tuple[str, int, bool]]) -> None:
    ids, ts, active = zip(*polls)
    commit_polls(engine, np.array(ids, dtype=object), np.array(ts, dtype=np.int64), np.array(active, dtype=bool),
                 datetime(2024, 5, 1, 12, tzinfo=timezone.utc))


def table_states(engine: Engine) -> pd.DataFrame:
    with read_tx(engine) as conn:
        return live_queries.read_states(conn, None).sort_values("store", ignore_index=True)


def test_batches_handed_over_equal_the_arrivals_the_database_holds(engines: tuple[Engine, Engine]) -> None:
    mine, other = engines
    evaluator = LiveEvaluator(mine, 120, clock=lambda: T0 + 60 * MIN_US)
    batch_log.enable(mine)
    send(mine, [("a", T0, True), ("b", T0, True), ("a", T0 + MIN_US, False)])
    send(other, [("c", T0, False), ("a", T0 + 2 * MIN_US, True)])  # another process: not held here
    send(mine, [("b", T0, False), ("b", T0 + MIN_US, True), ("a", T0, True)])  # inactive wins; a duplicate
    send(mine, [("a", T0 + MIN_US, True)])  # only a duplicate: no batch at all
    send(mine, [("c", T0 + MIN_US, True), ("d", T0 + 3 * MIN_US, False)])
    held = batch_log.of(mine)
    assert held is not None
    with read_tx(mine) as conn:
        upto = store_data.live_version(conn)
        stored = live_queries.read_arrivals(conn, 0, upto)
        assert upto == 4 and len(held.take(0, upto)) == 3  # batch 2 came from the other engine
        handed = evaluator._arrivals(conn, 0, upto)
    assert handed[stored.columns].reset_index(drop=True).equals(stored)
    with read_tx(mine) as conn:
        assert evaluator._arrivals(conn, 2, upto)[stored.columns].reset_index(drop=True).equals(
            stored[stored["seq"] > 2].reset_index(drop=True))


def test_a_cursor_that_goes_back_drops_what_was_held() -> None:
    log = BatchLog(max_batches=3)
    one = np.array([1], dtype=np.int64)
    for seq in (1, 2, 3, 4):
        log.record(seq, one, one * seq, np.array([True]), 0)
    assert sorted(log.take(0, 4)) == [2, 3, 4]  # bounded: the oldest went first
    assert sorted(log.take(2, 4)) == [3, 4]
    assert log.take(0, 4) == {}  # batch numbers started again (an emptied database): nothing kept


def test_the_state_copy_stays_exact_when_passes_alternate_between_processes(
        engines: tuple[Engine, Engine]) -> None:
    clock = {"now": T0}
    first, second = (LiveEvaluator(e, 120, clock=lambda: clock["now"]) for e in engines)
    batch_log.enable(engines[0])
    schedule = [first, first, second, first, second, second, first, first]
    for step, evaluator in enumerate(schedule):
        minute = T0 + step * MIN_US
        clock["now"] = minute + 30_000_000
        writer = engines[step % 2]
        send(writer, [(f"s{n}", minute, (n + step) % 3 != 0) for n in range(6)] + [(f"new{step}", minute, False)])
        evaluator.run_once()
        rows = table_states(engines[0])
        assert len(rows) == 7 + step
        copy = evaluator._copy._rows
        if copy is not None:  # what the evaluator would use next time, if its pass id is still there
            mine = copy.reset_index().sort_values("store", ignore_index=True)[rows.columns]
            assert mine.equals(rows.astype(mine.dtypes.to_dict())), step
    # Each store's status: its latest poll decides (no hours: always open); s1 polled inactive at
    # the last step ((1 + 7) % 3 != 0 → active), s2 ((2 + 7) % 3 == 0 → down).
    first.run_once()
    rows = table_states(engines[0]).set_index("store")
    with read_tx(engines[0]) as conn:
        keys = store_data.store_keys(conn)
    assert rows.loc[int(keys["s1"]), "status"] == 1
    assert rows.loc[int(keys["s2"]), "status"] == 2
