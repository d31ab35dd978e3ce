"""The CLI's one error wrapper: a service error becomes its message and a non-zero exit.

Bad input (InvalidInput) is a usage error (exit 2, as click's own); anything else the service
can explain (not found, unavailable, a database that does not answer) exits 1 with its message.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import click
from sqlalchemy.exc import DBAPIError

from runtime import runtime_of
from services.database import database_unavailable
from services.errors import InvalidInput, ServiceError


@contextmanager
def service_errors() -> Iterator[None]:
    try:
        yield
    except InvalidInput as exc:
        raise click.UsageError(exc.message) from None
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    except DBAPIError as exc:
        raise click.ClickException(database_unavailable(runtime_of().config.database_url, exc).message) from None
