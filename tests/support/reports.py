"""Follow a report through Flask's test client until it is no longer Running."""
from __future__ import annotations

import csv
import io
from typing import Any

from support.waiting import finished, wait_until


def wait_for(client: Any, report_id: str, timeout: float = 60.0) -> Any:
    """The final `/get_report` answer of `report_id` (the CSV, or the Failed JSON)."""
    def answer() -> Any:
        response = client.get(f"/get_report?report_id={report_id}")
        assert response.status_code == 200, response.get_data()[:300]
        return response if finished(response) else None
    return wait_until(answer, timeout, f"report {report_id} to finish")


def csv_dicts(response: Any) -> list[dict[str, str]]:
    """The rows of a downloaded report CSV, as dicts by header."""
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
