"""The live evaluator: folds new polls into the stores' live state, records status transitions and
raises alert events, exactly once across any number of processes (SPEC 10).

One pass is one write transaction that
1. locks the cursor row (`live_cursor`): passes of all processes run one at a time;
2. folds in what changed since the cursor: the `poll_arrivals` of batches after it (up to the
   last committed batch) and, after a CSV load that changed data, the newest polls of every
   store (a load's polls count for live status too);
3. computes the live status of the stores whose state changed and of those whose next
   time-driven change has come (a store opening or closing, a poll growing stale: the pass that
   last evaluated a store noted when that happens next), or of every store when the alerts, hours
   or closures changed, and every FULL_PASS_SECONDS anyway;
4. appends status changes to `store_transitions` (what `GET /events` streams), decides each
   alert's announcements, inserts `alert_events` and queues their webhooks in `deliveries`;
5. advances the cursor, and commits.
A process that dies mid-pass rolls back all of it; the next pass (any process) does it again.
Runs as a `Periodic` started by `Runtime.start_background`, woken at once by a live write of the
same process (`signals.polls_committed`) and otherwise every TICK_SECONDS, so polls written by
another process are seen within that.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from models import live_queries, store_data
from models.db import DEADLOCK_ATTEMPTS, is_deadlock, read_tx, write_tx
from models.live_state import STATUS_CODES
from services.live import batch_log, signals
from services.live.alert_rules import EVENT_NAMES, decide
from models.live_state import Alert
from services.live.opening import BusinessTime, BusinessTimeCache
from services.live.state_copy import StateCopy
from services.live.state import UNKNOWN, UP, Statuses, apply_arrivals, changed_runs, latest_runs, live_status
from services.live.timefmt import iso_z, now_us
from services.periodic import Periodic
from services.priority import report_priority

log = logging.getLogger(__name__)

TICK_SECONDS = 0.5
# Passes woken by live writes run at most this often: a pass has a fixed cost (~5 ms of pandas
# whatever its size), so at 20,000 polls/s a pass per 1,000-poll batch spent a core on it; this
# gathers ~10 batches a pass, for at most this much more alert latency (target: p99 < 2 s).
MIN_PASS_GAP_SECONDS = 0.1
# Every store is evaluated at least this often (a safety net: between full passes a pass evaluates
# the stores whose next time-driven change has come, as this process last computed it, and those
# whose state changed; a full pass over a 135k-store fleet takes about a second).
FULL_PASS_SECONDS = 300.0
REFRESH_LOOKBACK_US = 8 * 86_400 * 1_000_000  # polls read after a CSV load: the newest 8 days
ARRIVALS_KEPT_US = 24 * 3600 * 1_000_000  # contract 3: arrivals older than a day are pruned
TRANSITIONS_KEPT_US = 7 * 86_400 * 1_000_000
PRUNE_EVERY_US = 60 * 1_000_000
MAX_BATCHES_BY_NUMBER = 500  # batches read by number beside the held ones; more: the whole range
ALERT_DELIVERY_PREFIX = "alert:"  # deliveries.report_id of an alert event: "alert:<event id>"


@dataclass
class PassResult:
    arrivals: int = 0
    evaluated: int = 0
    transitions: int = 0
    events: list[dict[str, object]] = field(default_factory=list)
    full: bool = False


class TransitionSignal:
    """Wakes this process's `GET /events` streams when a pass recorded transitions."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, generation: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._generation != generation, timeout)
            return self._generation

    @property
    def generation(self) -> int:
        return self._generation


transitions_signal = TransitionSignal()


