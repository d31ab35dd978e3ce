"""The evaluator's in-memory copy of `live_store_state`, used while no other process has written it.

Each pass of the evaluator reads the state rows of the stores it touches and writes some back;
at 18,000 polls/s on MySQL those reads were 37 % of the service's CPU (py-spy, the `live`
benchmark: pymysql decodes every value in Python). Passes of all processes run one at a time
under the cursor row's lock, and each writes a new random `pass_id` into that row. A process that
finds the id it wrote last is the last one to have written the table, so its copy is exact and
the pass reads nothing. Any other id (another process made a pass), a failed pass, or no copy
yet: rows come from the database, and the copy is rebuilt at the next full pass, which reads
every row anyway.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from models.live_queries import STATE_COLUMNS

Reader = Callable[[Sequence[int] | None], pd.DataFrame]


class StateCopy:
    """Rows of `live_store_state` by store key (frame indexed by `store`, STATE_COLUMNS)."""

    def __init__(self) -> None:
        self._rows: pd.DataFrame | None = None
        self._pass_id: str | None = None  # the id this copy is current at

    def begin(self, pass_id: str | None) -> None:
        """Start of a pass holding the cursor lock: keep the copy only if `pass_id` (the
        cursor's) is the one this process wrote when it last changed the copy."""
        if pass_id is None or pass_id != self._pass_id:
            self._rows = None

    def read(self, keys: Sequence[int] | None, from_db: Reader) -> pd.DataFrame:
        """The state rows of `keys` (None: all) that exist, as `live_queries.read_states` gives them."""
        if self._rows is None:
            frame = from_db(keys)
            if keys is None:
                self._rows = frame.set_index("store")
            return frame
        rows = self._rows if keys is None else self._rows.loc[self._rows.index.intersection(
            pd.Index(np.asarray(keys, dtype=np.int64)))]
        return rows.reset_index()

    def wrote(self, frame: pd.DataFrame) -> None:
        """`frame` (STATE_COLUMNS) was upserted into the table in this pass."""
        if self._rows is None or frame.empty:
            return
        new = frame[STATE_COLUMNS].set_index("store")
        new = new[~new.index.duplicated(keep="last")]
        present = new.index.isin(self._rows.index)
        if present.any():
            self._rows.loc[new.index[present], new.columns] = new[present]
        if not present.all():
            self._rows = pd.concat([self._rows, new[~present]])

    def committed(self, pass_id: str) -> None:
        """The pass that wrote `pass_id` into the cursor row has committed."""
        self._pass_id = pass_id if self._rows is not None else None

    def drop(self) -> None:
        """The pass failed: its writes were rolled back, so the copy may be ahead of the table."""
        self._rows = None
        self._pass_id = None
