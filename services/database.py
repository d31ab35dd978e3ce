"""The database's failures as the service's error: `Unavailable` with a line for an operator.

The HTTP layer answers any SQLAlchemy `DBAPIError` with 503; the CLI and the background loops
use this to say what failed (a missing MySQL database with the statement that creates it).
Driver errors from raw DB-API cursors reach here as `DBAPIError` too (models/db.py wraps them).
"""
from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from models.db import describe_database_error, redacted_url
from services.errors import Unavailable


class DatabaseUnavailable(Unavailable):
    """The database did not answer, or refused the work (503)."""


def database_unavailable(url: str, exc: DBAPIError) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"{redacted_url(url)}: {describe_database_error(url, exc, detail=True)}")
