"""SPEC 5.2 end to end on SQLite and MySQL: the range examples ex7 and ex8 through
`flask report --from/--to`, `flask incidents`, `/trigger_report` + `/get_report` and
`GET /stores/<id>/availability`; invalid ranges refused; a range of the last week equals the
standard report's week; ranges far longer than a packed slice read exactly."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import SPEC_EXAMPLES, combine_examples
from services.ingest.loader import load_directory
from test_api import wait_for

RANGE_HEADER = "store_id,business_hours,uptime_hours,downtime_hours,uptime_percent,incidents"
RANGE_EXAMPLES = ["ex7", "ex8"]


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def range_args(example: str) -> list[str]:
    return (SPEC_EXAMPLES / example / "range").read_text().split()


def range_query(example: str) -> dict[str, str]:
    args = range_args(example)
    return {"from": args[args.index("--from") + 1], "to": args[args.index("--to") + 1]}


def assert_same_rows(got: list[dict[str, str]], expected: list[dict[str, str]], exact: tuple[str, ...]) -> None:
    assert [r["store_id"] for r in got] == [r["store_id"] for r in expected]
    for mine, want in zip(got, expected):
        for column, value in want.items():
            if column in exact:
                assert mine[column] == value, (column, mine, want)
            elif value == "":
                assert mine[column] == "", (column, mine)
            else:
                assert float(mine[column]) == pytest.approx(float(value), abs=0.01), (column, mine, want)


def assert_same_json(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=0.01), key
        elif isinstance(value, list):
            assert len(got[key]) == len(value), key
            for mine, want in zip(got[key], value):
                assert_same_json(mine, want)
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("example", RANGE_EXAMPLES)
def test_range_example_through_the_cli(app, example: str, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-data", "--dir", str(SPEC_EXAMPLES / example)]).exit_code == 0
    report, incidents = tmp_path / "range.csv", tmp_path / "incidents.csv"
    result = runner.invoke(args=["report", *range_args(example), "--out", str(report)])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert text.splitlines()[0] == RANGE_HEADER
    expected = (SPEC_EXAMPLES / example / "expected_range.csv").read_text()
    assert_same_rows(read_rows(text), read_rows(expected), exact=("store_id", "incidents"))
    result = runner.invoke(args=["incidents", *range_args(example), "--out", str(incidents)])
    assert result.exit_code == 0, result.output
    assert incidents.read_text().splitlines()[0] == "store_id,start,end,minutes"
    expected = (SPEC_EXAMPLES / example / "expected_incidents.csv").read_text()
    assert_same_rows(read_rows(incidents.read_text()), read_rows(expected), exact=("store_id", "start", "end"))
    result = runner.invoke(args=["incidents", *range_args(example), "--out", "-"])
    assert result.exit_code == 0 and result.stdout.startswith("store_id,start,end,minutes\n"), result.output


@pytest.mark.parametrize("example", RANGE_EXAMPLES)
def test_range_example_through_the_api(client, runtime, example: str) -> None:
    load_directory(runtime.engine, SPEC_EXAMPLES / example)
    answer = client.post("/trigger_report", json=range_query(example))
    assert answer.status_code == 202, answer.get_json()
    done = wait_for(client, answer.get_json()["report_id"])
    assert done.mimetype == "text/csv", done.get_data(as_text=True)
    text = done.get_data(as_text=True)
    assert text.splitlines()[0] == RANGE_HEADER
    expected = (SPEC_EXAMPLES / example / "expected_range.csv").read_text()
    assert_same_rows(read_rows(text), read_rows(expected), exact=("store_id", "incidents"))
    for path in sorted((SPEC_EXAMPLES / example).glob("expected_store_*.json")):
        store_id = path.stem.removeprefix("expected_store_")
        response = client.get(f"/stores/{store_id}/availability", query_string=range_query(example))
        assert response.status_code == 200, response.get_json()
        assert_same_json(response.get_json(), json.loads(path.read_text()))


def test_availability_defaults_warnings_and_404(client, runtime) -> None:
    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    week = client.get("/stores/r1/availability").get_json()
    assert week["to"] == "2023-01-24T17:00:00Z" and week["from"] == "2023-01-17T17:00:00Z"
    hours = client.get("/stores/r2/availability?last_hours=24").get_json()
    assert hours["from"] == "2023-01-23T17:00:00Z" and hours["business_hours"] == 24.0
    assert hours["uptime_percent"] == 0.0
    missing = client.get("/stores/nobody/availability")
    assert missing.status_code == 404 and "nobody" in missing.get_json()["error"]
    early = client.get("/stores/r2/availability?from=2023-01-20T00:00:00Z&to=2023-01-24T00:00:00Z")
    assert early.status_code == 404  # r2's only poll is after `to`
    # A closed night: no business time, so no percentage; one local date (Jan 24, 18:00-24:00 CST).
    empty = client.get("/stores/r1/availability?from=2023-01-25T00:00:00Z&to=2023-01-25T06:00:00Z").get_json()
    assert empty["uptime_percent"] is None and empty["incidents"] == [] and empty["business_hours"] == 0
    assert [d["date"] for d in empty["days"]] == ["2023-01-24"]


@pytest.mark.parametrize("query, message", [
    ({"from": "2023-01-25T00:00:00Z", "to": "2023-01-24T00:00:00Z"}, "empty"),
    ({"from": "2022-01-01T00:00:00Z", "to": "2023-01-24T00:00:00Z"}, "366 days"),
    ({"last_hours": "0"}, "last_hours"),
    ({"last_hours": "9000"}, "last_hours"),
    ({"last_hours": "soon"}, "last_hours"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2023-01-20T00:00:00Z", "last_hours": "5"}, "either"),
    ({"from": "2023-01-20T00:00:00Z", "as_of": "2023-01-24T00:00:00Z"}, "as_of"),
    ({"last_hours": "5", "as_of": "2023-01-24T00:00:00Z"}, "as_of"),
])
def test_invalid_ranges_are_400(client, runtime, query: dict[str, str], message: str) -> None:
    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    answer = client.post("/trigger_report", data=query)
    assert answer.status_code == 400 and message in answer.get_json()["error"], answer.get_json()
    if "as_of" not in query:
        answer = client.get("/stores/r1/availability", query_string=query)
        assert answer.status_code == 400 and message in answer.get_json()["error"], answer.get_json()


@pytest.mark.parametrize("args, message", [
    (["--from", "2023-01-25T00:00:00Z", "--to", "2023-01-24T00:00:00Z"], "empty"),
    (["--from", "2021-01-25T00:00:00Z"], "366 days"),
    (["--last-hours", "-3"], "last_hours"),
    (["--from", "2023-01-24T00:00:00Z", "--as-of", "2023-01-24T10:00:00Z"], "as_of"),
])
def test_invalid_ranges_exit_non_zero(app, args: list[str], message: str, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-data", "--dir", str(SPEC_EXAMPLES / "ex7")]).exit_code == 0
    for command in (["report"], ["incidents"]):
        if command == ["incidents"] and "--as-of" in args:
            continue
        result = runner.invoke(args=[*command, *args, "--out", str(tmp_path / "x.csv")])
        assert result.exit_code != 0 and message in result.output, result.output
        assert not (tmp_path / "x.csv").exists()


def test_cli_says_which_stores_have_no_polls(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-data", "--dir", str(SPEC_EXAMPLES / "ex7")]).exit_code == 0
    out = tmp_path / "r.csv"
    result = runner.invoke(args=["report", "--last-hours", "10", "--store-id", "r1", "--store-id", "ghost",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no polls" in result.output and "ghost" in result.output
    assert [r["store_id"] for r in read_rows(out.read_text())] == ["r1"]


def test_range_of_the_last_week_equals_the_report_week(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    folder = combine_examples(["ex1", "ex2", "ex3", "ex4", "ex6", "ex7"], tmp_path / "all")
    assert runner.invoke(args=["load-data", "--dir", str(folder)]).exit_code == 0
    standard, ranged = tmp_path / "standard.csv", tmp_path / "range.csv"
    as_of = "2023-01-24T17:00:00Z"
    assert runner.invoke(args=["report", "--as-of", as_of, "--out", str(standard)]).exit_code == 0
    result = runner.invoke(args=["report", "--from", "2023-01-17T17:00:00Z", "--to", as_of, "--out", str(ranged)])
    assert result.exit_code == 0, result.output
    week = {r["store_id"]: r for r in read_rows(standard.read_text())}
    rows = read_rows(ranged.read_text())
    assert [r["store_id"] for r in rows] == sorted(week)
    for row in rows:
        assert float(row["uptime_hours"]) == float(week[row["store_id"]]["uptime_last_week"])
        assert float(row["downtime_hours"]) == float(week[row["store_id"]]["downtime_last_week"])


def test_a_long_range_reads_every_poll(app, tmp_path: Path) -> None:
    """Polls 300 days apart: the read spans many 2^40 µs slices and must miss none."""
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "store_status.csv").write_text(
        "store_id,status,timestamp_utc\n"
        "L,active,2022-03-01 00:00:00 UTC\nL,inactive,2022-07-01 00:00:00 UTC\nL,active,2022-12-25 00:00:00 UTC\n")
    (folder / "timezones.csv").write_text("store_id,timezone_str\nL,UTC\n")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-data", "--dir", str(folder)]).exit_code == 0
    out = tmp_path / "i.csv"
    result = runner.invoke(args=["incidents", "--from", "2022-01-01T00:00:00Z", "--to", "2023-01-01T00:00:00Z",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_rows(out.read_text())
    # Inactive from the midpoint of Mar 1 / Jul 1 to the midpoint of Jul 1 / Dec 25.
    assert [(r["start"], r["end"]) for r in rows] == [("2022-05-01T00:00:00Z", "2022-09-27T12:00:00Z")]


def test_stored_params_describe_the_range_report(runtime) -> None:
    """Report jobs keep their params as JSON (the contract's dump) and run them through
    builder.build_for_params: a range report (with `to` left to the data and last_hours)
    survives the round trip unchanged; so does one stored by the last release."""
    import json as json_module

    from services.contract.reports import ReportRequest
    from services.errors import InvalidInput
    from services.reports.builder import build_for_params
    from services.reports.ranges import build_range_report

    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    spec = ReportRequest.of(store_ids=("r2", "r1"), last_hours=33)
    params = json_module.loads(json_module.dumps(spec.stored()))
    assert params == {"store_ids": ["r2", "r1"], "last_hours": 33} and ReportRequest.from_stored(params) == spec
    built = build_for_params(runtime.engine, params)
    assert list(built.frame.columns) == RANGE_HEADER.split(",")
    assert built.from_us == built.now_us - 33 * 3_600_000_000
    direct = build_range_report(runtime.engine, spec)
    assert built.frame.equals(direct.frame)
    last_release = {"store_ids": ["r2", "r1"], "as_of_us": None, "kind": "range", "from_us": None, "to_us": None,
                    "last_hours": 33}
    assert ReportRequest.from_stored(last_release) == spec
    with pytest.raises(InvalidInput, match="as_of"):
        build_for_params(runtime.engine, {**params, "as_of": "1970-01-01T00:00:00Z"})


def test_a_range_report_in_shards_is_the_whole_report(runtime, tmp_path: Path) -> None:
    """Sharded jobs (REPORT_SHARDS with Celery) build each store_id range through
    builder.build_for_params and join the CSV texts: for a range report that must give exactly
    the report computed in one piece."""
    from services.contract.reports import ReportRequest
    from services.reports.builder import build_for_params, report_csv_text

    load_directory(runtime.engine, combine_examples(["ex1", "ex2", "ex3", "ex4", "ex7"], tmp_path / "all"))
    params = ReportRequest.of(last_hours=8 * 24).stored()
    whole = report_csv_text(build_for_params(runtime.engine, params).frame)
    ids = [row["store_id"] for row in read_rows(whole)]
    assert len(ids) == 6
    texts = [report_csv_text(build_for_params(runtime.engine, params, store_ids=ids[lo:lo + 2]).frame)
             for lo in range(0, len(ids), 2)]
    assert texts[0].partition("\n")[0] == RANGE_HEADER
    assert texts[0].partition("\n")[0] + "\n" + "".join(t.partition("\n")[2] for t in texts) == whole
