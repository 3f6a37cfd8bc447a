"""Benchmark rows and how they are printed: a rich table, or one JSON object per line.

A row is the contract other tools read (``--json``): exactly the keys of ``Row``, in that order.
``ratio`` is always ours / baseline; whether higher or lower is better is said in ``goal``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from rich.table import Table

KEYS = ("name", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "peak_rss_mb")
_GOAL = re.compile(r"^\s*(>=|<=)\s*([0-9]+(?:\.[0-9]+)?)\s*x\b")


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float | None
    ratio: float | None
    goal: str
    peak_rss_mb: float | None


def ratio_of(value: float, baseline_value: float | None) -> float | None:
    """ours / baseline; None when there is no usable baseline figure."""
    if baseline_value is None or baseline_value <= 0 or not math.isfinite(baseline_value):
        return None
    return value / baseline_value


def row(name: str, value: float, unit: str, baseline: str, baseline_value: float | None, goal: str,
        peak_rss_mb: float | None) -> Row:
    """A row with its ratio computed; figures are rounded for print (3 significant decimals of ratio)."""
    ratio = ratio_of(value, baseline_value)
    return Row(name=name, value=round(value, 1), unit=unit, baseline=baseline,
               baseline_value=None if baseline_value is None else round(baseline_value, 1),
               ratio=None if ratio is None else round(ratio, 3), goal=goal,
               peak_rss_mb=None if peak_rss_mb is None else round(peak_rss_mb, 1))


def goal_met(r: Row) -> bool | None:
    """Whether the ratio meets a goal written ">= N x" or "<= N x"; None for information rows."""
    match = _GOAL.match(r.goal)
    if match is None or r.ratio is None:
        return None
    bound = float(match.group(2))
    return r.ratio >= bound if match.group(1) == ">=" else r.ratio <= bound


def json_lines(rows: Iterable[Row]) -> str:
    return "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rows)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: Iterable[Row], title: str = "kaigo-bridge benchmarks", caption: str | None = None) -> Table:
    out = Table(title=title, caption=caption)
    for header, justify in (("name", "left"), ("value", "right"), ("unit", "left"), ("baseline", "left"),
                            ("baseline value", "right"), ("ratio", "right"), ("goal", "left"),
                            ("met", "center"), ("peak RSS MB", "right")):
        out.add_column(header, justify=justify, no_wrap=header != "baseline")  # type: ignore[arg-type]
    for r in rows:
        met = goal_met(r)
        out.add_row(r.name, _number(r.value), r.unit, r.baseline, _number(r.baseline_value),
                    "–" if r.ratio is None else f"{r.ratio:.2f}x", r.goal,
                    {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[met],
                    "–" if r.peak_rss_mb is None else f"{r.peak_rss_mb:,.1f}")
    return out
