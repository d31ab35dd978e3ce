"""`flask --app app load-data` and `flask --app app report` (SPEC section 4)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from flask import Flask
from sqlalchemy.exc import DBAPIError

from models.db import describe_database_error, redacted_url
from services.ingest.loader import Progress, load_directory
from services.ingest.results import LoadResult
from services.ingest.parsing import format_instant, parse_instant
from services.reports.builder import build
from controllers.cli_output import echo_warnings, out_is_stdout, report_errors, start_command, wanted_store_ids, write_frame
from controllers.cli_ranges import range_options, range_spec, register_range_cli
from runtime import runtime_of


def echo_load_result(result: LoadResult) -> None:
    for f in result.files:
        click.echo(f"{f.kind:6} {f.status:9} {f.message}")
        for rejection in f.rejections:
            click.echo(f"    rejected {Path(f.path or '').name} line {rejection.line}: {rejection.reason}")
        if f.rejected > len(f.rejections):
            click.echo(f"    ... and {f.rejected - len(f.rejections)} more rejected rows")
        for warning in f.warnings:
            click.echo(f"    warning {Path(f.path or '').name} {warning}")
    click.echo(
        f"data version {result.data_version}, {'changed' if result.changed else 'no change'}, "
        f"{result.seconds:.2f}s"
    )
    if result.pruned:
        click.echo(f"pruned {result.pruned} polls older than the retention period (POLL_RETENTION_DAYS)")


@contextmanager
def _load_progress() -> Iterator[Progress | None]:
    """A progress bar on a terminal; nothing at all when stdout is a pipe or a log file."""
    if not sys.stdout.isatty():
        yield None
        return
    with click.progressbar(length=1000, label="loading") as bar:
        def advance(fraction: float, what: str) -> None:
            bar.label = what
            bar.update(int(fraction * 1000) - bar.pos)

        yield advance


def register_cli(app: Flask) -> None:
    register_range_cli(app)

    @app.cli.command("load-data")
    @click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
                  help="Folder with the CSV files (default: CSV_DIR).")
    def load_data(directory: Path | None) -> None:
        """Load store_status, menu_hours and timezones CSVs into the database once."""
        runtime = runtime_of(app)
        start_command(runtime)
        directory = directory or runtime.config.csv_dir
        if not directory.is_dir():
            raise click.ClickException(f"{directory} is not a directory")
        try:
            runtime.ensure_schema()
            with _load_progress() as progress:
                result = load_directory(runtime.engine, directory, progress=progress,
                                        retention_days=runtime.config.poll_retention_days)
        except DBAPIError as exc:
            raise click.ClickException(
                f"{redacted_url(runtime.config.database_url)}: "
                f"{describe_database_error(runtime.config.database_url, exc, detail=True)}"
            ) from None
        echo_load_result(result)
        if not result.ok:
            raise click.ClickException("nothing could be loaded")

    @app.cli.command("report")
    @click.option("--as-of", "as_of", default=None, help="The report's now, ISO-8601 (default: latest poll).")
    @range_options
    @click.option("--store-id", "store_ids", multiple=True, help="Only these stores (repeatable).")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
                  help="Where to write the report CSV ('-' for standard output); the folder must exist.")
    def report(as_of: str | None, range_from: str | None, range_to: str | None, last_hours: float | None,
               store_ids: tuple[str, ...], out: Path) -> None:
        """Compute a report now, in the foreground, and write its CSV (a range report with
        --from/--to/--last-hours, SPEC 5)."""
        start_command(runtime_of(app))
        to_stdout = out_is_stdout(out)
        as_of_us = None
        if as_of is not None:
            try:
                as_of_us = parse_instant(as_of)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--as-of") from None
        runtime = runtime_of(app)
        wanted = wanted_store_ids(runtime, store_ids)
        with report_errors(runtime, out):
            runtime.ensure_schema()
            spec = range_spec(range_from, range_to, last_hours, tuple(wanted or ()), as_of_us)
            built = build(runtime.engine, spec.to_params())
            write_frame(built.frame, out)
        echo_warnings(built.warnings)
        count = len(built.frame)
        click.echo(
            f"wrote {count} store{'' if count == 1 else 's'} to {'standard output' if to_stdout else out} "
            f"(now = {format_instant(built.now_us)}, "
            + ", ".join(f"{step} {seconds:.2f}s" for step, seconds in built.timings.items()) + ")",
            err=to_stdout,
        )
