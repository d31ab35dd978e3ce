"""API keys: made once, shown once, stored as a SHA-256 hash, checked on every request.

The tokens carry 256 random bits, so a fast hash is enough (nothing to brute-force), and every
request reads the table: a revocation is seen by the next request in every process.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import Engine

from models import api_key_queries
from models.api_keys import ApiKey
from services.access.principal import OWNER, ROLES, Principal
from services.contract.store_ids import clean_store_id
from services.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_PRESENTED_KEY_LENGTH = 256


class InvalidKeyRequest(InvalidInput):
    """Invalid parameters for a new key."""


@dataclass(frozen=True)
class KeyInfo:
    """A key as operators see it: never the secret."""

    id: str
    name: str
    role: str
    store_ids: tuple[str, ...] | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    ids = row.store_id_list()
    return KeyInfo(row.id, row.name, row.role, tuple(ids) if ids is not None else None, row.created_at, row.revoked_at)


def create_key(engine: Engine, role: str, store_ids: Iterable[str] = (), name: str = "") -> tuple[KeyInfo, str]:
    """Make a key; returns its description and the secret, which is never stored or shown again."""
    role = role.strip().lower()
    if role not in ROLES:
        raise InvalidKeyRequest(f"role must be one of {', '.join(ROLES)}")
    ids = list(dict.fromkeys(clean_store_id(s) for s in store_ids if str(s).strip()))
    if role == OWNER and not ids:
        raise InvalidKeyRequest("an owner key needs at least one --store-id")
    if role != OWNER and ids:
        raise InvalidKeyRequest(f"--store-id is only for owner keys; a {role} key covers every store")
    secret = secrets.token_urlsafe(32)
    row = api_key_queries.insert(
        engine, secrets.token_hex(6), hash_key(secret), name.strip(), role, ids if role == OWNER else None
    )
    log.info("API key %s created (role %s, name %r)", row.id, role, row.name)
    return _info(row), secret


def list_keys(engine: Engine) -> list[KeyInfo]:
    return [_info(row) for row in api_key_queries.all_keys(engine)]


def revoke_key(engine: Engine, key_id: str) -> bool:
    revoked = api_key_queries.revoke(engine, key_id.strip())
    if revoked:
        log.info("API key %s revoked", key_id)
    return revoked


def has_active_keys(engine: Engine) -> bool:
    return api_key_queries.count_active(engine) > 0


def _principal(row: ApiKey) -> Principal:
    ids = row.store_id_list()
    return Principal(key_id=row.id, role=row.role, store_ids=frozenset(ids) if ids is not None else None, name=row.name)


def authenticate(engine: Engine, presented: str) -> Principal | None:
    """The principal of an active key, or None for an unknown or revoked one."""
    if not presented or len(presented) > MAX_PRESENTED_KEY_LENGTH:
        return None
    row = api_key_queries.find_active_by_hash(engine, hash_key(presented))
    return _principal(row) if row is not None else None

