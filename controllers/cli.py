"""`flask --app app load-data` and `flask --app app report` (SPEC section 4)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from flask import Flask

from controllers.cli_errors import service_errors
from controllers.cli_output import echo_warnings, out_is_stdout, parse_options, start_command, write_frame, writing_to
from controllers.cli_ranges import range_options, register_range_cli
from runtime import runtime_of
from services.contract.reports import ReportRequest
from services.ingest.loader import Progress, load_directory
from services.ingest.parsing import format_instant
from services.ingest.results import LoadResult
from services.reports.builder import build


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
        with service_errors():
            runtime.ensure_schema()
            with _load_progress() as progress:
                result = load_directory(runtime.engine, directory, progress=progress,
                                        retention_days=runtime.config.poll_retention_days)
        echo_load_result(result)
        if not result.ok:
            raise click.ClickException("nothing could be loaded")

    @app.cli.command("report")
    @click.option("--as-of", "as_of", default=None, help="The report's now, ISO-8601 (default: latest poll).")
    @range_options
    @click.option("--store-id", "store_ids", multiple=True, help="Only these stores (repeatable).")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
                  help="Where to write the report CSV ('-' for standard output); the folder must exist.")
    def report(as_of: str | None, range_from: str | None, range_to: str | None, last_hours: str | None,
               store_ids: tuple[str, ...], out: Path) -> None:
        """Compute a report now, in the foreground, and write its CSV (a range report with
        --from/--to/--last-hours, SPEC 5)."""
        runtime = runtime_of(app)
        start_command(runtime)
        to_stdout = out_is_stdout(out)
        with service_errors():
            request = parse_options(runtime, ReportRequest, {
                "as_of": as_of, "from": range_from, "to": range_to, "last_hours": last_hours, "store_id": store_ids})
            runtime.ensure_schema()
            built = build(runtime.engine, request)
            with writing_to(out):
                write_frame(built.frame, out)
        echo_warnings(built.warnings)
        count = len(built.frame)
        click.echo(
            f"wrote {count} store{'' if count == 1 else 's'} to {'standard output' if to_stdout else out} "
            f"(now = {format_instant(built.now_us)}, "
            + ", ".join(f"{step} {seconds:.2f}s" for step, seconds in built.timings.items()) + ")",
            err=to_stdout,
        )
