"""Tables of live status and alerts (SPEC 10): what the evaluator keeps between its passes.

- `live_cursor` (one row, id 1): how far the evaluator has followed `poll_arrivals` (by batch
  number) and which CSV load it has folded in. The evaluator locks this row for its whole pass, so
  one pass runs at a time across every process, and advances it in the same transaction as the
  state it derived: every arrival is applied exactly once.
- `live_store_state`: per store, its latest poll and the trailing run of polls with that status,
  and the last status the evaluator saw (the store-transition log starts from it).
- `store_transitions`: every change of a store's live status (up, down, stale, closed), in id
  order: what `GET /events` streams, whichever process raised it.
- `alerts`, `alert_store_states` (per alert and store, the last state announced, only where it is
  not "up"), `alert_events` (one row per transition delivered; unique per alert, store, event
  and instant, and queued for delivery in the same transaction).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Boolean, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros

# Live statuses of a store (GET /stores/<id>/status) and the states an alert announces.
UP, DOWN, STALE, CLOSED, UNKNOWN = "up", "down", "stale", "closed", "unknown"
STATUS_CODES = {UNKNOWN: 0, UP: 1, DOWN: 2, STALE: 3, CLOSED: 4}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


class LiveCursor(Base):
    """One row (id 1): the last poll_arrivals batch and the last changed CSV load applied."""

    __tablename__ = "live_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    load_version: Mapped[int] = mapped_column(BigInteger, default=0)
    evaluated_us: Mapped[int] = mapped_column(BigInteger, default=0)  # service clock of the last pass
    pruned_us: Mapped[int] = mapped_column(BigInteger, default=0)  # last prune of old arrivals
    # A new random id per pass: a process that finds its own id here knows no other process has
    # written live_store_state since, so the copy it kept in memory is current.
    pass_id: Mapped[Optional[str]] = mapped_column(String(32))


class LiveStoreState(Base):
    """A store's latest poll, the run of same-status polls ending with it, its last live status."""

    __tablename__ = "live_store_state"

    store_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_ts_us: Mapped[int] = mapped_column(BigInteger)
    last_active: Mapped[bool] = mapped_column(Boolean)
    run_len: Mapped[int] = mapped_column(Integer)  # polls in the trailing run (this poll included)
    run_start_us: Mapped[int] = mapped_column(BigInteger)  # instant of the run's first poll
    received_us: Mapped[int] = mapped_column(BigInteger)  # service clock when the latest poll arrived
    status: Mapped[int] = mapped_column(SmallInteger, default=0)  # STATUS_CODES, as last evaluated
    status_since_us: Mapped[Optional[int]] = mapped_column(BigInteger)


class StoreTransition(Base):
    """A change of a store's live status; the id orders the log that `GET /events` follows."""

    __tablename__ = "store_transitions"
    __table_args__ = (Index("ix_store_transitions_created", "created_us"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    store_key: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    at_us: Mapped[int] = mapped_column(BigInteger)
    since_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_poll_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)


class Alert(Base):
    """A webhook to tell when stores go down, stale or up (SPEC 10)."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    webhook_url: Mapped[str] = mapped_column(Text)
    store_ids: Mapped[Optional[str]] = mapped_column(Text)  # JSON list; None = every store
    confirm_polls: Mapped[int] = mapped_column(Integer)
    recover_polls: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(EpochMicros)
    api_key_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    # False until the evaluator recorded the states of its stores at creation (no event for them).
    baselined: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertStoreState(Base):
    """What an alert last announced for a store, kept only when that is not "up"."""

    __tablename__ = "alert_store_states"

    alert_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    store_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[int] = mapped_column(SmallInteger)  # STATUS_CODES: DOWN or STALE
    closed: Mapped[bool] = mapped_column(Boolean, default=False)  # the store closed since then


class AlertEvent(Base):
    """One transition announced by one alert; its webhook is the delivery keyed `alert:<id>`."""

    __tablename__ = "alert_events"
    __table_args__ = (
        UniqueConstraint("alert_id", "store_key", "event", "at_us", name="uq_alert_events_transition"),
        Index("ix_alert_events_alert", "alert_id", "created_us"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(32))
    store_key: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))
    at_us: Mapped[int] = mapped_column(BigInteger)
    since_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_poll_us: Mapped[Optional[int]] = mapped_column(BigInteger)
    created_us: Mapped[int] = mapped_column(BigInteger)
    received_us: Mapped[Optional[int]] = mapped_column(BigInteger)  # arrival of the poll behind it
