"""Tables of live ingestion (SPEC 10): the sequence that orders live writes, and their arrivals.

Every live write (`POST /polls`, the broker consumer) runs in one transaction that
1. bumps `live_sequence` (row 1) by one: the row lock serialises live writers, so batch numbers
   commit in order and a reader that sees batch N knows every batch below N is committed;
2. inserts its polls (idempotent; `inactive` wins a conflict);
3. appends each poll that changed the data to `poll_arrivals` with that batch number.
Readers follow `poll_arrivals` by batch number: the alert evaluator (its own cursor) and the
report-inputs cache (which extends a cached read with the batches after it, not a cold read).
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class LiveSequence(Base):
    """One row (id 1): the number of the last committed live batch (0 before any)."""

    __tablename__ = "live_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class PollArrival(Base):
    """A poll as it arrived live, tagged with its batch number (`seq`)."""

    __tablename__ = "poll_arrivals"
    __table_args__ = (Index("ix_poll_arrivals_seq", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    store_key: Mapped[int] = mapped_column(Integer)
    ts_us: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean)
    received_us: Mapped[int] = mapped_column(BigInteger)  # service clock at commit: alert latency
