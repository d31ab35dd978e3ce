"""Live state of stores from their polls, and their live status at an instant (SPEC 10), vectorised.

A store's state is its latest poll and the trailing run of polls with the same status (how many,
from when): enough to say up or down now and to count an alert's `confirm_polls` /
`recover_polls`. Rules:
- a poll older than the store's latest changes nothing (it arrived late: history, not news);
- a poll at the instant of the latest that turns it inactive (SPEC 1's conflict rule) replaces it;
- a silence of STALE_AFTER_MINUTES or more breaks a run (the store was stale in between), so
  "since" of the next status is when polls came back, not before the silence.
Status at `now` (the service clock): `closed` outside business time (hours minus closures),
`stale` when open and the latest poll is STALE_AFTER_MINUTES old or more, else the latest poll's
`up`/`down`; `unknown` for a store without a poll.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.live_state import STATUS_CODES
from models.packing import StoreTimeKey
from services.live.opening import Position

UP, DOWN, STALE, CLOSED, UNKNOWN = (STATUS_CODES[n] for n in ("up", "down", "stale", "closed", "unknown"))


def empty_states() -> pd.DataFrame:
    return pd.DataFrame({
        "store": np.zeros(0, np.int64), "last_ts_us": np.zeros(0, np.int64), "last_active": np.zeros(0, bool),
        "run_len": np.zeros(0, np.int64), "run_start_us": np.zeros(0, np.int64),
        "received_us": np.zeros(0, np.int64), "status": np.zeros(0, np.int64),
        "status_since_us": np.zeros(0, np.int64),
    })


def _runs(rows: pd.DataFrame, stale_us: int) -> pd.DataFrame:
    """The last run of each store in `rows` (columns store, ts_us, active, weight, run_start_us,
    received_us, kind; sorted by store then order): one row per store."""
    store = rows["store"].to_numpy()
    ts = rows["ts_us"].to_numpy()
    active = rows["active"].to_numpy()
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (store[1:] != store[:-1]) | (active[1:] != active[:-1]) | (ts[1:] - ts[:-1] >= stale_us)
    run_id = np.cumsum(first)
    frame = pd.DataFrame({"store": store, "run": run_id, "weight": rows["weight"].to_numpy(),
                          "start": np.where(first, rows["run_start_us"].to_numpy(), np.iinfo(np.int64).max)})
    last_run = frame.groupby("store", sort=False)["run"].transform("max").to_numpy() == run_id
    tail = frame[last_run]
    agg = tail.groupby("store", sort=False).agg(run_len=("weight", "sum"), run_start_us=("start", "min"))
    last = rows.groupby("store", sort=False).tail(1).set_index("store")
    out = pd.DataFrame({
        "store": agg.index.to_numpy(dtype=np.int64),
        "last_ts_us": last.loc[agg.index, "ts_us"].to_numpy(dtype=np.int64),
        "last_active": last.loc[agg.index, "active"].to_numpy(dtype=bool),
        "run_len": agg["run_len"].to_numpy(dtype=np.int64),
        "run_start_us": agg["run_start_us"].to_numpy(dtype=np.int64),
        "received_us": last.loc[agg.index, "received_us"].to_numpy(dtype=np.int64),
        "kind": last.loc[agg.index, "kind"].to_numpy(dtype=np.int64),
    })
    return out


def apply_arrivals(states: pd.DataFrame, arrivals: pd.DataFrame, stale_us: int) -> pd.DataFrame:
    """New state rows of the stores whose latest poll changed with `arrivals` (store, ts_us,
    active, received_us; in commit order), given their current `states` (any superset)."""
    if arrivals.empty:
        return empty_states()
    touched = pd.unique(arrivals["store"].to_numpy(dtype=np.int64))
    prior = states[states["store"].isin(touched)]
    rows = pd.concat([
        pd.DataFrame({"store": prior["store"].to_numpy(np.int64), "ts_us": prior["last_ts_us"].to_numpy(np.int64),
                      "active": prior["last_active"].to_numpy(bool), "weight": prior["run_len"].to_numpy(np.int64),
                      "run_start_us": prior["run_start_us"].to_numpy(np.int64),
                      "received_us": prior["received_us"].to_numpy(np.int64), "kind": 0, "order": -1}),
        pd.DataFrame({"store": arrivals["store"].to_numpy(np.int64), "ts_us": arrivals["ts_us"].to_numpy(np.int64),
                      "active": arrivals["active"].to_numpy(bool), "weight": 1,
                      "run_start_us": arrivals["ts_us"].to_numpy(np.int64),
                      "received_us": arrivals["received_us"].to_numpy(np.int64), "kind": 1,
                      "order": np.arange(len(arrivals))}),
    ], ignore_index=True)
    rows = rows.sort_values(["store", "order"], kind="stable", ignore_index=True)
    # Keep a poll only if it is newer than every poll before it (or the same instant turned inactive).
    before = rows.groupby("store", sort=False)["ts_us"].cummax().groupby(rows["store"], sort=False).shift(1)
    before = before.fillna(np.iinfo(np.int64).min).to_numpy(dtype=np.int64)
    ts = rows["ts_us"].to_numpy()
    keep = (rows["kind"].to_numpy() == 0) | (ts > before) | ((ts == before) & ~rows["active"].to_numpy(bool))
    rows = rows[keep]
    result = _runs(rows, stale_us)
    result = result[result["kind"] == 1].drop(columns="kind")  # stores whose latest poll is new
    old = prior.set_index("store")
    result["status"] = old["status"].reindex(result["store"]).fillna(UNKNOWN).to_numpy(dtype=np.int64)
    result["status_since_us"] = old["status_since_us"].reindex(result["store"]).fillna(-1).to_numpy(dtype=np.int64)
    return result.reset_index(drop=True)


def latest_runs(polls: pd.DataFrame, received_us: int, stale_us: int) -> pd.DataFrame:
    """Each store's latest poll and trailing run in `polls` (store, ts_us, active): the state a
    CSV load implies (the heavy part, done outside the evaluator's write transaction)."""
    if polls.empty:
        return empty_states().drop(columns=["status", "status_since_us"])
    # NumPy on one packed key instead of pandas groupbys: after a CSV load this reads 8 days of
    # every store (18M polls at 10× the fleet), and the groupbys took the API process to 3.6 GB.
    store, ts, active = (polls["store"].to_numpy(np.int64), polls["ts_us"].to_numpy(np.int64),
                         polls["active"].to_numpy(bool))
    packing = StoreTimeKey.for_span(int(ts.min()), int(ts.max()), flag=True)
    if packing.fits(int(store.max())) and int(store.min()) >= 0:
        store, ts, flag = packing.unpack(np.sort(packing.pack(store, ts, active)))
        active = np.asarray(flag, dtype=bool)
    else:
        order = np.lexsort((active, ts, store))
        store, ts, active = store[order], ts[order], active[order]
    # Several polls of one instant count as one, inactive if any is (SPEC 2.4): sorted, it comes first.
    keep = np.ones(len(store), dtype=bool)
    keep[1:] = (store[1:] != store[:-1]) | (ts[1:] != ts[:-1])
    store, ts, active = store[keep], ts[keep], active[keep]
    first = np.ones(len(store), dtype=bool)  # a run starts: another store, another status, a silence
    first[1:] = (store[1:] != store[:-1]) | (active[1:] != active[:-1]) | (ts[1:] - ts[:-1] >= stale_us)
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(store)), 0))
    ends = np.flatnonzero(np.append(store[1:] != store[:-1], True))  # each store's latest poll
    starts = run_start[ends]
    return pd.DataFrame({
        "store": store[ends], "last_ts_us": ts[ends], "last_active": active[ends],
        "run_len": (ends - starts + 1).astype(np.int64), "run_start_us": ts[starts],
        "received_us": np.full(len(ends), int(received_us), dtype=np.int64),
    })


