"""What the report-writing commands share: reading their options into the report contract,
checking `--out`, writing the CSV (errors of the service itself: controllers/cli_errors.py)."""
from __future__ import annotations

import atexit
import gc
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TypeVar

import click
import pandas as pd

from runtime import Runtime
from services.contract import Contract, parse
from services.errors import InvalidInput
from services.log_format import configure_logging
from services.reports.builder import write_report_csv, write_report_rows

Model = TypeVar("Model", bound=Contract)


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


def parse_options(runtime: Runtime, model: type[Model], options: dict[str, Any]) -> Model:
    """The options given (None or an empty tuple: not given) as the interface's model, validated
    as the API validates the same parameters; InvalidInput names the options (`--as-of`), and
    becomes a usage error through cli_errors."""
    given = {name: value for name, value in options.items() if value is not None and value != ()}
    try:
        return parse(model, given, context={"max_store_ids": runtime.config.max_store_ids})
    except InvalidInput as exc:
        parts = [_option_named(part, options) for part in exc.message.split("; ")]
        raise InvalidInput("; ".join(parts)) from None


def _option_named(problem: str, options: dict[str, Any]) -> str:
    """"as_of: invalid …" as "--as-of: invalid …" (a problem that starts with a parameter's name)."""
    for name in options:
        if problem.startswith(f"{name}:"):
            return "--" + name.replace("_", "-") + problem[len(name):]
    return problem


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    if str(out) == "-":
        write_report_rows(frame, sys.stdout)
    else:
        write_report_csv(frame, out)


@contextmanager
def writing_to(out: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None


def echo_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
