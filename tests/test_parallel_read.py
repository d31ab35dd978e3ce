"""A report's polls over more than a day are read as two halves on two connections: the result is
the one-connection read, and a second snapshot that differs (a load or a prune committed in
between) is never mixed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_inputs
from models import report_inputs
from models.db import init_schema, make_engine, read_tx
from models.report_inputs import read_report_inputs
from services.ingest.loader import load_directory

DAY_US = 86_400 * 1_000_000
NEWEST = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _polls(days: int, stores: int = 5, shift_minutes: int = 0) -> str:
    lines = ["store_id,status,timestamp_utc"]
    t = NEWEST - timedelta(days=days)
    while t <= NEWEST:
        for i in range(stores):
            status = "inactive" if (t.hour * 7 + i) % 5 == 0 else "active"
            stamp = t + timedelta(minutes=i + shift_minutes, seconds=i)
            lines.append(f"s{i},{status},{stamp.strftime('%Y-%m-%d %H:%M:%S')} UTC")
        t += timedelta(hours=1)
    return "\n".join(lines) + "\n"


@pytest.fixture
def second_readers(monkeypatch) -> list[object]:
    """Every second reader started, with what it returned."""
    started: list[object] = []
    real = report_inputs._SecondReader

    class Recording(real):  # type: ignore[misc, valid-type]
        def result(self):
            parts = super().result()
            started.append(parts)
            return parts

    monkeypatch.setattr(report_inputs, "_SecondReader", Recording)
    return started


def _in_key_order(polls: pd.DataFrame) -> pd.DataFrame:
    """MySQL's GROUP_CONCAT has no order within a group: compare polls in key order."""
    return polls.sort_values(["ts_us", "store"]).reset_index(drop=True)


def _read(runtime, now_us: int, lookback_us: int):
    with read_tx(runtime.engine) as conn:
        return read_report_inputs(conn, now_us, lookback_us)


def test_two_halves_equal_one_read(runtime, tmp_path: Path, second_readers, monkeypatch) -> None:
    load_directory(runtime.engine, write_inputs(tmp_path / "in", polls=_polls(20)))
    now_us = int(NEWEST.timestamp() * 1_000_000)
    for lookback_days in (8, 19):  # one slice split in two; two slices, one each
        halves = _read(runtime, now_us, lookback_days * DAY_US)
        assert second_readers and second_readers[-1] is not None, "the second connection was not used"
        used = len(second_readers)
        monkeypatch.setattr(report_inputs, "PARALLEL_MIN_SPAN_US", 10**18)
        whole = _read(runtime, now_us, lookback_days * DAY_US)
        monkeypatch.undo()
        assert len(second_readers) == used  # the whole read really was on one connection
        assert len(halves.polls) > 100
        assert _in_key_order(halves.polls).equals(_in_key_order(whole.polls))
        assert halves.hours.equals(whole.hours)


def test_short_windows_stay_on_one_connection(runtime, tmp_path: Path, second_readers) -> None:
    load_directory(runtime.engine, write_inputs(tmp_path / "in", polls=_polls(3)))
    inputs = _read(runtime, int(NEWEST.timestamp() * 1_000_000), 3_600_000_000)
    assert len(inputs.polls) > 0
    assert second_readers == []


def test_a_load_committed_meanwhile_is_not_mixed_in(runtime, tmp_path: Path, second_readers) -> None:
    directory = write_inputs(tmp_path / "in", polls=_polls(10))
    load_directory(runtime.engine, directory)
    now_us = int(NEWEST.timestamp() * 1_000_000)
    before = _read(runtime, now_us, 8 * DAY_US)
    with read_tx(runtime.engine) as snapshot:
        snapshot.exec_driver_sql("SELECT COUNT(*) FROM polls").scalar()  # the snapshot starts here
        # More polls in both halves of the window, committed after the snapshot began.
        (directory / "store_status.csv").write_text(_polls(10) + _polls(10, shift_minutes=30).split("\n", 1)[1])
        assert load_directory(runtime.engine, directory).files[0].rows_new > 0
        during = read_report_inputs(snapshot, now_us, 8 * DAY_US)
    assert second_readers[-1] is None  # it saw another snapshot and stood down
    assert _in_key_order(during.polls).equals(_in_key_order(before.polls))
    after = _read(runtime, now_us, 8 * DAY_US)
    assert len(after.polls) == 2 * len(before.polls)


@pytest.mark.mysql
def test_texts_cut_short_by_mysql_are_read_again(mysql_url: str, tmp_path: Path, monkeypatch, caplog) -> None:
    """MySQL cuts a GROUP_CONCAT at group_concat_max_len (and gives NULL beyond max_allowed_packet)
    with only a warning: the count read beside each text tells, and the span is read in halves
    (business hours: row by row)."""
    engine = make_engine(mysql_url)
    init_schema(engine)
    hours = "store_id,day,start_time_local,end_time_local\n" + "".join(
        f"s{i},{day},0{i % 9}:00:00,1{i % 9}:30:00\n" for i in range(40) for day in range(7))
    load_directory(engine, write_inputs(tmp_path / "in", polls=_polls(3, stores=40), hours=hours))
    now_us = int(NEWEST.timestamp() * 1_000_000)
    with read_tx(engine) as conn:
        whole = read_report_inputs(conn, now_us, 2 * DAY_US)
    real_prepare, real_span = report_inputs._prepare_session, report_inputs._read_span
    spans: list[int] = []

    def small_texts(conn) -> None:
        real_prepare(conn)
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 300")

    def counting(*args, **kwargs):
        spans.append(1)
        return real_span(*args, **kwargs)

    monkeypatch.setattr(report_inputs, "_prepare_session", small_texts)
    monkeypatch.setattr(report_inputs, "_read_span", counting)
    monkeypatch.setattr(report_inputs, "PARALLEL_MIN_SPAN_US", 10**18)  # one connection, one session
    with read_tx(engine) as conn:
        cut = read_report_inputs(conn, now_us, 2 * DAY_US)
    engine.dispose()
    assert len(spans) > 4 * 12  # the twelve 4-hour spans of 2 days, each split several times
    assert "reading them row by row" in caplog.text
    assert len(whole.polls) == 40 * 49
    assert _in_key_order(cut.polls).equals(_in_key_order(whole.polls))
    assert cut.hours.equals(whole.hours) and len(whole.hours) == 40 * 7
