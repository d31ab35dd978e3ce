"""`flask --app app incidents` and the range options of `report` (SPEC 5.2)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click
from flask import Flask

from controllers.cli_output import echo_warnings, out_is_stdout, report_errors, start_command, wanted_store_ids, write_frame
from runtime import runtime_of
from services.ingest.parsing import parse_instant
from services.reports.ranges import compute_range_data, incidents_frame
from services.reports.spec import InvalidReport, ReportSpec


def range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--from, --to, --last-hours on a command."""
    command = click.option("--last-hours", "last_hours", type=float, default=None,
                           help="The range is the N hours before --to.")(command)
    command = click.option("--to", "range_to", default=None,
                           help="Range end, ISO-8601, excluded (default: the latest poll).")(command)
    return click.option("--from", "range_from", default=None, help="Range start, ISO-8601.")(command)


def _instant(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def range_spec(range_from: str | None, range_to: str | None, last_hours: float | None,
               store_ids: tuple[str, ...], as_of_us: int | None = None) -> ReportSpec:
    """The report the options describe, validated (a bad range is a usage error, exit 2)."""
    hours: float | None = last_hours
    if hours is not None and float(hours).is_integer():
        hours = int(hours)
    spec = ReportSpec(store_ids=tuple(store_ids) or None, as_of_us=as_of_us,
                      from_us=_instant(range_from, "--from"), to_us=_instant(range_to, "--to"), last_hours=hours)
    try:
        return spec.validate()
    except InvalidReport as exc:
        raise click.UsageError(str(exc)) from None


def register_range_cli(app: Flask) -> None:
    @app.cli.command("incidents")
    @range_options
    @click.option("--store-id", "store_ids", multiple=True, help="Only these stores (repeatable).")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
                  help="Where to write the incidents CSV ('-' for standard output); the folder must exist.")
    def incidents(range_from: str | None, range_to: str | None, last_hours: float | None,
                  store_ids: tuple[str, ...], out: Path) -> None:
        """Write every incident (maximal inactive business interval) of a range as CSV."""
        start_command(runtime_of(app))
        if range_from is None and last_hours is None:
            raise click.UsageError("give --from or --last-hours")
        to_stdout = out_is_stdout(out)
        runtime = runtime_of(app)
        spec = range_spec(range_from, range_to, last_hours, tuple(wanted_store_ids(runtime, store_ids) or ()))
        with report_errors(runtime, out):
            runtime.ensure_schema()
            data = compute_range_data(runtime.engine, spec)
            frame = incidents_frame(data)
            write_frame(frame, out)
        echo_warnings(data.warnings)
        click.echo(f"wrote {len(frame)} incidents of {len(data.store_ids)} stores to "
                   f"{'standard output' if to_stdout else out}", err=to_stdout)
