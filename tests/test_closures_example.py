"""SPEC 9's worked example end to end on SQLite and MySQL (data/spec_examples/ex9).

Store c1 (America/New_York) is open Mon-Fri 09:00-17:00 and closed by closures.csv on Tuesday
2023-01-24 from 12:00 to 14:00 local; it is down from 11:00 to 15:00 local (midpoints of its
polls). The closure splits the outage into two incidents, 11:00-12:00 and 14:00-15:00, and the
day has 6 business hours. Store c2 (24x7, UTC) is closed over the whole range: zeros, no incident,
and the last hour of its standard report is a window covered by a closure.
"""
from __future__ import annotations

import json
from pathlib import Path

from conftest import SPEC_EXAMPLES
from test_range_interfaces import assert_same_json, assert_same_rows, read_rows

EXAMPLE = SPEC_EXAMPLES / "ex9"
RANGE = (EXAMPLE / "range").read_text().split()


def test_the_closure_splits_the_outage_in_every_interface(app, client, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["load-data", "--dir", str(EXAMPLE)])
    assert loaded.exit_code == 0, loaded.output

    report = tmp_path / "report.csv"
    as_of = (EXAMPLE / "report_as_of").read_text().strip()
    result = runner.invoke(args=["report", "--as-of", as_of, "--out", str(report)])
    assert result.exit_code == 0, result.output
    assert_same_rows(read_rows(report.read_text()), read_rows((EXAMPLE / "expected_report.csv").read_text()),
                     exact=("store_id",))

    ranged = tmp_path / "range.csv"
    result = runner.invoke(args=["report", *RANGE, "--out", str(ranged)])
    assert result.exit_code == 0, result.output
    assert_same_rows(read_rows(ranged.read_text()), read_rows((EXAMPLE / "expected_range.csv").read_text()),
                     exact=("store_id", "incidents"))

    incidents = tmp_path / "incidents.csv"
    result = runner.invoke(args=["incidents", *RANGE, "--out", str(incidents)])
    assert result.exit_code == 0, result.output
    assert_same_rows(read_rows(incidents.read_text()), read_rows((EXAMPLE / "expected_incidents.csv").read_text()),
                     exact=("store_id", "start", "end"))

    query = {"from": RANGE[RANGE.index("--from") + 1], "to": RANGE[RANGE.index("--to") + 1]}
    for store in ("c1", "c2"):
        response = client.get(f"/stores/{store}/availability", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        expected = json.loads((EXAMPLE / f"expected_store_{store}.json").read_text())
        assert_same_json(response.get_json(), expected)


def test_the_same_closure_made_through_the_api_gives_the_same_answer(app, client, tmp_path: Path) -> None:
    """Without closures.csv, the closure posted in local time (and c2's as instants) instead."""
    folder = tmp_path / "without-closures-file"
    folder.mkdir()
    for name in ("store_status.csv", "menu_hours.csv", "timezones.csv"):
        (folder / name).write_bytes((EXAMPLE / name).read_bytes())
    assert app.test_cli_runner().invoke(args=["load-data", "--dir", str(folder)]).exit_code == 0
    query = {"from": RANGE[RANGE.index("--from") + 1], "to": RANGE[RANGE.index("--to") + 1]}
    before = client.get("/stores/c1/availability", query_string=query).get_json()
    assert before["business_hours"] == 8 and before["closed_hours"] == 0 and len(before["incidents"]) == 1
    made = client.post("/stores/c1/closures", json={"start": "2023-01-24T12:00", "end": "2023-01-24T14:00",
                                                    "reason": "staff meeting"})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert client.post("/stores/c2/closures", json={"start": "2023-01-24T00:00:00Z", "end": "2023-01-26T02:00:00+02:00",
                                                    "reason": "renovation"}).status_code == 201
    for store in ("c1", "c2"):
        expected = json.loads((EXAMPLE / f"expected_store_{store}.json").read_text())
        assert_same_json(client.get(f"/stores/{store}/availability", query_string=query).get_json(), expected)


def test_report_shards_see_the_closures(database_url: str, tmp_path: Path) -> None:
    """A report split into shards over two runners (as Celery workers run them: the same task
    function) equals the foreground report, closures included."""
    from models import report_jobs
    from models.db import init_schema, make_engine
    from services.contract.reports import ReportRequest
    from services.ingest.loader import load_directory
    from services.ingest.parsing import parse_instant
    from services.jobs.runner import ReportRunner
    from services.jobs.storage import DatabaseStore
    from services.reports.builder import build_report, report_csv_text
    from support.waiting import wait_until

    engines = make_engine(database_url), make_engine(database_url)
    init_schema(engines[0])
    runners = [ReportRunner(e, DatabaseStore(e), lease_seconds=2, shards=2, workers=2) for e in engines]
    try:
        load_directory(engines[0], EXAMPLE)
        as_of = parse_instant((EXAMPLE / "report_as_of").read_text().strip())
        expected = report_csv_text(build_report(engines[0], as_of).frame)
        assert_same_rows(read_rows(expected), read_rows((EXAMPLE / "expected_report.csv").read_text()),
                         exact=("store_id",))
        report = runners[0].submit(ReportRequest.of(as_of_us=as_of))
        wait_until(lambda: report_jobs.get(engines[1], report.id).status == "complete", 60, "the report to complete")
        assert report_jobs.get(engines[0], report.id).shards_total == 2
        assert runners[1].fetch(report_jobs.get(engines[1], report.id)).content.decode() == expected
    finally:
        for runner in runners:
            runner.shutdown()
        for engine in engines:
            engine.dispose()
