"""Wait for a condition with a deadline, never for a fixed time."""
from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `predicate` until it returns something truthy (returned); AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def finished(response: Any) -> bool:
    """Whether a /get_report answer (Flask test response) is final: a CSV or a non-Running JSON."""
    return response.mimetype != "application/json" or response.get_json()["status"] != "Running"
