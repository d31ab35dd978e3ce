"""`flask --app app incidents` and the range options of `report` (SPEC 5.2)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click
from flask import Flask

from controllers.cli_errors import service_errors
from controllers.cli_output import echo_warnings, out_is_stdout, parse_options, start_command, write_frame, writing_to
from runtime import runtime_of
from services.contract.reports import MAX_LAST_HOURS, ReportRequest
from services.reports.ranges import compute_range_data, incidents_frame


def range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--from, --to, --last-hours on a command (validated by the report contract, as the API's)."""
    command = click.option("--last-hours", "last_hours", default=None,
                           help=f"The range is the N whole hours before --to (1 to {MAX_LAST_HOURS}).")(command)
    command = click.option("--to", "range_to", default=None,
                           help="Range end, ISO-8601, excluded (default: the latest poll).")(command)
    return click.option("--from", "range_from", default=None, help="Range start, ISO-8601.")(command)


def register_range_cli(app: Flask) -> None:
    @app.cli.command("incidents")
    @range_options
    @click.option("--store-id", "store_ids", multiple=True, help="Only these stores (repeatable).")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
                  help="Where to write the incidents CSV ('-' for standard output); the folder must exist.")
    def incidents(range_from: str | None, range_to: str | None, last_hours: str | None,
                  store_ids: tuple[str, ...], out: Path) -> None:
        """Write every incident (maximal inactive business interval) of a range as CSV."""
        runtime = runtime_of(app)
        start_command(runtime)
        if range_from is None and last_hours is None:
            raise click.UsageError("give --from or --last-hours")
        to_stdout = out_is_stdout(out)
        with service_errors():
            request = parse_options(runtime, ReportRequest, {
                "from": range_from, "to": range_to, "last_hours": last_hours, "store_id": store_ids})
            runtime.ensure_schema()
            data = compute_range_data(runtime.engine, request)
            frame = incidents_frame(data)
            with writing_to(out):
                write_frame(frame, out)
        echo_warnings(data.warnings)
        click.echo(f"wrote {len(frame)} incidents of {len(data.store_ids)} stores to "
                   f"{'standard output' if to_stdout else out}", err=to_stdout)
