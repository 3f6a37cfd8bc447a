"""bench.report: rows, ratios, goals and the two output formats (pure code, no broker)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from bench.report import (
    KEYS,
    Goal,
    Row,
    at_least,
    at_most,
    goal_met,
    json_lines,
    ratio_at_least,
    ratio_at_most,
    ratio_of,
    row,
    size_tag,
    table,
)


def test_ratio_is_ours_over_baseline() -> None:
    assert ratio_of(1500.0, 1000.0) == pytest.approx(1.5)
    assert ratio_of(250.0, 1000.0) == pytest.approx(0.25)


@pytest.mark.parametrize("baseline", [None, 0.0, -3.0, float("inf"), float("nan")])
def test_no_ratio_without_a_usable_baseline(baseline: float | None) -> None:
    assert ratio_of(100.0, baseline) is None


def test_row_computes_and_rounds() -> None:
    r = row("message_path", 854.3333, "events/s", "pika", 1461.04, ratio_at_least(1.0), 99.66)
    assert r == Row(name="message_path", value=854.3, unit="events/s", baseline="pika", baseline_value=1461.0,
                    ratio=0.585, goals=(Goal("ratio", ">=", 1.0),), peak_rss_mb=99.7)


def test_row_without_baseline_goal_or_rss() -> None:
    r = row("x", 10.0, "events/s", "none", None, None, None)
    assert (r.baseline_value, r.ratio, r.peak_rss_mb, r.goals, r.goal) == (None, None, None, (), "information")


@pytest.mark.parametrize(("goals", "value", "ratio", "met"), [
    (ratio_at_least(1.0), 5.0, 1.53, True),
    (ratio_at_least(1.0), 5.0, 1.0, True),
    (ratio_at_least(1.0), 5.0, 0.58, False),
    (ratio_at_most(1.5), 5.0, 1.2, True),
    (ratio_at_most(1.5), 5.0, 1.6, False),
    (ratio_at_least(1.0), 5.0, None, None),  # a ratio goal with no baseline figure is not judged
    (at_least(50_000, "records/s"), 49_999.9, None, False),
    (at_least(50_000, "records/s"), 50_000.0, None, True),
    (at_most(45, "s"), 45.0, None, True),
    (at_most(45, "s"), 45.1, None, False),
    ((at_most(300, "MB"), ratio_at_most(1.5)), 250.0, 1.4, True),
    ((at_most(300, "MB"), ratio_at_most(1.5)), 301.0, 1.4, False),  # every goal must hold
    ((at_most(300, "MB"), ratio_at_most(1.5)), 250.0, 1.6, False),
    ((at_most(300, "MB"), ratio_at_most(1.5)), 250.0, None, None),
    ((), 3.0, 0.04, None),  # information
])
def test_goal_met(goals: Goal | tuple[Goal, ...], value: float, ratio: float | None, met: bool | None) -> None:
    r = Row("n", value, "u", "b", 1.0, ratio, goals if isinstance(goals, tuple) else (goals,), None)
    assert goal_met(r) is met


@pytest.mark.parametrize(("goals", "text"), [
    (ratio_at_least(0.5), ">= 0.5x"),
    (ratio_at_most(1.0), "<= 1.0x"),
    (at_least(50_000, "records/s"), ">= 50,000 records/s"),
    (at_most(45, "s"), "<= 45 s"),
    ((at_most(300, "MB"), ratio_at_most(1.5)), "<= 300 MB and <= 1.5x"),
])
def test_goal_text(goals: Goal | tuple[Goal, ...], text: str) -> None:
    assert row("n", 1.0, "u", "b", None, goals, None).goal == text


@pytest.mark.parametrize(("n", "tag"), [(200_000, "200k"), (1_000_000, "1m"), (300, "300"), (20_500, "20500")])
def test_size_tag(n: int, tag: str) -> None:
    assert size_tag(n) == tag


def test_json_lines_carry_exactly_the_contract_keys_in_order() -> None:
    rows = [row("a", 2000.0, "events/s", "raw", 1000.0, ratio_at_least(1.0), 50.0),
            row("b", 10.0, "msgs/s", "none", None, None, None),
            row("c", 61.0, "s", "none", None, at_most(45, "s"), 80.0)]
    lines = json_lines(rows).splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert tuple(first) == KEYS == ("name", "value", "unit", "baseline", "baseline_value", "ratio", "goal",
                                    "goal_met", "peak_rss_mb")
    assert first == {"name": "a", "value": 2000.0, "unit": "events/s", "baseline": "raw", "baseline_value": 1000.0,
                     "ratio": 2.0, "goal": ">= 1.0x", "goal_met": True, "peak_rss_mb": 50.0}
    assert second["baseline_value"] is None and second["ratio"] is None and second["peak_rss_mb"] is None
    assert (second["goal"], second["goal_met"]) == ("information", None)
    assert (third["goal"], third["goal_met"]) == ("<= 45 s", False)


def test_table_shows_ratio_and_verdict() -> None:
    console = Console(record=True, width=200)
    console.print(table([row("message_path", 854.0, "events/s", "pika confirm-each", 1461.0, ratio_at_least(1.0),
                             99.7),
                         row("publisher.pipelined", 3000.0, "msgs/s", "pika", 1500.0, ratio_at_least(1.0), 34.6),
                         row("ceiling", 854.0, "events/s", "no confirms", 20000.0, None, 1.0),
                         row("z11", 50.0, "s", "none", None, at_most(45, "s"), 2.0)]))
    text = console.export_text()
    cells = {parts[0]: parts for parts in ([c.strip() for c in line.split("│")[1:-1]]
                                           for line in text.splitlines() if line.count("│") > 5)}
    # name, value, unit, baseline, baseline value, ratio, goal, met, peak RSS
    assert cells["message_path"][4:8] == ["1,461", "0.58x", ">= 1.0x", "MISSED"]
    assert cells["publisher.pipelined"][4:8] == ["1,500", "2.00x", ">= 1.0x", "yes"]
    assert cells["ceiling"][4:8] == ["20,000", "0.04x", "information", ""]
    assert cells["z11"][4:8] == ["–", "–", "<= 45 s", "MISSED"]
    assert [cells[n][8] for n in ("message_path", "publisher.pipelined", "ceiling")] == ["99.7", "34.6", "1.0"]