def changed_runs(fresh: pd.DataFrame, states: pd.DataFrame) -> pd.DataFrame:
    """The rows of `fresh` (from `latest_runs`) whose latest poll differs from the stores' current
    `states` and is not older (a live poll newer than the load wins), with the statuses kept."""
    if fresh.empty:
        return empty_states()
    old = states.set_index("store").reindex(fresh["store"])
    same = (old["last_ts_us"].to_numpy() == fresh["last_ts_us"].to_numpy()) & (
        old["last_active"].to_numpy() == fresh["last_active"].to_numpy())
    newer = ~(old["last_ts_us"].to_numpy() > fresh["last_ts_us"].to_numpy())  # NaN (no state) is newer
    changed = fresh[~same & newer].reset_index(drop=True)
    old = old[~same & newer]
    changed["status"] = old["status"].fillna(UNKNOWN).to_numpy(dtype=np.int64)
    changed["status_since_us"] = old["status_since_us"].fillna(-1).to_numpy(dtype=np.int64)
    return changed


@dataclass(frozen=True)
class Statuses:
    status: np.ndarray  # STATUS_CODES
    since_us: np.ndarray  # -1 = not known
    changes_us: np.ndarray  # the next instant the status changes by time alone (-1: none known)


def live_status(states: pd.DataFrame, position: Position, now_us: int, stale_us: int) -> Statuses:
    """Status of each row of `states` at `now_us`, `position` being their business-time position."""
    last = states["last_ts_us"].to_numpy(dtype=np.int64)
    active = states["last_active"].to_numpy(dtype=bool)
    run_start = states["run_start_us"].to_numpy(dtype=np.int64)
    stale_at = last + stale_us
    is_stale = position.is_open & (now_us >= stale_at)
    status = np.where(~position.is_open, CLOSED, np.where(is_stale, STALE, np.where(active, UP, DOWN)))
    since = np.where(
        ~position.is_open, position.closed_us,
        np.where(is_stale, np.maximum(stale_at, position.opened_us), np.maximum(run_start, position.opened_us)))
    changes = position.next_change_us.copy()
    will_stale = position.is_open & ~is_stale & ((changes < 0) | (stale_at < changes))
    changes[will_stale] = stale_at[will_stale]
    return Statuses(status.astype(np.int64), since.astype(np.int64), changes)
