"""The polls layout of issue 22 (models/poll_layout.py): one store's range and the fleet's window
are both range scans, an earlier database is converted in place with its rows, MySQL keeps day
partitions (made ahead, dropped whole by retention) and the newest poll in a row."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from conftest import write_inputs
from models import poll_layout, report_inputs, retention, store_data, store_writes
from models.db import init_schema, make_engine, read_tx, write_tx
from models.report_inputs import read_report_inputs
from models.tables import HOURS_INDEX, POLLS_HOUR_INDEX
from services.ingest.loader import load_directory
from support.poll_files import grid_polls_csv

NEWEST = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)
DAY_US = poll_layout.DAY_US


def _polls(days: int, stores: int = 4) -> str:
    return grid_polls_csv(NEWEST, days=days, stores=stores, every_hours=3, offset_minutes=5, inactive_every=3)


def _all_polls(engine) -> list[tuple[int, int, int]]:
    with read_tx(engine) as conn:
        return sorted(tuple(int(v) for v in row) for row in conn.execute(
            text("SELECT store_key, ts_us, active FROM polls")).all())


@pytest.mark.mysql
def test_mysql_polls_are_keyed_by_store_in_day_partitions(mysql_url: str, tmp_path: Path) -> None:
    engine = make_engine(mysql_url)
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(5)))
    with read_tx(engine) as conn:
        key = [r[0] for r in conn.execute(text(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'polls' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX")).all()]
        bounds = poll_layout.partition_bounds(conn)
        newest = store_data.latest_poll_us(conn)
        oldest = store_data.earliest_poll_us(conn)
        assert conn.execute(text("SELECT MAX(ts_us) FROM polls")).scalar() == newest
        assert conn.execute(text("SELECT MIN(ts_us) FROM polls")).scalar() == oldest
        # One store's range: a range of the key in the range's partitions only.
        plan = conn.execute(text(
            "EXPLAIN PARTITIONS SELECT COUNT(*) FROM polls WHERE store_key = 2 AND ts_us >= :lo AND ts_us <= :hi"),
            {"lo": newest - DAY_US, "hi": newest}).mappings().one()
    assert key == ["store_key", "ts_us"]
    assert bounds is not None and all(b % DAY_US == 0 for b in bounds)
    days = {b // DAY_US for b in bounds}
    assert set(range(oldest // DAY_US, newest // DAY_US + 2)) <= days  # every day of polls has its partition
    assert plan["key"] == "PRIMARY" and plan["type"] == "range"
    assert len(plan["partitions"].split(",")) <= 2
    engine.dispose()


@pytest.mark.mysql
def test_mysql_database_of_the_last_release_is_converted_in_place(mysql_url: str, tmp_path: Path) -> None:
    engine = make_engine(mysql_url)
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(4)))
    before = _all_polls(engine)
    with engine.begin() as conn:  # the last release's layout: time-first key, one partition-less table
        conn.execute(text("ALTER TABLE polls REMOVE PARTITIONING"))
        conn.execute(text("ALTER TABLE polls DROP PRIMARY KEY, ADD PRIMARY KEY (ts_us, store_key)"))
        conn.execute(text("DELETE FROM poll_bounds"))
    with read_tx(engine) as conn:
        assert poll_layout.partition_bounds(conn) is None
    init_schema(engine)
    with read_tx(engine) as conn:
        assert poll_layout.partition_bounds(conn)
        assert store_data.latest_poll_us(conn) == max(ts for _, ts, _ in before)
    assert _all_polls(engine) == before
    init_schema(engine)  # idempotent
    assert _all_polls(engine) == before
    engine.dispose()


@pytest.mark.mysql
def test_mysql_partitions_are_made_ahead_and_retention_drops_whole_days(mysql_url: str, tmp_path: Path) -> None:
    engine = make_engine(mysql_url)
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(20)))
    today = int(datetime.now(timezone.utc).timestamp()) * 1_000_000 // DAY_US
    with read_tx(engine) as conn:
        days = {b // DAY_US for b in poll_layout.partition_bounds(conn) or []}
    assert set(range(today, today + poll_layout.AHEAD_DAYS + 1)) <= days
    before = _all_polls(engine)
    with read_tx(engine) as conn:
        cutoff = retention.retention_cutoff(conn, 7)
    pruned = retention.prune_polls(engine, 7)
    after = _all_polls(engine)
    assert after == [p for p in before if p[1] >= cutoff]  # exactly the polls before the cutoff are gone
    assert pruned == len(before) - len(after) > 0
    with read_tx(engine) as conn:
        bounds = poll_layout.partition_bounds(conn) or []
        firsts = dict(conn.execute(text("SELECT id, first_poll_us FROM stores")).all())
    assert min(bounds) > cutoff - DAY_US  # the old days went as partitions
    for key, first in firsts.items():
        assert first == min(ts for k, ts, _ in after if k == key)
    engine.dispose()


def test_the_newest_poll_follows_an_undone_line(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(2)))
    with write_tx(engine) as conn:
        newest = store_data.latest_poll_us(conn)
        key, ts = conn.execute(text("SELECT store_key, ts_us FROM polls WHERE ts_us = :t"), {"t": newest}).one()
        store_writes.delete_poll(conn, int(key), int(ts))
        assert store_data.latest_poll_us(conn) == conn.execute(text("SELECT MAX(ts_us) FROM polls")).scalar() < newest
    engine.dispose()


def test_sqlite_reads_given_stores_through_the_hour_index(tmp_path: Path) -> None:
    """SQLite: a database without the hour index (an earlier version's) gets it in place, a
    per-store index of an earlier build is dropped, the read of some stores seeks the index
    (never the time key's window) and gives exactly their polls of the fleet's read, for windows
    that start and end inside an hour."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(3)))
    with write_tx(engine) as conn:
        conn.exec_driver_sql(f"DROP INDEX {POLLS_HOUR_INDEX}")
        conn.exec_driver_sql(f"DROP INDEX {HOURS_INDEX}")
        conn.exec_driver_sql(f"CREATE INDEX {poll_layout.STORE_INDEX} ON polls (store_key, ts_us, active)")
    init_schema(engine)
    with read_tx(engine) as conn:
        names = [row[1] for row in conn.exec_driver_sql("PRAGMA index_list(polls)").all()]
        newest = store_data.latest_poll_us(conn)
        source, condition = poll_layout.store_read(conn, newest - DAY_US, newest)
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM {source} WHERE ts_us >= ? AND ts_us <= ?{condition} "
            "AND store_key = ?", (newest - DAY_US, newest, 2)).all())
        reads = []
        for end, lookback in ((newest, 2 * DAY_US), (newest - 5_400_000_000, DAY_US + 1_800_000_000)):
            reads.append((read_report_inputs(conn, end, lookback), read_report_inputs(conn, end, lookback, ["s1", "s3"])))
    assert POLLS_HOUR_INDEX in names and poll_layout.STORE_INDEX not in names
    with read_tx(engine) as conn:
        assert HOURS_INDEX in {row[1] for row in conn.exec_driver_sql("PRAGMA index_list(business_hours)").all()}
    assert f"COVERING INDEX {POLLS_HOUR_INDEX} (<expr>=? AND store_key=?" in plan
    key = ["store", "ts_us"]
    for whole, some in reads:
        mine = whole.polls[np.isin(whole.polls["store"], some.stores["store"])]
        assert len(some.polls) and set(some.polls["store"]) == set(some.stores["store"])
        assert mine.sort_values(key).reset_index(drop=True).equals(some.polls.sort_values(key).reset_index(drop=True))
    engine.dispose()


