"""Reports before live work within a process (services/priority.py): while a report computes,
live pieces run one at a time and pause to keep their share of the wall time; with no report
they run side by side and never pause. Real threads; the pauses are observed through the
module's sleep, never by timing the test."""
from __future__ import annotations

import threading
import time

import pytest

from services import priority as priority_module
from services.priority import ReportPriority

PIECE_S = 0.05


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses live work takes (and still takes, through the real sleep)."""
    taken: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        taken.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(priority_module.time, "sleep", sleep)
    return taken


def run_pieces(priority: ReportPriority, count: int, inside=lambda: time.sleep(PIECE_S)) -> int:
    """`count` live pieces over two threads; returns the most that ran at once."""
    lock = threading.Lock()
    state = {"left": count, "now": 0, "most": 0}

    def worker() -> None:
        while True:
            with lock:
                if not state["left"]:
                    return
                state["left"] -= 1
            with priority.live_work():
                with lock:
                    state["now"] += 1
                    state["most"] = max(state["most"], state["now"])
                inside()
                with lock:
                    state["now"] -= 1

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    return state["most"]


def test_live_work_runs_one_piece_at_a_time_and_pauses_while_a_report_runs(pauses: list[float]) -> None:
    priority = ReportPriority(share=0.5)
    with priority.report():
        most = run_pieces(priority, 4)
    assert most == 1
    # Share 0.5: after each piece, as long a pause as the piece took (less what already passed).
    assert len(pauses) >= 2
    assert all(0 < p <= PIECE_S * 20 for p in pauses)


def test_live_work_runs_side_by_side_without_a_report(pauses: list[float]) -> None:
    priority = ReportPriority(share=0.5)
    with priority.report():
        run_pieces(priority, 1)  # leaves a pause owed, which must not matter once the report is over
    pauses.clear()
    both = threading.Barrier(2)
    most = run_pieces(priority, 2, inside=lambda: both.wait(timeout=30))  # passes only if both run at once
    assert most == 2 and pauses == []


def test_share_one_means_no_priority(pauses: list[float]) -> None:
    priority = ReportPriority()
    priority.configure(1.0)
    both = threading.Barrier(2)
    with priority.report():
        most = run_pieces(priority, 2, inside=lambda: both.wait(timeout=30))
    assert most == 2 and pauses == []


def test_the_share_setting_is_read_bounded_and_applied(tmp_path) -> None:
    from config import Config, ConfigError
    from runtime import Runtime

    assert Config.from_env({}).live_share_while_reporting == 0.25
    for bad in ("0", "1.5", "half", "nan"):
        with pytest.raises(ConfigError, match="LIVE_SHARE_WHILE_REPORTING"):
            Config.from_env({"LIVE_SHARE_WHILE_REPORTING": bad})
    config = Config.from_env({"LIVE_SHARE_WHILE_REPORTING": "0.5", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                              "CSV_DIR": str(tmp_path), "REPORT_DIR": str(tmp_path / "reports")})
    runtime = Runtime.build(config)
    try:
        assert priority_module.report_priority.share == 0.5
    finally:
        runtime.close()
        priority_module.report_priority.configure(0.25)
