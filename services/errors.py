"""The service's one error hierarchy: what went wrong, and the HTTP status it answers with.

Services raise these (never Flask's errors); the HTTP layer maps every one in a single handler
(controllers/errors.py) and the CLI in a single wrapper, so no call site turns an exception into
a status by hand. Grouped like httpx's: bad input, not found, not allowed, unavailable.
"""
from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client can be told about; `status` is the HTTP status."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError, ValueError):
    """The request itself is wrong: a bad parameter, body or value (400)."""

    status = 400


class NotFound(ServiceError, LookupError):
    """The thing asked for does not exist, or is not visible to the caller (404)."""

    status = 404


class Gone(NotFound):
    """The thing existed but is no longer there (410): a finished report whose file was removed."""

    status = 410


class Conflict(ServiceError):
    """The request is valid but clashes with the current state (409)."""

    status = 409


class Unavailable(ServiceError):
    """A dependency (database, broker) does not answer: try again later (503)."""

    status = 503
