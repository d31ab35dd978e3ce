"""`/health` names the data's own date range (oldest and newest poll), on SQLite and MySQL.

The page shows it in its header so an operator knows which `as_of`/`from`/`to` make sense.
"""
from __future__ import annotations

from pathlib import Path

from conftest import combine_examples
from services.ingest.loader import load_directory


def test_health_without_polls_has_no_range(client) -> None:
    body = client.get("/health").get_json()
    assert body["polls"] == 0
    assert body["oldest_poll"] is None and body["newest_poll"] is None


def test_health_gives_oldest_and_newest_poll(client, runtime, tmp_path: Path) -> None:
    load_directory(runtime.engine, combine_examples(["ex1", "ex7"], tmp_path / "examples"))
    body = client.get("/health").get_json()
    # ex1's first poll is the oldest, ex7's 2023-01-24 17:00 poll the newest
    assert body["oldest_poll"] == "2023-01-23T10:14:00Z"
    assert body["newest_poll"] == "2023-01-24T17:00:00Z"
    assert body["polls"] == 2 + 5


def test_health_says_when_live_status_has_caught_up_with_a_load(client, runtime, tmp_path: Path) -> None:
    """A load made outside the evaluator (here: directly, as `flask load-data` does) is not in
    live status until the evaluator's next pass folds it in; /health says which."""
    assert client.get("/health").get_json()["live"] == {"caught_up": True}  # nothing loaded yet
    load_directory(runtime.engine, combine_examples(["ex1", "ex7"], tmp_path / "examples"))
    assert client.get("/health").get_json()["live"] == {"caught_up": False}
    runtime.live.run_once()
    assert client.get("/health").get_json()["live"] == {"caught_up": True}
