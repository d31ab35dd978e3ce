"""The API keys table (SPEC 8): one row per key, holding only the SHA-256 of the secret.

Revocation sets `revoked_at` instead of deleting the row, so `api-key list` still shows who made
the reports and schedules that carry the key's id. Queries: `models/api_key_queries.py`.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, EpochMicros


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # hex SHA-256 of the secret; unique, so a presented key is found with one index lookup.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16))
    store_ids: Mapped[Optional[str]] = mapped_column(Text)  # JSON list, owners only
    created_at: Mapped[datetime] = mapped_column(EpochMicros)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(EpochMicros, index=True)

    def store_id_list(self) -> list[str] | None:
        return json.loads(self.store_ids) if self.store_ids is not None else None
