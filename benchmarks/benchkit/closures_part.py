"""Issue 20 (SPEC 9): what planned closures cost the reports.

The data of the ranges part (every real 2023 store, 31 days of polls) is loaded once. Then, in
rounds: the standard report and the 30-day range run without closures; `closures.csv` gives every
store one closure (a whole local public-holiday day, the holidays taken in turn) and the same two
reports run again; a `closures.csv` of its header alone takes the closures away for the next
round. Same polls, hours and zones, and the two states alternate, so a busy machine slows both
alike: the ratio is the cost of the closures alone. Each report is a fresh process; each figure
the best of --repeat rounds (at least two).
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from benchkit.measure import run_measured
from benchkit.partkit import DataSet, PartRow, PartRun, Target, status_mb
from benchkit.settings import StepError, log

LIMIT = 1.2  # issue 20: within 1.2x of the same data without closures
# Public holidays inside the generated data's month (its newest poll is 2023-01-25): one per
# store in turn, so about a third of the stores are closed for a day of the standard report's week.
HOLIDAYS = (
    (dt.date(2023, 1, 2), "New Year's Day (observed)"),
    (dt.date(2023, 1, 16), "Martin Luther King Jr. Day"),
    (dt.date(2023, 1, 23), "Lunar New Year"),
)


def write_closures_csv(data: DataSet, folder: Path) -> int:
    """closures.csv (alone) in `folder`: one whole local holiday for every store of the data."""
    stores: set[str] = set()
    for name in ("menu_hours.csv", "timezones.csv"):
        with open(data.dir / name, newline="", encoding="utf-8-sig") as fh:
            stores.update(row["store_id"].strip() for row in csv.DictReader(fh))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "closures.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["store_id", "start_local", "end_local", "reason"])
        for index, store in enumerate(sorted(stores)):
            day, name = HOLIDAYS[index % len(HOLIDAYS)]
            writer.writerow([store, f"{day} 00:00", f"{day + dt.timedelta(days=1)} 00:00", name])
    return len(stores)


def _business_hours(report_csv: Path) -> float:
    with open(report_csv, newline="", encoding="utf-8") as fh:
        return sum(float(row["business_hours"] or 0) for row in csv.DictReader(fh))


def _work_seconds(notes: str) -> float | None:
    """The report's own read + compute seconds, from the CLI's last line (via report_cli's notes)."""
    split = re.search(r"read ([\d.]+) s, compute ([\d.]+) s", notes)
    if split:
        return float(split.group(1)) + float(split.group(2))
    total = re.search(r"read \+ compute ([\d.]+) s", notes)
    return float(total.group(1)) if total else None


def part_closures(run: PartRun) -> None:
    sizes = run.sizes
    data = run.data(sizes.stores, sizes.month_days)
    hours = sizes.month_range_hours
    repeat = max(2, run.bench.args.repeat)
    run.result.intro = (
        f"{data.describe} ({sizes.month_days:g} days, {status_mb(data):.0f} MB), then one closure per store "
        f"(a whole local public holiday: {', '.join(f'{d:%m-%d} {n}' for d, n in HOLIDAYS)}, in turn). "
        f"Target (issue 20): the standard report and the {hours}-hour range with closures within {LIMIT}× "
        f"of the same data without them. The two states alternate on one database ({repeat} rounds: the "
        "reports without closures, closures.csv loaded, the reports with them, a closures.csv of its header "
        "alone loaded), so a busy machine slows both alike; each figure is the best of its rounds, each "
        "report a fresh process.")
    for kind in run.kinds():
        table = run.result.table(kind)
        with run.database(kind, "bench_sm_closures") as url:
            env = run.env(url)
            loaded = run.step(table, f"load ({kind})",
                              lambda row, env=env, kind=kind: run.load(row, env, data, kind.lower()))
            if loaded.failed:
                continue
            folder = run.dir / f"closures-{kind.lower()}"
            count = write_closures_csv(data, folder)
            closures_file = (folder / "closures.csv").read_bytes()
            header_only = closures_file.split(b"\n", 1)[0] + b"\n"
            steps = {
                "std": ("standard report", ()),
                "range": (f"{hours}-hour range report", ("--last-hours", str(hours))),
            }
            rows = {(key, state): PartRow(f"{label}, {'one closure per store' if state else 'no closures'}")
                    for key, (label, _) in steps.items() for state in (False, True)}
            load_row = PartRow("load closures.csv")
            business: dict[tuple[str, bool], float] = {}
            inside: dict[tuple[str, bool], float] = {}  # the report's own read + compute seconds
            try:
                for attempt in range(repeat):
                    for state in (False, True):
                        (folder / "closures.csv").write_bytes(closures_file if state else header_only)
                        m = run_measured(run.bench.flask("load-data", "--dir", str(folder)), env, run.logs,
                                         f"load-closures-{kind}-{attempt}-{state}")
                        if m.returncode != 0:
                            raise StepError(f"load-data of closures.csv failed:\n{m.stdout[-500:]}")
                        if state and (load_row.seconds is None or m.seconds < load_row.seconds):
                            load_row.seconds, load_row.rss_mb = m.seconds, m.rss_mb
                        for key, (_, extra) in steps.items():
                            row = rows[(key, state)]
                            probe = PartRow(row.step)
                            log(f"closures: round {attempt + 1}/{repeat}, {probe.step}")
                            out = run.report_cli(probe, env, f"{key}-{kind}-{attempt}-{state}", *extra)
                            if row.seconds is None or (probe.seconds or 0) < row.seconds:
                                row.seconds, row.rss_mb, row.notes = probe.seconds, probe.rss_mb, probe.notes
                            work = _work_seconds(probe.notes)
                            if work is not None:
                                inside[(key, state)] = min(work, inside.get((key, state), work))
                            if extra:
                                business[(key, state)] = _business_hours(out)
            except (StepError, OSError, ValueError, KeyError) as exc:
                run.bench.failed = True
                run.result.errors.append(f"closures ({kind}): {exc}")
            load_row.notes = (f"{count:,} closures (closures.csv alone; polls, hours and zones unchanged); "
                              f"best of {repeat}")
            table.rows.append(load_row)
            for key in steps:
                plain, closed = rows[(key, False)], rows[(key, True)]
                for row in (plain, closed):
                    row.notes += f" (best of {repeat})"
                    if (key, row is closed) in business:
                        row.notes += f"; Σ business hours {business[(key, row is closed)]:,.0f}"
                if business.get((key, False)) and (key, True) in business:
                    closed.notes += f" ({100 * (1 - business[(key, True)] / business[(key, False)]):.1f} % closed)"
                if plain.seconds and closed.seconds:
                    ratio = closed.seconds / plain.seconds
                    closed.targets.append(Target(f"≤ {LIMIT}× without ({LIMIT * plain.seconds:.2f} s)", ratio <= LIMIT))
                    closed.notes += f"; {ratio:.2f}× without closures"
                    if inside.get((key, False)) and (key, True) in inside:
                        with_, without = inside[(key, True)], inside[(key, False)]
                        closed.notes += (f"; read + compute {with_:.2f} s vs {without:.2f} s "
                                         f"({with_ / without:.2f}×, best of each)")
                else:
                    closed.failed = True
                table.rows += [plain, closed]
