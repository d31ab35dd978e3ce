"""Webhook deliveries and their attempts: the state that lets a retry survive a restart.

A delivery is keyed by its subject (`report_id`): a report id, or `alert:<event id>` for an alert
event (SPEC 10), so each is sent once. A delivery holds the exact body to send (the signature is
computed at send time, so no secret is stored); a process claims a due delivery with a conditional
UPDATE (a lease), so two API processes never send the same attempt twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Sequence

from sqlalchemy import Engine, ForeignKey, Index, Integer, SmallInteger, String, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros
from models import db
from models.tables import Report

PENDING, DELIVERED, GAVE_UP = "pending", "delivered", "gave_up"


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The subject: a report id (one webhook per report) or "alert:<event id>" (one per alert event).
    report_id: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # ASCII JSON: the exact bytes that are signed and sent
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(EpochMicros)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(EpochMicros)
    lease_until: Mapped[Optional[datetime]] = mapped_column(EpochMicros)


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    report_id: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(EpochMicros)
    http_status: Mapped[Optional[int]] = mapped_column(SmallInteger)
    error: Mapped[Optional[str]] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)


def enqueue(engine: Engine, report_id: str, url: str, body: str, now: datetime) -> bool:
    """Queue the report's webhook; False if it was already queued (a report is announced once)."""
    try:
        with db.write_session(engine) as s:
            s.execute(insert(Delivery).values(
                report_id=report_id, url=url, body=body, status=PENDING, attempts=0, created_at=now,
                next_attempt_at=now,
            ))
    except IntegrityError:
        return False
    return True


def unannounced_reports(engine: Engine, statuses: Sequence[str], finished_since: datetime,
                        limit: int = 100) -> list[str]:
    """Reports finished since `finished_since` in one of `statuses`, with a webhook but no delivery:
    the process that finished them could not queue it (the database was away at that moment)."""
    with db.read_session(engine) as s:
        return list(s.scalars(
            select(Report.id)
            .outerjoin(Delivery, Delivery.report_id == Report.id)
            .where(Report.webhook_url.is_not(None), Report.status.in_(list(statuses)),
                   Report.finished_at >= finished_since, Delivery.id.is_(None))
            .limit(limit)
        ).all())


def claim_due(engine: Engine, now: datetime, lease: timedelta, limit: int = 20) -> list[Delivery]:
    """Deliveries due now that this caller alone may attempt until the lease ends."""
    with db.read_session(engine) as s:
        candidates = s.scalars(
            select(Delivery)
            .where(Delivery.status == PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        ).all()
    claimed: list[Delivery] = []
    for delivery in candidates:
        if delivery.lease_until is not None and delivery.lease_until > now:
            continue
        with db.write_session(engine) as s:
            won = s.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.status == PENDING,
                       Delivery.attempts == delivery.attempts,
                       (Delivery.lease_until.is_(None)) | (Delivery.lease_until <= now))
                .values(lease_until=now + lease)
            ).rowcount
        if won:
            claimed.append(delivery)
    return claimed


def record_attempt(
    engine: Engine, delivery: Delivery, *, attempted_at: datetime, http_status: int | None, error: str | None,
    duration_ms: int, next_attempt_at: datetime | None, delivered: bool,
) -> None:
    """Log one attempt and release the lease: delivered, retried at `next_attempt_at`, or given up."""
    status = DELIVERED if delivered else (PENDING if next_attempt_at is not None else GAVE_UP)
    with db.write_session(engine) as s:
        s.add(DeliveryAttempt(
            delivery_id=delivery.id, report_id=delivery.report_id, attempted_at=attempted_at,
            http_status=http_status, error=error[:500] if error else None, duration_ms=duration_ms,
        ))
        s.execute(
            update(Delivery).where(Delivery.id == delivery.id).values(
                status=status, attempts=Delivery.attempts + 1, lease_until=None,
                next_attempt_at=next_attempt_at if status == PENDING else None,
            )
        )


def of_subjects(engine: Engine, keys: Sequence[str]) -> tuple[dict[str, Delivery], dict[str, list[DeliveryAttempt]]]:
    """The deliveries of several subjects and their attempts (oldest first), by subject key."""
    found: dict[str, Delivery] = {}
    attempts: dict[str, list[DeliveryAttempt]] = {}
    keys = list(keys)
    with db.read_session(engine) as s:
        for lo in range(0, len(keys), 1000):
            part = keys[lo:lo + 1000]
            found.update({d.report_id: d for d in s.scalars(select(Delivery).where(Delivery.report_id.in_(part)))})
            for attempt in s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.report_id.in_(part))
                                     .order_by(DeliveryAttempt.id)):
                attempts.setdefault(attempt.report_id, []).append(attempt)
    return found, attempts


def of_report(engine: Engine, report_id: str) -> tuple[Delivery | None, Sequence[DeliveryAttempt]]:
    with db.read_session(engine) as s:
        delivery = s.scalars(select(Delivery).where(Delivery.report_id == report_id)).first()
        attempts = s.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.report_id == report_id).order_by(DeliveryAttempt.id)
        ).all()
    return delivery, attempts
