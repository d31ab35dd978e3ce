"""What an alert announces for each of its stores (SPEC 10), for many (alert, store) pairs at once.

Per pair, the alert remembers the last state it announced (up when nothing is stored):
- while the store is closed nothing is announced; a store announced down or stale is marked as
  having closed since;
- while open: `stale` when no poll came for STALE_AFTER_MINUTES; else `down` once the trailing
  run of inactive polls is `confirm_polls` long, `up` once the run of active polls is
  `recover_polls` long; a shorter run keeps the state announced before (hysteresis);
- a change of state is announced; so is a store that is still down or stale when it opens
  (and one that opens fine after being announced down: `up`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.live.state import CLOSED, DOWN, STALE, UNKNOWN, UP

EVENT_NAMES = {UP: "store.up", DOWN: "store.down", STALE: "store.stale"}


@dataclass(frozen=True)
class Decisions:
    """Per pair: the state to keep (1 up = no row), whether the store closed since, and whether a
    transition is announced now (with its instant)."""

    state: np.ndarray
    closed: np.ndarray
    announce: np.ndarray
    at_us: np.ndarray


def decide(pairs: pd.DataFrame) -> Decisions:
    """`pairs` columns: status, since_us, last_ts_us, last_active, run_len, confirm, recover,
    prev_state (UP when none stored), prev_closed."""
    status = pairs["status"].to_numpy(dtype=np.int64)
    active = pairs["last_active"].to_numpy(dtype=bool)
    run_len = pairs["run_len"].to_numpy(dtype=np.int64)
    prev = pairs["prev_state"].to_numpy(dtype=np.int64)
    prev_closed = pairs["prev_closed"].to_numpy(dtype=bool)
    since = pairs["since_us"].to_numpy(dtype=np.int64)
    last = pairs["last_ts_us"].to_numpy(dtype=np.int64)

    is_open = (status != CLOSED) & (status != UNKNOWN)
    target = np.where(
        status == STALE, STALE,
        np.where(~active & (run_len >= pairs["confirm"].to_numpy()), DOWN,
                 np.where(active & (run_len >= pairs["recover"].to_numpy()), UP, prev)))
    target = np.where(is_open, target, prev)
    reopened = is_open & prev_closed
    announce = is_open & ((target != prev) | (reopened & (target != UP)))
    closed = np.where(status == CLOSED, prev != UP, np.where(is_open, False, prev_closed))
    at = np.where(target == STALE, since, np.maximum(since, last))
    return Decisions(target, closed, announce, at)