class LiveEvaluator:
    """See the module docstring; `run_once` is one pass (tests call it directly)."""

    def __init__(self, engine: Engine, stale_after_minutes: int, *,
                 clock: Callable[[], int] = now_us, on_delivery_queued: Callable[[], None] = lambda: None,
                 tick_seconds: float = TICK_SECONDS) -> None:
        self.engine = engine
        self.stale_us = int(stale_after_minutes) * 60 * 1_000_000
        self.clock = clock
        self.on_delivery_queued = on_delivery_queued
        self.business = BusinessTimeCache()
        # store key → the next instant time alone changes its status (opening, closing, growing stale)
        self._next_change = pd.Series(np.zeros(0, np.int64), index=pd.Index(np.zeros(0, np.int64)))
        self._last_full_us = -1
        self._alert_ids: frozenset[str] | None = None
        self._business_id = 0
        self._lock = threading.Lock()  # one pass at a time within this process
        self._scopes: dict[str, np.ndarray | None] = {}  # alert id → watched store keys (None: all)
        self._scope_version: tuple[int, frozenset[str]] | None = None
        self._cursor_ready = False  # the live_cursor row is known to exist
        self._copy = StateCopy()  # live_store_state as this process last left it
        self._thread = Periodic("live-evaluator", self.run_once, lambda: tick_seconds,
                                wake=signals.polls_committed.event, min_gap=min(MIN_PASS_GAP_SECONDS, tick_seconds))

    def start(self) -> None:
        batch_log.enable(self.engine)  # the live writers of this process hand their batches over
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()
        batch_log.disable(self.engine)

    def wake(self) -> None:
        """Run a pass now (a new alert, a live write of this process), not at the next tick."""
        signals.polls_committed.notify()

    def run_once(self) -> PassResult:
        with self._lock, report_priority.live_work():
            result = self._pass()
        if result.events:
            self.on_delivery_queued()
        if result.transitions:
            transitions_signal.notify()
        return result

    # -- one pass ----------------------------------------------------------------------------------
    def _pass(self) -> PassResult:
        result = PassResult()
        # The heavy reads first, in a read transaction of their own: rebuilding the fleet's business
        # time, and the newest polls after a CSV load. The write transaction below (which SQLite
        # makes the one writer) stays short.
        with read_tx(self.engine) as conn:
            business = self.business.get(conn, self.clock())
            refresh = self._read_refresh(conn)
        if not self._cursor_ready:
            self._ensure_cursor()
        try:
            with write_tx(self.engine) as conn:
                pass_id = self._write_pass(conn, business, refresh, result)
        except BaseException:
            self._copy.drop()  # rolled back: the copy may hold writes the table does not
            raise
        self._copy.committed(pass_id)
        if result.events:
            log.info("live: %d alert event(s) queued (%s)", len(result.events),
                     ", ".join(sorted({str(e["event"]) for e in result.events})))
        return result

    def _write_pass(self, conn: Connection, business: BusinessTime, refresh: tuple[int, pd.DataFrame] | None,
                    result: PassResult) -> str:
        """Steps 1-5 of the module docstring in the caller's write transaction; returns the pass id
        written into the cursor row."""
        cursor = live_queries.lock_cursor(conn)
        self._copy.begin(cursor.pass_id)
        now = self.clock()
        upto = store_data.live_version(conn)
        load = store_data.last_changed_load(conn)
        alerts = live_queries.list_alerts(conn)
        alert_ids = frozenset(a.id for a in alerts)
        self._refresh_scopes(conn, alerts)
        full = (self._last_full_us < 0 or now - self._last_full_us >= FULL_PASS_SECONDS * 1_000_000
                or alert_ids != self._alert_ids or id(business) != self._business_id or load != cursor.load_version)

        new_alerts = [a for a in alerts if not a.baselined]
        if new_alerts:  # their stores' current states, recorded before this pass's news: no event
            self._baseline(conn, new_alerts, business, now)

        changed: list[pd.DataFrame] = []
        load_done = cursor.load_version
        if load != cursor.load_version and refresh is not None and refresh[0] == load:
            current = self._read_states(conn, refresh[1]["store"].tolist())
            from_load = changed_runs(refresh[1], current)
            self._write_states(conn, from_load)
            changed.append(from_load)
            load_done = load
            log.info("live: %d store(s) took their newest poll from CSV load %d", len(from_load), load)
        live_changed = pd.DataFrame()
        if upto > cursor.seq:
            arrivals = self._arrivals(conn, cursor.seq, upto)
            result.arrivals = len(arrivals)
            if len(arrivals):
                current = self._read_states(conn, pd.unique(arrivals["store"]).tolist())
                live_changed = apply_arrivals(current, arrivals, self.stale_us)
                self._write_states(conn, live_changed)
                changed.append(live_changed)
        changed_keys = (np.unique(np.concatenate([c["store"].to_numpy(np.int64) for c in changed]))
                        if changed else np.zeros(0, np.int64))

        if not full:
            due = self._next_change.index.to_numpy()[self._next_change.to_numpy() <= now]
            changed_keys = np.union1d(changed_keys, due.astype(np.int64))
        if full or len(changed_keys):
            result.full = full
            states = self._read_states(conn, None if full else changed_keys.tolist())
            self._evaluate(conn, states, business, now, alerts, live_changed, result)
        if full:
            self._last_full_us = now
            self._alert_ids = alert_ids
            self._business_id = id(business)

        pruned = cursor.pruned_us
        if now - pruned >= PRUNE_EVERY_US:
            live_queries.prune_arrivals(conn, now - ARRIVALS_KEPT_US, upto)
            live_queries.prune_transitions(conn, now - TRANSITIONS_KEPT_US)
            live_queries.prune_orphan_alert_states(conn)
            pruned = now
        pass_id = uuid.uuid4().hex
        live_queries.advance_cursor(conn, max(upto, cursor.seq), load_done, now, pruned, pass_id)
        return pass_id

    def _ensure_cursor(self) -> None:
        """The cursor row exists (live_queries.ensure_cursor), made in a transaction of its own."""
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                with write_tx(self.engine) as conn:
                    live_queries.ensure_cursor(conn)
                break
            except DBAPIError as exc:
                if not is_deadlock(exc) or attempt == DEADLOCK_ATTEMPTS:
                    raise
        self._cursor_ready = True

    def _read_states(self, conn: Connection, keys: list[int] | None) -> pd.DataFrame:
        return self._copy.read(keys, lambda wanted: live_queries.read_states(conn, wanted))

    def _write_states(self, conn: Connection, frame: pd.DataFrame) -> None:
        live_queries.write_states(conn, frame)
        self._copy.wrote(frame)

    def _arrivals(self, conn: Connection, after_seq: int, upto_seq: int) -> pd.DataFrame:
        """Arrivals of batches (after_seq, upto_seq] in commit order: those this process committed
        from its batch log (services/live/batch_log.py), the others from the database."""
        batches = batch_log.of(self.engine)
        held = batches.take(after_seq, upto_seq) if batches is not None else {}
        missing = (upto_seq - after_seq) - len(held)
        if not held or missing > MAX_BATCHES_BY_NUMBER:
            return live_queries.read_arrivals(conn, after_seq, upto_seq)
        frames = [frame.assign(seq=seq) for seq, frame in held.items()]
        if missing:
            frames.append(live_queries.read_arrivals(
                conn, after_seq, upto_seq, [s for s in range(after_seq + 1, upto_seq + 1) if s not in held]))
        return pd.concat(frames, ignore_index=True).sort_values("seq", kind="stable", ignore_index=True)

    def _read_refresh(self, conn: Connection) -> tuple[int, pd.DataFrame] | None:
        """(load id, each store's latest run in the newest 8 days of polls) when a CSV load that
        changed data is not folded in yet; vectorised over the fleet."""
        load = store_data.last_changed_load(conn)
        if load == live_queries.cursor_load_version(conn):
            return None
        started = time.perf_counter()
        latest = store_data.latest_poll_us(conn)
        if latest is None:
            return load, latest_runs(pd.DataFrame(), 0, self.stale_us)
        polls = live_queries.read_recent_polls(conn, latest - REFRESH_LOOKBACK_US)
        fresh = latest_runs(polls, self.clock(), self.stale_us)
        log.info("live: newest polls of %d store(s) read after CSV load %d (%.2fs)", len(fresh), load,
                 time.perf_counter() - started)
        return load, fresh

    def _baseline(self, conn: Connection, alerts: list[Alert], business: BusinessTime, now: int) -> None:
        for alert in alerts:
            keys = self._scope_keys(alert)
            states = self._read_states(conn, None if keys is None else keys.tolist())
            if len(states):
                statuses = live_status(states, business.position(states["store"].to_numpy(), now), now,
                                       self.stale_us)
                pairs = self._pairs_frame(states, statuses, alert, pd.DataFrame(
                    columns=["alert", "store", "state", "closed"]))
                decisions = decide(pairs)
                frame = pd.DataFrame({"alert": alert.id, "store": pairs["store"].to_numpy(),
                                      "state": decisions.state, "closed": decisions.closed})
                live_queries.write_alert_states(conn, frame[frame["state"] != UP])
        live_queries.mark_baselined(conn, [a.id for a in alerts])

    def _refresh_scopes(self, conn: Connection, alerts: list[Alert]) -> None:
        """Look up the store keys of every alert's ids together, when the alerts or the stores
        changed (not a query per alert in every pass)."""
        version = (live_queries.store_key_top(conn), frozenset(a.id for a in alerts))
        if version == self._scope_version:
            return
        scopes = {a.id: live_queries.alert_scope(a) for a in alerts}
        wanted = sorted({i for ids in scopes.values() if ids is not None for i in ids})
        found = live_queries.keys_of_store_ids(conn, wanted)
        self._scopes = {a: None if ids is None else np.asarray(sorted(found[i] for i in ids if i in found),
                                                                dtype=np.int64)
                        for a, ids in scopes.items()}
        self._scope_version = version

    def _scope_keys(self, alert: Alert) -> np.ndarray | None:
        """The store keys an alert watches (None: every store)."""
        return self._scopes.get(alert.id, np.zeros(0, np.int64))

    @staticmethod
    def _pairs_frame(states: pd.DataFrame, statuses: Statuses, alert: Alert, prev: pd.DataFrame) -> pd.DataFrame:
        pairs = pd.DataFrame({
            "store": states["store"].to_numpy(np.int64),
            "status": statuses.status, "since_us": statuses.since_us,
            "last_ts_us": states["last_ts_us"].to_numpy(np.int64), "last_active": states["last_active"].to_numpy(bool),
            "run_len": states["run_len"].to_numpy(np.int64), "received_us": states["received_us"].to_numpy(np.int64),
            "confirm": alert.confirm_polls, "recover": alert.recover_polls,
        })
        mine = prev[prev["alert"] == alert.id].set_index("store")
        pairs["prev_state"] = mine["state"].reindex(pairs["store"]).fillna(UP).to_numpy(dtype=np.int64)
        pairs["prev_closed"] = mine["closed"].reindex(pairs["store"]).fillna(False).to_numpy(dtype=bool)
        return pairs

    def _evaluate(self, conn: Connection, states: pd.DataFrame, business: BusinessTime, now: int, alerts: list[Alert],
                  live_changed: pd.DataFrame, result: PassResult) -> None:
        keys = states["store"].to_numpy(np.int64)
        statuses = live_status(states, business.position(keys, now), now, self.stale_us)
        result.evaluated = len(states)
        # When time alone will change each evaluated store's status: it is evaluated again then.
        known = statuses.changes_us > now
        upcoming = pd.Series(statuses.changes_us[known], index=pd.Index(keys[known]))
        kept = self._next_change if not result.full else self._next_change.iloc[:0]
        self._next_change = pd.concat([kept[~kept.index.isin(keys)], upcoming])
        if len(states) == 0:
            return

        # Store transitions: what GET /events streams. A store's first status counts only when a
        # live poll brought it (a CSV load's first fill of a whole fleet is not news).
        old = states["status"].to_numpy(np.int64)
        from_live = np.isin(keys, live_changed["store"].to_numpy(np.int64)) if len(live_changed) else np.zeros(
            len(keys), bool)
        moved = statuses.status != old
        if moved.any():  # whole rows, upserted in bulk: the cursor lock keeps them as read
            self._write_states(conn, states[moved].assign(status=statuses.status[moved],
                                                          status_since_us=statuses.since_us[moved]))
        logged = moved & ((old != UNKNOWN) | from_live)
        if logged.any():
            at = np.where(np.isin(statuses.status[logged], [UP, STATUS_CODES["down"]]),
                          np.maximum(statuses.since_us[logged], states["last_ts_us"].to_numpy(np.int64)[logged]),
                          np.where(statuses.since_us[logged] >= 0, statuses.since_us[logged], now))
            live_queries.insert_transitions(conn, pd.DataFrame({
                "store": keys[logged], "status": statuses.status[logged], "at_us": at,
                "since_us": statuses.since_us[logged], "last_poll_us": states["last_ts_us"].to_numpy(np.int64)[logged],
            }), now)
            result.transitions = int(logged.sum())

        active_alerts = [a for a in alerts if a.baselined]
        if not active_alerts:
            return
        prev = live_queries.read_alert_states(conn, [a.id for a in active_alerts],
                                              None if result.full else keys.tolist())
        events: list[dict[str, object]] = []
        deliveries: list[dict[str, object]] = []
        state_rows: list[pd.DataFrame] = []
        announced_keys: set[int] = set()
        plans = []
        for alert in active_alerts:  # a loop over alerts (few), each vectorised over its stores
            scope = self._scope_keys(alert)
            chosen = np.ones(len(keys), bool) if scope is None else np.isin(keys, scope)
            if not chosen.any():
                continue
            sub_states = states[chosen]
            sub = Statuses(statuses.status[chosen], statuses.since_us[chosen], statuses.changes_us[chosen])
            pairs = self._pairs_frame(sub_states, sub, alert, prev)
            decisions = decide(pairs)
            write = (decisions.state != pairs["prev_state"].to_numpy()) | (
                decisions.closed != pairs["prev_closed"].to_numpy())
            if write.any():
                state_rows.append(pd.DataFrame({"alert": alert.id, "store": pairs["store"].to_numpy()[write],
                                                "state": decisions.state[write], "closed": decisions.closed[write]}))
            if decisions.announce.any():
                plans.append((alert, pairs[decisions.announce], decisions.state[decisions.announce],
                              decisions.at_us[decisions.announce]))
                announced_keys.update(int(k) for k in pairs["store"].to_numpy()[decisions.announce])
        names = live_queries.store_ids_of(conn, sorted(announced_keys)) if announced_keys else {}
        created = datetime.fromtimestamp(now / 1_000_000, tz=timezone.utc)
        for alert, pairs, targets, ats in plans:
            for (store, since, last, received), target, at in zip(
                    pairs[["store", "since_us", "last_ts_us", "received_us"]].itertuples(index=False, name=None),
                    targets, ats):
                event_id = uuid.uuid4().hex
                event = {
                    "event": EVENT_NAMES[int(target)], "alert_id": alert.id, "store_id": names.get(int(store), ""),
                    "at": iso_z(int(at)), "since": iso_z(int(since)) if since >= 0 else None,
                    "last_poll": iso_z(int(last)),
                }
                events.append({"id": event_id, "alert_id": alert.id, "store_key": int(store),
                               "event": event["event"], "at_us": int(at),
                               "since_us": int(since) if since >= 0 else None, "last_poll_us": int(last),
                               "created_us": now, "received_us": int(received)})
                deliveries.append({"report_id": ALERT_DELIVERY_PREFIX + event_id, "url": alert.webhook_url,
                                   "body": json.dumps(event, separators=(",", ":"), ensure_ascii=True),
                                   "created_at": created, "next_attempt_at": created})
        if state_rows:
            live_queries.write_alert_states(conn, pd.concat(state_rows, ignore_index=True))
        live_queries.insert_events(conn, events, deliveries)
        result.events = events
