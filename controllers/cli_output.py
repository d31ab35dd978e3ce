"""What the report-writing commands share: checking `--out`/`--store-id`, writing the CSV, and
turning service errors into click errors (exit 1, or 2 for a usage error)."""
from __future__ import annotations

import atexit
import gc
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import pandas as pd
from sqlalchemy.exc import DBAPIError

from models.db import describe_database_error
from runtime import Runtime
from services.log_format import configure_logging
from services.reports.builder import NoDataError, write_report_csv, write_report_rows
from services.reports.spec import InvalidReport
from services.reports.store_ids import InvalidStoreId, clean_store_ids


def start_command(runtime: Runtime) -> None:
    """Log lines on stderr; the libraries' objects kept from the garbage collector; the database's
    connections closed when the command ends.

    The hundreds of thousands of objects that importing pandas, SQLAlchemy and Flask made live
    as long as the process: frozen, the collector stops walking them during the command, and
    frozen again at exit, it skips its last walk (a quarter of a second, a fifth of a small
    report's run, only to free memory the operating system takes back anyway). They are thawed
    when the command ends, so that a process running several commands (the tests) keeps
    collecting its garbage.
    """
    if not logging.getLogger().handlers:
        configure_logging(runtime.config.log_format)
    context = click.get_current_context()
    gc.freeze()
    context.call_on_close(gc.unfreeze)
    atexit.unregister(gc.freeze)  # once, however many commands a process runs
    atexit.register(gc.freeze)
    # Closed explicitly (frozen objects are never finalised): SQLite's last connection then
    # folds its write-ahead log back into the database file and removes it.
    context.call_on_close(runtime.engine.dispose)


def out_is_stdout(out: Path) -> bool:
    """`-` is standard output; any other path needs an existing folder (never created)."""
    if str(out) == "-":
        return True
    if not out.parent.is_dir():
        raise click.BadParameter(f"folder {out.parent} does not exist", param_hint="--out")
    return False


def wanted_store_ids(runtime: Runtime, store_ids: tuple[str, ...]) -> list[str] | None:
    try:
        return clean_store_ids(store_ids, runtime.config.max_store_ids) if store_ids else None
    except InvalidStoreId as exc:
        raise click.BadParameter(str(exc), param_hint="--store-id") from None


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    if str(out) == "-":
        write_report_rows(frame, sys.stdout)
    else:
        write_report_csv(frame, out)


@contextmanager
def report_errors(runtime: Runtime, out: Path) -> Iterator[None]:
    try:
        yield
    except InvalidReport as exc:
        raise click.UsageError(str(exc)) from None
    except NoDataError as exc:
        raise click.ClickException(str(exc)) from None
    except DBAPIError as exc:
        raise click.ClickException(describe_database_error(runtime.config.database_url, exc, detail=True)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None


def echo_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
