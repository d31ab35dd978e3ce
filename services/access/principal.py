"""Who is asking, and what each role may see: the rules every service applies (SPEC 8).

Scoping lives here, not in the controllers, so that every way into a service (HTTP, the
scheduler, a future CLI) narrows an owner to its own stores and its own reports the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from services.errors import ServiceError

ADMIN, REPORTER, OWNER, INGEST = "admin", "reporter", "owner", "ingest"
ROLES = (ADMIN, REPORTER, OWNER, INGEST)


class AccessError(ServiceError):
    """Base of the access errors; `status` is the HTTP status (the HTTP layer adds
    `WWW-Authenticate` to a 401)."""

    status = 403


class Unauthenticated(AccessError):
    """No key, or a key that is unknown or revoked."""

    status = 401


class Forbidden(AccessError):
    """A valid key asked for something its role or its stores do not cover."""

    status = 403


@dataclass(frozen=True)
class Principal:
    """The caller of one request. `key_id` None = auth is off and no key was presented."""

    key_id: str | None
    role: str
    store_ids: frozenset[str] | None = None  # owners only
    name: str = ""

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


# What a request is when AUTH_REQUIRED is false and no key is sent: the whole service, as before.
ANONYMOUS = Principal(key_id=None, role=ADMIN, name="anonymous")

# The permissions of each role: reporter and owner may use the report, availability, schedule and
# closure (SPEC 9) API; admin alone may use what is marked "admin" (operator endpoints); an ingest key (the
# platform's poll feed, SPEC 10) may send polls and nothing else, so a leaked feed key reads nothing.
ACTIONS = ("reports", "availability", "schedules", "closures", "admin", "ingest")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset(ACTIONS),
    REPORTER: frozenset({"reports", "availability", "schedules", "closures"}),
    OWNER: frozenset({"reports", "availability", "schedules", "closures"}),
    INGEST: frozenset({"ingest"}),
}


def require(principal: Principal, action: str) -> None:
    """Raise Forbidden unless the principal's role includes `action`."""
    if action not in ROLE_ACTIONS.get(principal.role, frozenset()):
        raise Forbidden(f"the {principal.role} role may not use {action}")


def scope_store_ids(principal: Principal, requested: Iterable[str] | None) -> tuple[str, ...] | None:
    """The stores a report or schedule of this principal covers.

    None means "every store" for admin and reporter; an owner always gets an explicit list:
    its own stores when it named none, and Forbidden when it named one outside them.
    """
    if not principal.is_owner:
        return tuple(requested) if requested is not None else None
    own = principal.store_ids or frozenset()
    if requested is None:
        return tuple(sorted(own))
    requested = tuple(requested)
    outside = [s for s in requested if s not in own]
    if outside:
        shown = ", ".join(repr(s) for s in outside[:3]) + (" …" if len(outside) > 3 else "")
        raise Forbidden(f"this key may not report on store(s) {shown}")
    return requested


def may_see_made_by(principal: Principal, maker_key_id: str | None) -> bool:
    """Whether a report or schedule made with key `maker_key_id` is visible to the principal."""
    return not principal.is_owner or (maker_key_id is not None and maker_key_id == principal.key_id)


def listing_key_filter(principal: Principal) -> str | None:
    """The key id a listing of reports or schedules must be restricted to (None = all)."""
    return principal.key_id if principal.is_owner else None


def may_see_store(principal: Principal, store_id: str) -> bool:
    return not principal.is_owner or store_id in (principal.store_ids or frozenset())

