"""Benchmark rows and how they are printed: a rich table, or one JSON object per line.

A row is the contract other tools read (``--json``): exactly the keys of ``KEYS``, in that order.
``ratio`` is always ours / baseline. Goals are data (``Goal``): each bounds either the ratio or the
row's own value, with its unit, and ``goal_met`` judges every one of them — a row meets its goal
when all its goals hold; a row with no goal is information (``goal_met`` null).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from rich.table import Table

KEYS = ("name", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "goal_met", "peak_rss_mb")

Bound = Literal[">=", "<="]


@dataclass(frozen=True)
class Goal:
    """One bound a row must keep: on its ratio (unit "x") or on its value (in the row's unit)."""

    on: Literal["ratio", "value"]
    op: Bound
    bound: float
    unit: str = "x"

    def text(self) -> str:
        if self.on == "ratio":  # 1.0x, not 1x: a ratio reads as a ratio
            return f"{self.op} {self.bound:.1f}x" if self.bound == int(self.bound) else f"{self.op} {self.bound:g}x"
        number = f"{self.bound:,.0f}" if self.bound == int(self.bound) else f"{self.bound:,g}"
        return f"{self.op} {number} {self.unit}"

    def met(self, value: float, ratio: float | None) -> bool | None:
        """None when the figure the goal bounds is missing (no baseline figure for a ratio goal)."""
        figure = ratio if self.on == "ratio" else value
        if figure is None or not math.isfinite(figure):
            return None
        return figure >= self.bound if self.op == ">=" else figure <= self.bound


def ratio_at_least(bound: float) -> Goal:
    return Goal("ratio", ">=", bound)


def ratio_at_most(bound: float) -> Goal:
    """For rows whose value is a time or a size: ours may be at most ``bound`` times the baseline's."""
    return Goal("ratio", "<=", bound)


def at_least(bound: float, unit: str) -> Goal:
    return Goal("value", ">=", bound, unit)


def at_most(bound: float, unit: str) -> Goal:
    return Goal("value", "<=", bound, unit)


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float | None
    ratio: float | None
    goals: tuple[Goal, ...]
    peak_rss_mb: float | None

    @property
    def goal(self) -> str:
        return " and ".join(g.text() for g in self.goals) or "information"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "baseline": self.baseline,
                "baseline_value": self.baseline_value, "ratio": self.ratio, "goal": self.goal,
                "goal_met": goal_met(self), "peak_rss_mb": self.peak_rss_mb}


def ratio_of(value: float, baseline_value: float | None) -> float | None:
    """ours / baseline; None when there is no usable baseline figure."""
    if baseline_value is None or baseline_value <= 0 or not math.isfinite(baseline_value):
        return None
    return value / baseline_value


def row(name: str, value: float, unit: str, baseline: str, baseline_value: float | None,
        goals: Goal | tuple[Goal, ...] | None, peak_rss_mb: float | None) -> Row:
    """A row with its ratio computed; figures are rounded for print (3 decimals of ratio), and goals
    are judged on the figures as printed, so what is shown is what is judged."""
    ratio = ratio_of(value, baseline_value)
    return Row(name=name, value=round(value, 1), unit=unit, baseline=baseline,
               baseline_value=None if baseline_value is None else round(baseline_value, 1),
               ratio=None if ratio is None else round(ratio, 3),
               goals=() if goals is None else (goals,) if isinstance(goals, Goal) else goals,
               peak_rss_mb=None if peak_rss_mb is None else round(peak_rss_mb, 1))


def goal_met(r: Row) -> bool | None:
    """True when every goal holds, False when one fails, None for information rows or a missing figure."""
    verdicts = [g.met(r.value, r.ratio) for g in r.goals]
    if not verdicts or None in verdicts:
        return None
    return all(verdicts)


def size_tag(n: int) -> str:
    """A population size for a row's name: 200000 -> "200k", 1000000 -> "1m", 300 -> "300"."""
    for divisor, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n >= divisor and n % divisor == 0:
            return f"{n // divisor}{suffix}"
    return str(n)


def json_lines(rows: Iterable[Row]) -> str:
    return "".join(json.dumps(r.as_json(), ensure_ascii=False) + "\n" for r in rows)


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: Iterable[Row], title: str = "kaigo-bridge benchmarks", caption: str | None = None) -> Table:
    out = Table(title=title, caption=caption)
    for header, justify in (("name", "left"), ("value", "right"), ("unit", "left"), ("baseline", "left"),
                            ("baseline value", "right"), ("ratio", "right"), ("goal", "left"),
                            ("met", "center"), ("peak RSS MB", "right")):
        # the figures never wrap (a cut figure reads as another number); the texts do
        out.add_column(header, justify=justify, no_wrap=header not in ("unit", "baseline"))  # type: ignore[arg-type]
    for r in rows:
        met = goal_met(r)
        out.add_row(r.name, _number(r.value), r.unit, r.baseline, _number(r.baseline_value),
                    "–" if r.ratio is None else f"{r.ratio:.2f}x", r.goal,
                    {True: "[green]yes[/]", False: "[bold red]MISSED[/]", None: ""}[met],
                    "–" if r.peak_rss_mb is None else f"{r.peak_rss_mb:,.1f}")
    return out
