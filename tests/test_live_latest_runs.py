"""The live state a CSV load implies (services/live/state.latest_runs), against a per-store loop:
each store's latest poll and the trailing run of same-status polls, one poll per instant
(inactive wins), a silence of `stale_us` or more breaking the run."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from services.live.state import latest_runs

STALE_US = 7_000


def by_hand(polls: list[tuple[int, int, bool]], received_us: int) -> pd.DataFrame:
    out = []
    for store in sorted({s for s, _, _ in polls}):
        instants: dict[int, bool] = {}
        for s, ts, active in polls:
            if s == store:
                instants[ts] = instants.get(ts, True) and active
        series = sorted(instants.items())
        run_start = 0
        for i in range(1, len(series)):
            if series[i][1] != series[i - 1][1] or series[i][0] - series[i - 1][0] >= STALE_US:
                run_start = i
        last_ts, last_active = series[-1]
        out.append((store, last_ts, last_active, len(series) - run_start, series[run_start][0], received_us))
    return pd.DataFrame(out, columns=["store", "last_ts_us", "last_active", "run_len", "run_start_us", "received_us"])


polls_lists = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60) .map(lambda m: 1_700_000_000_000_000 + m * 1_000),
                                 st.booleans()), min_size=1, max_size=200)


@settings(max_examples=300, deadline=None)
@given(polls=polls_lists, huge_keys=st.booleans())
def test_latest_runs_equal_a_per_store_loop(polls: list[tuple[int, int, bool]], huge_keys: bool) -> None:
    if huge_keys:  # store keys too wide to pack beside the times: the other sort
        polls = [(s + 2**50, ts, a) for s, ts, a in polls]
    frame = pd.DataFrame(polls, columns=["store", "ts_us", "active"]).astype({"store": np.int64, "ts_us": np.int64})
    got = latest_runs(frame, 123, STALE_US)
    expected = by_hand(polls, 123)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.astype(got.dtypes.to_dict()))
