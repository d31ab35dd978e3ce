"""Declarative base and the column types shared by every table."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import BigInteger, Dialect, String
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# Store ids are opaque text compared byte for byte: MySQL's default collations would fold case
# and treat 'a' and 'A' as the same store.
StoreIdString = String(255).with_variant(String(255, collation="utf8mb4_bin"), "mysql", "mariadb")


def datetime_to_micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def micros_to_datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class Base(DeclarativeBase):
    pass


class EpochMicros(TypeDecorator[datetime]):
    """An aware UTC datetime stored as integer epoch microseconds.

    DATETIME drops microseconds on MySQL unless declared DATETIME(6) and loses the zone on
    SQLite; an integer round-trips identically on both.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> int | None:
        return None if value is None else datetime_to_micros(value)

    def process_result_value(self, value: int | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else micros_to_datetime(int(value))
