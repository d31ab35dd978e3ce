"""One report contract (services/contract/reports.py) behind every interface: the HTTP query
string, form and JSON body of /trigger_report, availability's query, a schedule's params and the
CLI accept and refuse the same values with the same reasons, and jobs and schedules store the
same dump."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import SPEC_EXAMPLES
from services.contract import parse
from services.contract.reports import ReportRequest
from services.errors import InvalidInput
from services.ingest.loader import load_directory

AS_OF = "2023-01-24T17:00:00Z"


@pytest.mark.parametrize("params, reason", [
    ({"last_hours": "1.5"}, "whole number of hours"),
    ({"last_hours": "0"}, "whole number of hours"),
    ({"last_hours": "8785"}, "whole number of hours"),
    ({"as_of": "1969-12-31T23:59:59Z"}, "between 1970 and 2100"),
    ({"from": "2100-01-01T00:00:00Z"}, "between 1970 and 2100"),
    ({"to": "1900-01-01T00:00:00Z"}, "between 1970 and 2100"),
    ({"from": "2023-01-20T00:00:00Z", "last_hours": "5"}, "either from or last_hours"),
    ({"as_of": AS_OF, "to": AS_OF}, "as_of cannot be combined"),
    ({"store_id": "a\x07b"}, "control characters"),
    ({"store_id": "x" * 256}, "longer than 255"),
])
def test_every_interface_refuses_the_same_values(app, client, runtime, tmp_path: Path, params: dict[str, str],
                                                  reason: str) -> None:
    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    answers = [client.post("/trigger_report", query_string=params), client.post("/trigger_report", data=params),
               client.post("/trigger_report", json=params),
               client.post("/schedules", json={"cron": "0 * * * *", "params": params})]
    if "as_of" not in params and "store_id" not in params:
        answers.append(client.get("/stores/r1/availability", query_string=params))
    for answer in answers:
        assert answer.status_code == 400 and reason in answer.get_json()["error"], answer.get_json()
    assert client.get("/reports").get_json()["reports"] == []
    assert client.get("/schedules").get_json()["schedules"] == []
    options = [arg for name, value in params.items()
               for arg in (f"--{name.replace('_', '-')}", value)]
    out = tmp_path / "r.csv"
    result = app.test_cli_runner().invoke(args=["report", *options, "--out", str(out)])
    assert result.exit_code == 2 and reason in result.output, result.output
    assert not out.exists()


def test_whole_hours_in_any_spelling_and_one_stored_form(client, runtime) -> None:
    load_directory(runtime.engine, SPEC_EXAMPLES / "ex7")
    stored = []
    for sent in ({"json": {"last_hours": 24, "store_id": "r1"}},
                 {"json": {"last_hours": 24.0, "store_ids": ["r1"]}},
                 {"query_string": {"last_hours": "24", "store_id": "r1"}},
                 {"data": {"last_hours": " 24 ", "store_id": "r1"}}):
        answer = client.post("/trigger_report", **sent)
        assert answer.status_code == 202, answer.get_json()
        summary = client.get(f"/reports/{answer.get_json()['report_id']}").get_json()
        stored.append({key: summary.get(key) for key in ("kind", "last_hours", "store_ids", "from", "to", "as_of")})
    assert stored == [{"kind": "range", "last_hours": 24, "store_ids": ["r1"], "from": None, "to": None,
                       "as_of": None}] * 4
    created = client.post("/schedules", json={"cron": "0 * * * *", "params": {"store_id": "r1", "last_hours": "24"}})
    view = client.get(f"/schedules/{created.get_json()['schedule_id']}").get_json()
    assert view["params"] == {"store_ids": ["r1"], "last_hours": 24}


def test_stored_dump_round_trips_to_the_microsecond() -> None:
    request = parse(ReportRequest, {"from": "2023-01-20T01:02:03.456789+02:00", "to": "2023-01-21T00:00:00Z",
                                    "store_id": [" b ", "a", "b"]})
    stored = request.stored()
    assert stored == {"from": "2023-01-19T23:02:03.456789Z", "to": "2023-01-21T00:00:00Z", "store_ids": ["b", "a"]}
    assert ReportRequest.from_stored(stored) == request
    assert request.from_us == 1674169323456789


@pytest.mark.parametrize("stored", [{"as_of_us": 4_200_000_000_000_000}, {"kind": "range", "from_us": 5, "to_us": 1},
                                    {"store_ids": [""]}, {"last_hours": 0}, {"colour": "red"}])
def test_a_bad_stored_request_is_invalid_input(stored: dict[str, Any]) -> None:
    """Jobs validate what they read back: a bad row fails its report with the reason."""
    with pytest.raises(InvalidInput):
        ReportRequest.from_stored(stored)


def test_http_instants_are_text_only() -> None:
    """Epoch numbers are for Python callers and rows of the last release, never a client's."""
    with pytest.raises(InvalidInput, match="ISO-8601"):
        parse(ReportRequest, {"as_of": 1674000000000000})
    assert ReportRequest.of(as_of_us=1674000000000000).stored() == {"as_of": "2023-01-18T00:00:00Z"}