def test_a_shards_stores_are_read_as_a_key_range(database_url: str, tmp_path: Path) -> None:
    """A shard's ids in key order (as the job runner plans them) are read as their key range,
    other stores in it dropped; an id outside it, unknown, or differing only in case or trailing
    space (a MySQL collation would match those) is looked up by name, exactly."""
    engine = make_engine(database_url)
    init_schema(engine)
    polls = grid_polls_csv(NEWEST, days=1, stores=200, every_hours=12, offset_minutes=1, inactive_every=3)
    folder = write_inputs(tmp_path / "in", polls=polls)
    (folder / "closures.csv").write_text("store_id,start_local,end_local,reason\n" + "".join(
        f"s{i},2024-03-09 0{i % 10}:00,2024-03-09 1{i % 10}:30,r{i}\n" for i in range(0, 200, 7)))
    load_directory(engine, folder)
    with read_tx(engine) as conn:
        in_order = store_data.store_keys(conn).sort_values(kind="stable")
        ids = list(in_order.index)
        shard = [*ids[10:150:2], *ids[150:160]]  # 80 ids over 150 keys: dense enough for a range
        cases = {
            "range": shard,
            "range and stray ids": [*shard, ids[3], "S5", "s6 ", "nope"],
            "too sparse for a range": ids[::3][:64],
        }
        found = {name: report_inputs._stores_named(conn, wanted) for name, wanted in cases.items()}
        lo = store_data.latest_poll_us(conn) - 2 * DAY_US
        shard_keys = sorted(int(k) for k in found["range"]["store"])
        closures = {"shard": report_inputs.report_closures(conn, lo, shard_keys),
                    "all": report_inputs.report_closures(conn, lo, None)}
        rows = {row[1]: (int(row[0]), int(row[2])) for row in conn.execute(
            text("SELECT id, store_id, first_poll_us FROM stores")).all()}
    for name, wanted in cases.items():
        frame = found[name]
        got = {sid: (int(k), int(f)) for k, sid, f in frame.itertuples(index=False, name=None)}
        assert got == {sid: rows[sid] for sid in wanted if sid in rows}, name
        assert len(frame) == len(got), name
    # The shard's closures (read as a key range, others dropped) are exactly its stores' of all.
    everyone = closures["all"]
    mine = everyone[everyone["store"].isin(shard_keys)].reset_index(drop=True)
    assert len(mine) >= 5 and len(mine) < len(everyone)
    assert closures["shard"].equals(mine)
    engine.dispose()


def test_sqlite_fleet_read_in_short_spans_misses_no_poll(tmp_path: Path, monkeypatch) -> None:
    """A big fleet's window is read in spans of fewer hours (shorter holds of the interpreter
    lock): spans down to the 10-minute floor, polls on their edges included once."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_schema(engine)
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(2, stores=30)))
    monkeypatch.setattr(report_inputs, "_FLEET_POLLS_PER_QUERY", 1)  # → the floor
    with read_tx(engine) as conn:
        newest = store_data.latest_poll_us(conn)
        lo = newest - DAY_US - 600_000_000  # the window starts on a poll's minute (offset 5 min × i)
        polls = report_inputs.read_polls(conn, lo, newest, parallel=False)
        rows = conn.execute(text("SELECT store_key, ts_us, active FROM polls WHERE ts_us >= :lo"),
                            {"lo": lo}).all()
    got = sorted(zip(polls["store"].tolist(), polls["ts_us"].tolist(), polls["active"].astype(int).tolist()))
    assert got == sorted((int(a), int(b), int(c)) for a, b, c in rows) and len(got) > 200
    engine.dispose()
