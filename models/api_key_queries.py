"""Queries on the API keys table: create, find by hash, list, revoke."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Sequence

from sqlalchemy import Engine, func, select, update

from models.api_keys import ApiKey
from models.db import read_session, write_session


def insert(engine: Engine, key_id: str, key_hash: str, name: str, role: str, store_ids: list[str] | None) -> ApiKey:
    row = ApiKey(
        id=key_id, key_hash=key_hash, name=name, role=role,
        store_ids=json.dumps(store_ids) if store_ids is not None else None,
        created_at=datetime.now(timezone.utc), revoked_at=None,
    )
    with write_session(engine) as s:
        s.add(row)
    return row


def find_active_by_hash(engine: Engine, key_hash: str) -> ApiKey | None:
    with read_session(engine) as s:
        return s.scalars(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        ).first()


def all_keys(engine: Engine) -> Sequence[ApiKey]:
    with read_session(engine) as s:
        return s.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()


def count_active(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))) or 0)


def revoke(engine: Engine, key_id: str) -> bool:
    """True when an active key was revoked now; False when unknown or already revoked."""
    with write_session(engine) as s:
        result = s.execute(
            update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(timezone.utc))
        )
        return bool(result.rowcount)
