"""SPEC 2.6's worked examples end to end: `flask load-data` then `flask report --as-of`,
on SQLite and MySQL, compared with each example's expected.csv (tolerance 0.01)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import SPEC_EXAMPLES
from spec_examples import example_folders

EXAMPLES = example_folders()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_examples_are_present() -> None:
    assert len(EXAMPLES) >= 6, f"expected the worked examples in {SPEC_EXAMPLES}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_worked_example_through_the_cli(app, example: Path, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["load-data", "--dir", str(example)])
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "report.csv"
    as_of = (example / "as_of").read_text().strip()
    result = runner.invoke(args=["report", "--as-of", as_of, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        header = handle.readline().strip()
    assert header == ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
                      "downtime_last_hour,downtime_last_day,downtime_last_week")
    got = {row["store_id"]: row for row in read_csv(out)}
    expected = {row["store_id"]: row for row in read_csv(example / "expected.csv")}
    assert set(got) == set(expected)
    for store_id, row in expected.items():
        for column, value in row.items():
            if column != "store_id":
                assert float(got[store_id][column]) == pytest.approx(float(value), abs=0.01), (store_id, column)


def test_report_command_rejects_a_bad_as_of(app, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["report", "--as-of", "next tuesday", "--out", str(tmp_path / "r.csv")])
    assert result.exit_code != 0
    assert "--as-of" in result.output and "ISO-8601" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_report_command_without_data_fails_clearly(app, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["report", "--out", str(tmp_path / "r.csv")])
    assert result.exit_code == 1
    assert "no polls have been loaded" in result.output


def test_load_data_exits_non_zero_when_nothing_loads(app, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = app.test_cli_runner().invoke(args=["load-data", "--dir", str(empty)])
    assert result.exit_code != 0
    assert "nothing could be loaded" in result.output


def test_load_data_prints_rejections_and_exits_zero(app, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "store_status.csv").write_text(
        "store_id,status,timestamp_utc\na,active,2023-01-22 10:00:00 UTC\nb,sleepy,2023-01-22 10:00:00 UTC\n"
    )
    result = app.test_cli_runner().invoke(args=["load-data", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert "1 rows loaded" in result.output
    assert "store_status.csv line 3: unknown status 'sleepy'" in result.output


def test_report_for_selected_stores(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    for example in EXAMPLES[:3]:
        assert runner.invoke(args=["load-data", "--dir", str(example)]).exit_code == 0
    out = tmp_path / "r.csv"
    result = runner.invoke(args=["report", "--as-of", "2023-01-23T12:00:00Z", "--store-id", "store-2",
                                 "--store-id", "store-1", "--store-id", "no-such-store", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [row["store_id"] for row in read_csv(out)] == ["store-1", "store-2"]


def test_a_command_leaves_no_write_ahead_log_and_no_frozen_objects(tmp_path: Path) -> None:
    """A CLI command freezes the libraries' objects for the collector while it runs and closes the
    database when it ends: SQLite's write-ahead log is folded back, the objects thawed."""
    import gc

    from app import create_app
    from config import Config
    from runtime import runtime_of

    database = tmp_path / "cli.sqlite"
    app = create_app(Config(database_url=f"sqlite:///{database}", csv_dir=tmp_path, report_dir=tmp_path / "r",
                            reload_interval_seconds=0))
    try:
        loaded = app.test_cli_runner().invoke(args=["load-data", "--dir", str(EXAMPLES[0])])
        assert loaded.exit_code == 0, loaded.output
        assert gc.get_freeze_count() == 0
        assert database.exists() and not Path(f"{database}-wal").exists()
    finally:
        runtime_of(app).close()
