"""Planned closures (SPEC 9): spans of a store's business time that are neither up nor down."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros

CSV_SOURCE, API_SOURCE = "csv", "api"  # a load of closures.csv replaces only its own rows


class Closure(Base):
    """One closure [start_us, end_us) of one store, in UTC epoch microseconds."""

    __tablename__ = "closures"
    __table_args__ = (Index("ix_closures_store_start", "store_key", "start_us"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the closure_id
    store_key: Mapped[int] = mapped_column(Integer)
    start_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[Optional[str]] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(EpochMicros)
    api_key_id: Mapped[Optional[str]] = mapped_column(String(64))
    # A closures.csv row's local wall-clock bounds (seconds since 1970-01-01 as if the wall time were
    # UTC): the UTC bounds are converted again with the store's zone whenever time zones load.
    # None for closures made through the API, which name fixed instants.
    local_start_s: Mapped[Optional[int]] = mapped_column(BigInteger)
    local_end_s: Mapped[Optional[int]] = mapped_column(BigInteger)
