"""What the loader left in the database, as plain Python sets and dicts, for assertions."""
from __future__ import annotations

from sqlalchemy import text


def polls_in_db(runtime) -> set[tuple[str, int, bool]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, p.ts_us, p.active FROM polls p JOIN stores s ON s.id = p.store_key"
        )).all()
    return {(r[0], int(r[1]), bool(r[2])) for r in rows}


def hours_in_db(runtime) -> set[tuple[str, int, int, int]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, h.day, h.start_s, h.end_s FROM business_hours h JOIN stores s ON s.id = h.store_key"
        )).all()
    return {(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows}


def zones_in_db(runtime) -> dict[str, str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.store_id, z.tz FROM store_timezones z JOIN stores s ON s.id = z.store_key"
        )).all()
    return {r[0]: r[1] for r in rows}
