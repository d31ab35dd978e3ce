"""Reports before live work within a process (services/priority.py): while a report computes,
live pieces run one at a time and keep at most their share of the wall time; with no report
they are not held at all. Real threads and clocks; only lower bounds are asserted where the
machine's load could stretch a figure."""
from __future__ import annotations

import threading
import time

from services.priority import ReportPriority

PIECE_S = 0.05


def run_pieces(priority: ReportPriority, count: int, threads: int = 2) -> tuple[float, int]:
    """`count` live pieces of PIECE_S each over `threads` threads: (seconds, most at once)."""
    at_once = [0, 0]
    lock = threading.Lock()
    left = [count]

    def worker() -> None:
        while True:
            with lock:
                if not left[0]:
                    return
                left[0] -= 1
            with priority.live_work():
                with lock:
                    at_once[0] += 1
                    at_once[1] = max(at_once[1], at_once[0])
                time.sleep(PIECE_S)
                with lock:
                    at_once[0] -= 1

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.monotonic() - started, at_once[1]


def test_live_work_keeps_its_share_while_a_report_runs() -> None:
    priority = ReportPriority(share=0.5)
    with priority.report():
        seconds, most = run_pieces(priority, 4)
    assert most == 1  # one piece at a time
    # Each piece after the first waits as long as the one before it took (share 0.5).
    assert seconds >= 4 * PIECE_S + 3 * PIECE_S * 0.9


def test_live_work_is_not_held_without_a_report() -> None:
    priority = ReportPriority(share=0.5)
    with priority.report():
        run_pieces(priority, 1)  # leaves a pause owed, which must not matter once the report is over
    seconds, most = run_pieces(priority, 4)
    assert most == 2
    assert seconds < 4 * PIECE_S + 3 * PIECE_S * 0.9


def test_share_one_means_no_priority() -> None:
    priority = ReportPriority()
    priority.configure(1.0)
    with priority.report():
        _, most = run_pieces(priority, 4)
    assert most == 2
