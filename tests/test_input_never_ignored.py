"""Input is never silently ignored (issue 9): warnings, typos, wrong content types, the CLI's --out."""
from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import combine_examples
from models import report_jobs
from services.ingest.loader import load_directory
from services.jobs.runner import new_report_id
from support.reports import wait_for

AS_OF = "2023-01-23T12:00:00Z"  # after the newest poll (11:15) of the examples: itself a warning
INSIDE = "2023-01-23T11:00:00Z"


@pytest.fixture
def loaded(runtime, tmp_path: Path):
    load_directory(runtime.engine, combine_examples(["ex1", "ex2", "ex3"], tmp_path / "examples"))
    return runtime


def _summary(client, body: dict) -> dict:
    response = client.post("/trigger_report", json=body)
    assert response.status_code == 202, response.get_json()
    report_id = response.get_json()["report_id"]
    wait_for(client, report_id)
    return client.get(f"/reports/{report_id}").get_json()


def test_unknown_store_ids_are_warned_about(client, loaded) -> None:
    summary = _summary(client, {"store_id": ["store-1", "nope", "also-nope"], "as_of": INSIDE})
    assert summary["status"] == "Complete" and summary["row_count"] == 1
    assert len(summary["warnings"]) == 1
    assert "also-nope, nope" in summary["warnings"][0] and "unknown store_id" in summary["warnings"][0]
    assert client.get("/reports").get_json()["reports"][0]["warnings"] == summary["warnings"]
    # the same request again reuses the file, and keeps the warning
    again = _summary(client, {"store_id": ["store-1", "nope", "also-nope"], "as_of": INSIDE})
    assert again["timings"].get("reused_from") and again["warnings"] == summary["warnings"]


def test_known_stores_and_in_range_as_of_have_no_warning(client, loaded) -> None:
    assert _summary(client, {"store_id": "store-1", "as_of": INSIDE})["warnings"] == []
    assert _summary(client, {})["warnings"] == []


@pytest.mark.parametrize("as_of, words", [("2023-02-01T00:00:00Z", "after the newest poll"),
                                          ("2022-01-01T00:00:00Z", "before the oldest poll")])
def test_as_of_outside_the_data_runs_with_a_warning(client, loaded, as_of: str, words: str) -> None:
    summary = _summary(client, {"as_of": as_of})
    assert summary["status"] == "Complete"
    assert any(words in w for w in summary["warnings"]), summary["warnings"]


@pytest.mark.parametrize("send", [
    {"data": '{"store_id": "store-1"}', "content_type": "application/x-www-form-urlencoded"},
    {"data": '{"store_id": "store-1"}', "content_type": "text/plain"},
    {"data": '{"store_id": "store-1"}'},  # no Content-Type at all
])
def test_json_without_its_content_type_is_400(client, loaded, send: dict) -> None:
    response = client.post("/trigger_report", **send)
    assert response.status_code == 400
    assert "application/json" in response.get_json()["error"]
    assert report_jobs.recent(loaded.engine) == []


@pytest.mark.parametrize("send", [
    {"query_string": "stor_id=store-1"}, {"json": {"stor_id": "store-1"}}, {"data": {"stor_id": "store-1"}},
    {"json": {"store_id": "store-1", "asof": AS_OF}},
])
def test_unknown_parameter_names_are_400_naming_them(client, loaded, send: dict) -> None:
    response = client.post("/trigger_report", **send)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "unknown parameter" in message and ("'stor_id'" in message or "'asof'" in message), message
    assert report_jobs.recent(loaded.engine) == []


def test_empty_store_id_list_is_400(client, loaded) -> None:
    response = client.post("/trigger_report", json={"store_id": []})
    assert response.status_code == 400 and "at least one" in response.get_json()["error"]


@pytest.mark.parametrize("limit", ["0", "-1", "201"])
def test_reports_limit_out_of_range_is_400(client, loaded, limit: str) -> None:
    response = client.get(f"/reports?limit={limit}")
    assert response.status_code == 400 and "limit" in response.get_json()["error"]
    assert client.get("/reports?limit=1").status_code == 200


def test_report_ids_never_begin_with_a_dash() -> None:
    assert not any(new_report_id().startswith("-") for _ in range(2000))


# --------------------------------------------------------------------------------------------
# the CLI's report --out
# --------------------------------------------------------------------------------------------
def _cli(app, *args: str):
    return CliRunner().invoke(app.cli, ["report", *args])


def test_cli_out_dash_writes_to_stdout(app, loaded) -> None:
    result = _cli(app, "--as-of", AS_OF, "--store-id", "store-1", "--out", "-")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["store_id"] for r in rows] == ["store-1"]
    assert "wrote 1 store to standard output" in result.stderr


def test_cli_warns_about_unknown_stores_and_counts_right(app, loaded, tmp_path: Path) -> None:
    out = tmp_path / "one.csv"
    result = _cli(app, "--as-of", AS_OF, "--store-id", "store-1", "--store-id", "nope", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "warning: unknown store_id" in result.stderr and "nope" in result.stderr
    assert f"wrote 1 store to {out}" in result.stdout
    result = _cli(app, "--as-of", AS_OF, "--out", str(tmp_path / "all.csv"))
    assert "wrote 3 stores" in result.stdout


def test_cli_missing_folder_is_an_error(app, loaded, tmp_path: Path) -> None:
    result = _cli(app, "--as-of", AS_OF, "--out", str(tmp_path / "no" / "such" / "r.csv"))
    assert result.exit_code != 0 and "does not exist" in result.output
    assert not (tmp_path / "no").exists()


def test_cli_out_file_gets_umask_permissions(app, loaded, tmp_path: Path) -> None:
    out = tmp_path / "perm.csv"
    assert _cli(app, "--as-of", AS_OF, "--out", str(out)).exit_code == 0
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_cli_rejects_invalid_store_ids(app, loaded, tmp_path: Path) -> None:
    result = _cli(app, "--store-id", "  ", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code != 0 and "must not be empty" in result.output


def test_report_store_files_are_written_like_the_cli_ones(tmp_path: Path) -> None:
    """One atomic write (services/files.py) for both: the API's report files get the umask's
    permissions too (not a temporary file's 0600); the store creates its own REPORT_DIR, while
    the write itself never creates a folder."""
    from services.files import write_text_atomically
    from services.jobs.storage import FileStore

    store = FileStore(tmp_path / "reports")
    store.save("r1.csv", "store_id\nx\n")
    path = tmp_path / "reports" / "r1.csv"
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.read_text() == "store_id\nx\n" and stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["r1.csv"]  # no temporary file left
    with pytest.raises(FileNotFoundError):
        write_text_atomically(tmp_path / "missing" / "r.csv", lambda out: out.write("x"))
    assert not (tmp_path / "missing").exists()
