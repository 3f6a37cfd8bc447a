"""bench.report: rows, ratios, goals and the two output formats (pure code, no broker)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from bench.report import KEYS, Row, goal_met, json_lines, ratio_of, row, table


def test_ratio_is_ours_over_baseline() -> None:
    assert ratio_of(1500.0, 1000.0) == pytest.approx(1.5)
    assert ratio_of(250.0, 1000.0) == pytest.approx(0.25)


@pytest.mark.parametrize("baseline", [None, 0.0, -3.0, float("inf"), float("nan")])
def test_no_ratio_without_a_usable_baseline(baseline: float | None) -> None:
    assert ratio_of(100.0, baseline) is None


def test_row_computes_and_rounds() -> None:
    r = row("message_path", 854.3333, "events/s", "pika", 1461.04, ">= 1.0x", 99.66)
    assert r == Row(name="message_path", value=854.3, unit="events/s", baseline="pika", baseline_value=1461.0,
                    ratio=0.585, goal=">= 1.0x", peak_rss_mb=99.7)


def test_row_without_baseline_or_rss() -> None:
    r = row("x", 10.0, "events/s", "none", None, "information", None)
    assert (r.baseline_value, r.ratio, r.peak_rss_mb) == (None, None, None)


@pytest.mark.parametrize(("goal", "ratio", "met"), [
    (">= 1.0x", 1.53, True),
    (">= 1.0x", 1.0, True),
    (">= 1.0x", 0.58, False),
    (">=2x (higher is better)", 1.9, False),
    ("<= 1.5x", 1.2, True),
    ("<= 1.5x", 1.6, False),
    ("ceiling (information)", 0.04, None),
    ("information", 3.0, None),
    (">= 1.0x", None, None),
])
def test_goal_met(goal: str, ratio: float | None, met: bool | None) -> None:
    r = Row("n", 1.0, "u", "b", 1.0, ratio, goal, None)
    assert goal_met(r) is met


def test_json_lines_carry_exactly_the_contract_keys_in_order() -> None:
    rows = [row("a", 2000.0, "events/s", "raw", 1000.0, ">= 1.0x", 50.0),
            row("b", 10.0, "msgs/s", "none", None, "information", None)]
    lines = json_lines(rows).splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert tuple(first) == KEYS == ("name", "value", "unit", "baseline", "baseline_value", "ratio", "goal",
                                    "peak_rss_mb")
    assert first == {"name": "a", "value": 2000.0, "unit": "events/s", "baseline": "raw", "baseline_value": 1000.0,
                     "ratio": 2.0, "goal": ">= 1.0x", "peak_rss_mb": 50.0}
    assert second["baseline_value"] is None and second["ratio"] is None and second["peak_rss_mb"] is None


def test_table_shows_ratio_and_verdict() -> None:
    console = Console(record=True, width=200)
    console.print(table([row("message_path", 854.0, "events/s", "pika confirm-each", 1461.0, ">= 1.0x", 99.7),
                         row("publisher.pipelined", 3000.0, "msgs/s", "pika", 1500.0, ">= 1.0x", 34.6),
                         row("ceiling", 854.0, "events/s", "no confirms", 20000.0, "ceiling (information)", 1.0)]))
    text = console.export_text()
    cells = {parts[0]: parts for parts in ([c.strip() for c in line.split("│")[1:-1]]
                                           for line in text.splitlines() if line.count("│") > 5)}
    # name, value, unit, baseline, baseline value, ratio, goal, met, peak RSS
    assert cells["message_path"][4:8] == ["1,461", "0.58x", ">= 1.0x", "no"]
    assert cells["publisher.pipelined"][4:8] == ["1,500", "2.00x", ">= 1.0x", "yes"]
    assert cells["ceiling"][4:8] == ["20,000", "0.04x", "ceiling (information)", ""]
    assert [cells[n][8] for n in ("message_path", "publisher.pipelined", "ceiling")] == ["99.7", "34.6", "1.0"]
