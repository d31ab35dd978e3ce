"""POLL_RETENTION_DAYS: a load prunes polls older than the retention period, in batches, keeping
stores.first_poll_us true; a report reading its snapshot meanwhile is unaffected; 0 keeps all."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from conftest import write_inputs
from models import retention
from models.db import read_tx
from models.report_inputs import read_report_inputs
from services.ingest.loader import load_directory
from services.ingest.parsing import parse_instant as us

DAY_US = 86_400 * 1_000_000
NEWEST = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _polls(days: int, stores: tuple[str, ...] = ("a", "b"), every_hours: int = 6) -> str:
    """Polls of each store every `every_hours` over the `days` days up to NEWEST."""
    lines = ["store_id,status,timestamp_utc"]
    t = NEWEST - timedelta(days=days)
    while t <= NEWEST:
        for i, store in enumerate(stores):
            status = "inactive" if (t.hour + i) % 12 == 0 else "active"
            lines.append(f"{store},{status},{(t + timedelta(minutes=i)).strftime('%Y-%m-%d %H:%M:%S')} UTC")
        t += timedelta(hours=every_hours)
    return "\n".join(lines) + "\n"


def _stored(runtime) -> tuple[int, int, dict[str, int | None]]:
    with runtime.engine.connect() as conn:
        count = int(conn.execute(text("SELECT COUNT(*) FROM polls")).scalar())
        oldest = conn.execute(text("SELECT MIN(ts_us) FROM polls")).scalar()
        firsts = dict(conn.execute(text("SELECT store_id, first_poll_us FROM stores")).all())
    return count, int(oldest), {k: (None if v is None else int(v)) for k, v in firsts.items()}


def _true_firsts(runtime) -> dict[str, int]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, MIN(p.ts_us) FROM polls p JOIN stores s ON s.id = p.store_key GROUP BY s.store_id"
        )).all()
    return {r[0]: int(r[1]) for r in rows}


def test_a_load_prunes_polls_older_than_the_retention(runtime, tmp_path: Path) -> None:
    # Store "old" polled only long ago: once pruned it has no polls and no first poll left.
    text_ = _polls(30) + "old,active,2024-01-02 00:00:00 UTC\n"
    directory = write_inputs(tmp_path / "in", polls=text_)
    everything = load_directory(runtime.engine, directory)
    assert everything.pruned == 0
    total, _, _ = _stored(runtime)

    (directory / "store_status.csv").write_text(text_ + "a,active,2024-03-01 13:00:00 UTC\n")
    result = load_directory(runtime.engine, directory, retention_days=10)

    cutoff = us("2024-03-01 13:00:00") - 10 * DAY_US
    count, oldest, firsts = _stored(runtime)
    assert result.pruned > 0 and count == total + 1 - result.pruned
    assert oldest >= cutoff and oldest - cutoff < 6 * 3600 * 1_000_000
    assert firsts["old"] is None
    assert {k: v for k, v in firsts.items() if v is not None} == _true_firsts(runtime)


def test_pruning_goes_in_small_batches_and_keeps_first_polls_true_after_each(runtime, tmp_path: Path) -> None:
    directory = write_inputs(tmp_path / "in", polls=_polls(40, stores=("a", "b", "c"), every_hours=1))
    load_directory(runtime.engine, directory)
    with runtime.engine.connect() as conn:
        cutoff = retention.retention_cutoff(conn, 5)
        expected = int(conn.execute(text("SELECT COUNT(*) FROM polls WHERE ts_us < :c"), {"c": cutoff}).scalar())
    batches = 0
    while True:
        with runtime.engine.begin() as conn:
            deleted = retention.prune_batch(conn, cutoff, batch_rows=100)
        if deleted == 0:
            break
        batches += 1
        assert deleted <= 103  # a batch ends at an instant: at most one instant's polls beyond it
        count, oldest, firsts = _stored(runtime)
        assert firsts == _true_firsts(runtime)
    assert batches >= expected // 103
    assert _stored(runtime)[1] >= cutoff


def test_a_report_in_flight_is_unaffected_by_pruning(runtime, tmp_path: Path) -> None:
    directory = write_inputs(tmp_path / "in", polls=_polls(40, every_hours=1))
    load_directory(runtime.engine, directory)
    now_us = us("2024-03-01 12:00:00")
    with read_tx(runtime.engine) as snapshot:
        before = int(snapshot.execute(text("SELECT COUNT(*) FROM polls")).scalar())
        inputs_before = read_report_inputs(snapshot, now_us, 40 * DAY_US)
        pruned = retention.prune_polls(runtime.engine, 5, batch_rows=200)
        assert pruned > 0
        # Still inside the report's transaction: the same snapshot, every poll still there.
        assert int(snapshot.execute(text("SELECT COUNT(*) FROM polls")).scalar()) == before
        inputs_after = read_report_inputs(snapshot, now_us, 40 * DAY_US)
    assert inputs_after.polls.equals(inputs_before.polls)
    assert _stored(runtime)[0] == before - pruned


def test_zero_keeps_everything(runtime, tmp_path: Path) -> None:
    directory = write_inputs(tmp_path / "in", polls=_polls(500, every_hours=24))
    result = load_directory(runtime.engine, directory, retention_days=0)
    assert result.pruned == 0
    count, oldest, _ = _stored(runtime)
    assert count == result.files[0].rows_loaded
    assert oldest == us((NEWEST - timedelta(days=500)).strftime("%Y-%m-%d %H:%M:%S"))


def test_load_data_uses_the_setting_and_says_how_many_were_pruned(app, runtime, tmp_path: Path) -> None:
    directory = write_inputs(tmp_path / "in", polls=_polls(500, every_hours=24))
    assert runtime.config.poll_retention_days == 400  # the default
    out = CliRunner().invoke(app.cli, ["load-data", "--dir", str(directory)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    count, oldest, _ = _stored(runtime)
    # The newest poll is b's at 12:01, so a's polls of 400 days before (12:00) are just too old.
    newest = us("2024-03-01 12:01:00")
    assert count == 400 + 401
    assert f"pruned {2 * 501 - count} polls" in out.output
    assert oldest == newest - 400 * DAY_US
