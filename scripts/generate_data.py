"""Generate realistic input CSVs for the store-monitor service.

Why this exists
---------------
The real Loop take-home data set is ~1.8M polls for ~14k stores, but only its
business-hours and time-zone files survive in full; the public copies of ``store_status.csv``
are tiny and biased (all ``active``).  Tests, the committed sample in
``csv_files/`` and the benchmarks need poll data that looks like the real
thing, at any scale, reproducibly.  This script writes the three input files of
SPEC section 1:

* ``store_status.csv``  ``store_id,status,timestamp_utc``
* ``menu_hours.csv``    ``store_id,dayOfWeek,start_time_local,end_time_local``
* ``timezones.csv``     ``store_id,timezone_str``

Stores, hours and zones are either taken from a real data directory
(``--real-dir``; the day column may be ``day``, ``dayOfWeek`` or
``day_of_week``; extra stores beyond the real ones are clones of real stores
under new ids of the same style; ~1% of the stores lose their hours rows and
~1% their zone row) or synthesised (integer-like ids of 15-19 digits mixed with
UUIDs, a mix of zones, 24x7 stores, day / overnight / split / overlapping
hours, ``24:00:00`` and ``00:00:00`` ends, ``start == end``, closed days,
stores without a zone row).

Polls: one per store per hour at the hour plus a few minutes of jitter over
``--days`` days ending at ``--end``; about 2% are lost at random and each store
also has poller gaps (runs of 1-30 missing hours, like the real data) so that
the full 2023 store set gives about 1.8M rows for 7.75 days, as the original
did.  Status follows a per-store two-state process (about 3% per hour to go
down, down runs of 1-6 h; ~7% of stores are flaky, ~0.5% have a multi-day
outage).  Timestamps are written like the real file
(``2023-01-22 12:09:39.388884 UTC``, trailing zeros of the fraction dropped as
BigQuery does) and the rows are shuffled.  The latest poll is exactly ``--end``
so a report's "now" is known.

Everything that defines the *data* (stores, hours, zones, poll instants and
statuses) depends only on the seed and the size options, never on
``--variants`` or ``--bad-rows``.  Therefore:

* ``--variants`` only changes how values are *spelled* (other accepted
  timestamp formats including a non-UTC offset for the same instant, status in
  odd case/with blanks, ``HH:MM``, ``24:00`` vs ``00:00`` ends, quoted fields,
  BOM, CRLF): a correct loader gives identical data with and without it.
* ``--bad-rows K`` adds K rejectable rows (unknown status, bad timestamp, day
  outside 0-6, bad time, empty store_id) at random lines of the three files
  (``generate`` returns their count and line numbers per file), plus
  duplicate polls (exact copies, and ``active`` copies of ``inactive`` polls,
  which the "inactive wins" rule resolves to the original) and unknown zone
  names only for stores whose zone is already the default (none, or
  ``America/Chicago``): a correct loader gives the same report as for the clean
  files.

The generator is vectorised with numpy (no Python loop per store or per
poll): the whole 2023 store set for 7.75 days (~1.8M rows) takes a few
seconds.

Usage::

    python scripts/generate_data.py --out DIR [--stores N] [--days D]
        [--end ISO] [--real-dir DIR] [--seed S] [--variants] [--bad-rows K]
        [--drop-hours F] [--drop-zones F]
"""

from __future__ import annotations


import argparse
import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the datagen package beside this script

from datagen.api import _to_utc, generate
from datagen.settings import DEFAULT_DAYS, DEFAULT_END, UNKNOWN_ZONES  # noqa: F401
from datagen.text import _format_datetimes, _from_buf  # noqa: F401

log = logging.getLogger("generate_data")


def _parse_end(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    if value.upper().endswith(" UTC"):
        value = value[:-4]
    return _to_utc(datetime.fromisoformat(value))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--stores", type=int, default=None, help="number of stores (default: all real / 1000)")
    parser.add_argument("--days", type=float, default=DEFAULT_DAYS, help="days of polls (default 7.75)")
    parser.add_argument("--end", type=_parse_end, default=DEFAULT_END, help="last poll instant, ISO-8601")
    parser.add_argument("--real-dir", type=Path, default=None, help="dir with real menu_hours.csv/timezones.csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", action="store_true", help="mix in the other accepted spellings")
    parser.add_argument("--bad-rows", type=int, default=0, help="invalid rows to add over the three files")
    parser.add_argument("--drop-hours", type=float, default=0.01, help="share of real stores made 24x7")
    parser.add_argument("--drop-zones", type=float, default=0.01, help="share of real stores without zone")
    parser.add_argument("--fleet", type=float, default=None,
                        help="with --real-dir: this many times the real stores (e.g. 10: ~135k stores), "
                             "the extra ones with real hours and zones under new ids")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    try:
        result = generate(
            args.out,
            args.stores,
            args.days,
            args.end,
            args.real_dir,
            args.seed,
            args.variants,
            args.bad_rows,
            drop_hours=args.drop_hours,
            drop_zones=args.drop_zones,
            fleet=args.fleet,
        )
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.out}: {result['stores']} stores, {result['store_status_rows']} status rows, "
            f"{result['menu_hours_rows']} hours rows, {result['timezones_rows']} zone rows, "
            f"bad={sum(result['bad_rows'].values())} in {elapsed:.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
