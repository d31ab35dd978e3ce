"""Judging rows: every row gets the first reason it fails, or none and is loaded (SPEC 1)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from services.contract.store_ids import store_id_checks
from services.ingest.csv_input import RawTable
from services.ingest.results import FileResult, Rejection

log = logging.getLogger(__name__)

MAX_REJECTIONS_LISTED = 100


class RowValidator:
    """Collects the first reason each row fails, checks applied in order."""

    def __init__(self, table: RawTable) -> None:
        self.table = table
        self.frame = table.frame
        self.lines = table.lines
        blank = np.ones(len(self.lines), dtype=bool)
        for column in self.frame.columns:
            blank &= (self.frame[column].to_numpy(dtype=object) == "")
        for spans in table.spans.values():
            blank &= spans.lengths == 0
        self.reasons = np.full(len(self.lines), None, dtype=object)
        self.reasons[blank] = "blank"  # blank lines are skipped, not rejected
        self.blank = blank
        self.broken_lines = table.broken_lines
        self.broken_reasons = table.broken_reasons

    def check(self, ok: np.ndarray, reason: str, column: str | None = None) -> None:
        """Give `reason` to the failing rows that have none yet, quoting `column`'s value."""
        fails = ~ok & (self.reasons == None)  # noqa: E711  (element-wise test for "no reason yet")
        if not fails.any():
            return
        if column is None:
            self.reasons[fails] = reason
            return
        values = self.table.strings(column, fails)
        self.reasons[fails] = [f"{reason} {str(value)[:60]!r}" for value in values]

    def store_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-row codes into an array of cleaned unique store ids.

        A file has millions of rows but only thousands of stores: validating the distinct
        values and mapping back by code is where most of the parsing time is saved.
        """
        spans = self.table.spans.get("store_id")
        codes, uniques = spans.factorize() if spans is not None else pd.factorize(self.frame["store_id"].to_numpy(dtype=object))
        cleaned = pd.Series(uniques, dtype=object).astype(str).str.strip()
        for ok_unique, reason in store_id_checks(cleaned):
            if not ok_unique.all():
                self.check(ok_unique[codes], reason)
        return codes, cleaned.to_numpy(dtype=object)

    @property
    def valid(self) -> np.ndarray:
        return self.reasons == None  # noqa: E711

    def finish(self, result: FileResult) -> None:
        rejected = ~self.valid & ~self.blank
        result.rows_read = int((~self.blank).sum()) + len(self.broken_lines)
        lines = np.concatenate([self.lines[rejected], self.broken_lines])
        reasons = np.concatenate([self.reasons[rejected], np.array(self.broken_reasons, dtype=object)])
        order = np.argsort(lines, kind="stable")
        result.rejected = len(lines)
        result.rejections = [
            Rejection(int(lines[i]), str(reasons[i])) for i in order[:MAX_REJECTIONS_LISTED]
        ]
        if result.rejected:
            log.warning("%s: %d rows rejected, first: line %d: %s", result.path, result.rejected,
                        result.rejections[0].line, result.rejections[0].reason)
