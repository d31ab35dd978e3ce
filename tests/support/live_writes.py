"""Live writes for the live-status tests, by the rules of contract 3 (models/live_tables.py):
bump live_sequence first, write the polls (inactive wins a conflict), append one poll_arrivals row
per poll that changed the data. Lets the evaluator's tests run without the HTTP or broker path."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from sqlalchemy import Engine, func, insert, select, text, update

from models.db import write_tx
from models.live_tables import PollArrival
from models.tables import Poll, Store


def us(text_instant: str) -> int:
    """`2023-03-12T07:00:00` (UTC) → epoch µs."""
    moment = datetime.fromisoformat(text_instant.replace("Z", "")).replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def ensure_store(engine: Engine, store_id: str) -> int:
    with write_tx(engine) as conn:
        key = conn.execute(select(Store.id).where(Store.store_id == store_id)).scalar()
        if key is None:
            key = conn.execute(insert(Store).values(store_id=store_id)).inserted_primary_key[0]
        return int(key)


def write_batch(engine: Engine, polls: Sequence[tuple[str, int, bool]], received_us: int | None = None) -> int:
    """Write (store_id, ts_us, active) polls as one live batch; returns its batch number."""
    received = received_us if received_us is not None else int(datetime.now(timezone.utc).timestamp() * 1e6)
    keys = {store_id: ensure_store(engine, store_id) for store_id, _, _ in polls}
    with write_tx(engine) as conn:
        if conn.execute(text("SELECT COUNT(*) FROM live_sequence")).scalar() == 0:
            conn.execute(text("INSERT INTO live_sequence (id, value) VALUES (1, 1)"))
        else:
            conn.execute(text("UPDATE live_sequence SET value = value + 1 WHERE id = 1"))
        seq = int(conn.execute(text("SELECT value FROM live_sequence WHERE id = 1")).scalar_one())
        for store_id, ts, active in polls:
            key = keys[store_id]
            stored = conn.execute(select(Poll.active).where(Poll.store_key == key, Poll.ts_us == ts)).first()
            if stored is None:
                conn.execute(insert(Poll).values(ts_us=ts, store_key=key, active=active))
            elif stored.active and not active:
                conn.execute(update(Poll).where(Poll.store_key == key, Poll.ts_us == ts).values(active=False))
            else:
                continue
            conn.execute(insert(PollArrival).values(seq=seq, store_key=key, ts_us=ts, active=active,
                                                    received_us=received))
            first = conn.execute(select(Store.first_poll_us).where(Store.id == key)).scalar()
            if first is None or ts < first:
                conn.execute(update(Store).where(Store.id == key).values(first_poll_us=ts))
    return seq


def arrivals_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(PollArrival)).scalar_one())
