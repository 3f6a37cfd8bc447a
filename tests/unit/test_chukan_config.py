"""chukan.toml and permissions.csv: the permission list read as data, every problem named."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

import settings as config_module
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]
OLD_BEPPYO2 = ("1 2 3 4 5 6 8 11 17 22 26 30 33 39 42 43 56の2 58 61 62 80 81 87 90 94 95 97 106 108 109 117 "
               "120").split()  # DOMAIN.md: the 32 提供先 of 介護保険給付関係情報


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config"


def problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_module.load(config_dir)
    return caught.value.problems


def rewrite_row(config_dir: Path, line: int, column: str, value: str) -> None:
    path = config_dir / "permissions.csv"
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_shipped_list_covers_the_32_provision_bodies(config_dir: Path) -> None:
    chukan = config_module.load(config_dir).chukan
    provisions = [p for p in chukan.permissions if p.direction == "provision"]
    assert sorted({p.beppyo2 for p in provisions}) == sorted(OLD_BEPPYO2)
    assert len({p.kikan for p in provisions}) == 32
    assert all(p.law == "番号法第19条第8号" for p in chukan.permissions)
    income = chukan.queries["income"]
    assert any(p.direction == "query" and (p.jimu, p.tetsuzuki, p.tm) == (income.jimu, income.tetsuzuki, income.tm)
               for p in chukan.permissions)
    assert chukan.no_auto_answer <= {p.tm for p in provisions}
    first = chukan.permissions[0]
    assert first.line == 2 and "旧別表第2 第93項" in first.basis and "第19条第8号" in first.basis


@pytest.mark.parametrize(("column", "value", "rule"), [
    ("事務コード", "JM123", "column 事務コード: must match"),
    ("事務手続コード", "JX00000000930101", "column 事務手続コード: must match"),
    ("特定個人情報名コード", "TM0000000000020", "column 特定個人情報名コード: must match"),
    ("機関コード", "12345", "column 機関コード: must match"),
    ("区分", "送付", "column 区分: must be one of"),
    ("根拠", "", "column 根拠: must not be empty"),
])
def test_a_bad_cell_is_named_by_line_and_column(config_dir: Path, column: str, value: str, rule: str) -> None:
    rewrite_row(config_dir, 3, column, value)
    found = problems(config_dir)
    assert any(p.startswith("permissions.csv: line 3: ") and rule in p for p in found), found


def test_a_duplicate_permission_and_a_wrong_header_are_refused(config_dir: Path) -> None:
    path = config_dir / "permissions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[4]]) + "\n", encoding="utf-8")
    assert any(f"line {len(lines) + 1}: the same 区分" in p and "as line 5" in p for p in problems(config_dir))
    path.write_text("\n".join(["区分,事務コード", *lines[1:]]) + "\n", encoding="utf-8")
    assert any(p.startswith("permissions.csv: line 1: the header must be") for p in problems(config_dir))


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('url = "https://127.0.0.1:8443/chukan/"', 'url = "http://127.0.0.1:8443/chukan/"', "server.url: must be https://"),
    ('no_auto_answer = ["TM00000000000102"]', 'no_auto_answer = ["TM1"]', "provision.no_auto_answer: every entry"),
    ('kikan_code = "1311200000000001"', 'kikan_code = "13112"', "ward.kikan_code: must be 16 digits"),
    ("query_results_days = 30", "query_results_days = 0", "retention.query_results_days: must be at least 1"),
    ('tm = "TM00000000000201"', 'tm = "XX"', "query.income.tm: must match"),
])
def test_chukan_toml_problems_are_named(config_dir: Path, old: str, new: str, problem: str) -> None:
    path = config_dir / "chukan.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert any(p == f"chukan.toml: {problem}" or p.startswith(f"chukan.toml: {problem}") for p in problems(config_dir))


def test_a_missing_permission_list_is_a_problem(config_dir: Path) -> None:
    (config_dir / "permissions.csv").unlink()
    assert any(p.startswith("permissions.csv: file not found") for p in problems(config_dir))
