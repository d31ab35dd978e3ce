"""Result rows and their rendering as markdown tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    key: str  # stable across scales, for the growth table
    step: str
    seconds: float | None = None
    rss_mb: float | None = None
    notes: str = ""
    failed: bool = False
    relative: bool = True  # show × floor


@dataclass
class ScaleResult:
    label: str
    scale: float
    stores: int
    info: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def floor(self) -> float | None:
        for row in self.rows:
            if row.key == "floor" and row.seconds:
                return row.seconds
        return None


def fmt_s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_scale(res: ScaleResult) -> str:
    info = res.info
    lines = [
        f"### {res.label}: {res.stores:,} stores, {info.get('status_rows', 0):,} poll rows "
        f"({info.get('status_mb', 0):.0f} MB), {info.get('hours_rows', 0):,} hours rows, "
        f"{info.get('zones_rows', 0):,} zone rows",
        "",
        "| step | seconds | × floor | peak RSS MB | notes |",
        "|---|---:|---:|---:|---|",
    ]
    floor = res.floor()
    for row in res.rows:
        ratio = "—"
        if row.seconds is not None and floor and row.relative:
            ratio = f"{row.seconds / floor:.2f}"
        seconds = "FAILED" if row.failed else fmt_s(row.seconds)
        lines.append(f"| {row.step} | {seconds} | {ratio} | {fmt_mb(row.rss_mb)} | {md_escape(row.notes)} |")
    if res.errors:
        lines += ["", "Errors:", ""]
        lines += [f"- {md_escape(e.splitlines()[0])}" for e in res.errors]
    return "\n".join(lines)


def render_growth(small: ScaleResult, large: ScaleResult) -> str:
    by_key = {row.key: row for row in small.rows}
    factor = large.scale / small.scale if small.scale else float("nan")
    a, b = f"{small.scale:g}×", f"{large.scale:g}×"
    lines = [
        f"### growth {a} → {b} (data ×{factor:g}: "
        f"{small.info.get('status_rows', 0):,} → {large.info.get('status_rows', 0):,} poll rows)",
        "",
        f"| step | s {a} | s {b} | time ratio | RSS MB {a} | RSS MB {b} | RSS ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def ratio(a: float | None, b: float | None) -> str:
        return f"{b / a:.2f}" if a and b is not None else "—"

    for row in large.rows:
        base = by_key.get(row.key)
        if base is None:
            continue
        lines.append(
            f"| {row.step} | {fmt_s(base.seconds)} | {fmt_s(row.seconds)} | {ratio(base.seconds, row.seconds)} "
            f"| {fmt_mb(base.rss_mb)} | {fmt_mb(row.rss_mb)} | {ratio(base.rss_mb, row.rss_mb)} |"
        )
    return "\n".join(lines)
