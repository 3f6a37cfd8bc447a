"""config/nenkin.toml, the 年金特徴 calendar: the shipped file, and each bad form reported with
file, key and reason — all at once — through the configuration loader."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

import settings as config_module
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir)
    return raised.value.problems


def test_shipped_calendar(config_dir: Path) -> None:
    cal = config_module.load(config_dir).nenkin
    assert [m.month for m in cal.months] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
    # DOMAIN.md [DOC]: 仮徴収 4, 6, 8月; 本徴収 10, 12, 2月; 期 1–6 in that order.
    collected = {m.month: (m.collection, m.ki) for m in cal.months if m.collection}
    assert collected == {4: ("kari", 1), 6: ("kari", 2), 8: ("kari", 3), 10: ("hon", 4), 12: ("hon", 5),
                         2: ("hon", 6)}  # fmt: skip
    files = {m.month: {e.file: e for e in m.expect if e.file != "Z14"} for m in cal.months}
    assert [m for m, f in files.items() if "Z11" in f] == [5]  # 対象者 in May
    assert [m for m, f in files.items() if "Z12" in f] == [7]  # 依頼 out in July
    assert 7 not in [m for m, f in files.items() if "Z1A" in f]  # July's file is the Z12
    assert all(f["Z1A"].when == "changes" for f in files.values() if "Z1A" in f)
    # The Z13 answers the July Z12 only, in August; the Z1A are answered in Z14s.
    assert [m for m, f in files.items() if "Z13" in f] == [8]
    assert files[8]["Z13"].answers == ("Z12",) and files[8]["Z13"].when == "answer" and files[8]["Z13"].codes == ()
    z14 = {m.month: [(e.when, e.answers, e.codes) for e in m.expect if e.file == "Z14"] for m in cal.months}
    tenbiki = ("always", (), ("22",))
    answer = ("answer", ("Z1A",), ("32", "42", "62", "82"))
    assert [m for m, kinds in z14.items() if tenbiki in kinds] == [5, 7, 9, 11, 1, 3]  # 天引結果: odd months
    assert [m for m, kinds in z14.items() if answer in kinds] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
    assert all(len(kinds) == 1 + (tenbiki in kinds) for kinds in z14.values())  # no other Z14
    assert cal.flows == ("nenkin.z11", "nenkin.z12", "nenkin.z1a", "nenkin.z13", "nenkin.z14")
    assert {k: f.direction for k, f in cal.files.items()} == {"Z11": "in", "Z12": "out", "Z1A": "out",
                                                               "Z13": "in", "Z14": "in"}  # fmt: skip
    may = cal.months[1]
    assert may.due(2026, files[5]["Z11"]) == date(2026, 5, 31)
    january = cal.months[9]
    assert january.year(2026) == 2027 and january.due(2026, january.expect[0]) == date(2027, 1, 20)


# (what to change in nenkin.toml, the problem it must give)
BAD = {
    "unknown direction": ('direction = "in"', 'direction = "sideways"',
                          "nenkin.toml: file.Z11.direction: must be 'in' or 'out'"),
    "file without flow": ('flow = "nenkin.z11"\n', "",
                          "nenkin.toml: file.Z11.flow: missing"),
    "two files, one flow": ('flow = "nenkin.z12"', 'flow = "nenkin.z11"',
                            "nenkin.toml: file.Z12.flow: flow 'nenkin.z11' already carries file Z11"),
    "bad file name": ("[file.Z13]", "[file.RESULT]",
                      "nenkin.toml: file.RESULT: must be a file name prefix like Z11 or Z1A"),
    "unknown key in a file": ('title = "依頼処理結果情報"', 'title = "依頼処理結果情報"\ntitel = "x"',
                              "nenkin.toml: file.Z13.titel: unknown key"),
    "unknown collection": ('collection = "kari"\nki = 1', 'collection = "monthly"\nki = 1',
                           "nenkin.toml: month.4.collection: must be 'kari' or 'hon', got 'monthly'"),
    "期 of the wrong kind": ('collection = "hon"\nki = 4', 'collection = "hon"\nki = 3',
                           "nenkin.toml: month.10.ki: must be one of 4, 5, 6, got 3"),
    "collection without 期": ('collection = "kari"\nki = 2\n', 'collection = "kari"\n',
                             "nenkin.toml: month.6.ki: missing"),
    "期 without collection": ("[month.7]\n", "[month.7]\nki = 4\n",
                             "nenkin.toml: month.7.ki: a 期 without a collection"),
    "期 collected twice": ('collection = "kari"\nki = 3', 'collection = "kari"\nki = 2',
                         "nenkin.toml: month: 期 2 is collected in more than one month (6, 8)"),
    "missing month": ("[month.9]\n", "[other.9]\n",
                      "nenkin.toml: month.9: missing (every month of the 年度 has a table)"),
    "month 13": ("[month.9]\n", "[month.13]\n", "nenkin.toml: month.13: not a month"),
    "unknown file": ('{ file = "Z11", due_day = 31', '{ file = "Z19", due_day = 31',
                     "nenkin.toml: month.5.expect[0].file: no file 'Z19' under [file]"),
    "due day past the month": ('{ file = "Z12", due_day = 31', '{ file = "Z12", due_day = 32',
                               "nenkin.toml: month.7.expect[0].due_day: must be a day of the month from 1 to 31"),
    "due day in February": ('[month.2]\ncollection = "hon"\nki = 6\nexpect = [\n  { file = "Z1A", due_day = 10',
                            '[month.2]\ncollection = "hon"\nki = 6\nexpect = [\n  { file = "Z1A", due_day = 29',
                            "nenkin.toml: month.2.expect[0].due_day: must be a day of the month from 1 to 28"),
    "due day of 30 days": ('[month.6]\ncollection = "kari"\nki = 2\nexpect = [\n  { file = "Z1A", due_day = 10',
                           '[month.6]\ncollection = "kari"\nki = 2\nexpect = [\n  { file = "Z1A", due_day = 31',
                           "nenkin.toml: month.6.expect[0].due_day: must be a day of the month from 1 to 30"),
    "due day as text": ('{ file = "Z12", due_day = 31', '{ file = "Z12", due_day = "end"',
                        "nenkin.toml: month.7.expect[0].due_day: expected int, got str"),
    "unknown when": ('{ file = "Z11", due_day = 31, when = "always"', '{ file = "Z11", due_day = 31, when = "often"',
                     "nenkin.toml: month.5.expect[0].when: must be one of always, changes, answer, got 'often'"),
    "answer without answers": ('when = "answer", answers = ["Z12"]', 'when = "answer"',
                               "nenkin.toml: month.8.expect[1].answers: missing"),
    "answers an inbound file": ('answers = ["Z12"]', 'answers = ["Z11"]',
                                "nenkin.toml: month.8.expect[1].answers: 'Z11' is not an outbound file"),
    "answers on another kind": ('{ file = "Z11", due_day = 31, when = "always"',
                                '{ file = "Z11", due_day = 31, when = "always", answers = ["Z12"]',
                                "nenkin.toml: month.5.expect[0].answers: only for when = 'answer'"),
    "file twice in a month": ('{ file = "Z14", due_day = 20, when = "always", codes = ["22"], note = "4月',
                              '{ file = "Z11", due_day = 20, when = "always", note = "4月',
                              "nenkin.toml: month.5.expect[1].file: Z11 is expected twice in the month"),
    # May's Z14s: [1] 天引結果 (22), [3] the answers to April's Z1A (32/42/62/82).
    "a second Z14 without codes": ('codes = ["22"], note = "4月', 'note = "4月',
                                   "nenkin.toml: month.5.expect[3].file: Z14 is expected twice in the month (allowed "
                                   "only when each entry names its 通知内容コード in codes, none shared)"),
    "two Z14s sharing a code": ('codes = ["22"], note = "4月', 'codes = ["22", "42"], note = "4月',
                                "nenkin.toml: month.5.expect[3].file: Z14 is expected twice in the month"),
    "a code another file carries": ('codes = ["22"], note = "4月', 'codes = ["02"], note = "4月',
                                    "nenkin.toml: month.5.expect[1].codes: not carried by Z14 "
                                    "(mappings/codes/nenkin.toml nenkin_tsuchi_naiyo files): 02"),
    "a code of no table": ('codes = ["22"], note = "4月', 'codes = ["22", "23"], note = "4月',
                           "nenkin.toml: month.5.expect[1].codes: not carried by Z14 "
                           "(mappings/codes/nenkin.toml nenkin_tsuchi_naiyo files): 23"),
    "a code as a number": ('codes = ["22"], note = "4月', 'codes = [22], note = "4月',
                           "nenkin.toml: month.5.expect[1].codes: must be a list of distinct 通知内容コード"),
    "a code twice": ('codes = ["22"], note = "4月', 'codes = ["22", "22"], note = "4月',
                     "nenkin.toml: month.5.expect[1].codes: must be a list of distinct 通知内容コード"),
    "codes on a file not kept as results": ('{ file = "Z11", due_day = 31, when = "always"',
                                            '{ file = "Z11", due_day = 31, when = "always", codes = ["00"]',
                                            "nenkin.toml: month.5.expect[0].codes: only for a file whose records "
                                            "are kept as results (Z13, Z14)"),
    "expect not a list": ('[month.11]\nexpect = [', '[month.11]\nexpect = "Z14"\nunused = [',
                          "nenkin.toml: month.11.expect: expected a list of tables"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_form_is_named(config_dir: Path, case: str) -> None:
    old, new, problem = BAD[case]
    edit(config_dir / "nenkin.toml", old, new)
    found = problems(config_dir)
    assert any(problem in p for p in found), found


def test_every_problem_is_reported_at_once(config_dir: Path) -> None:
    path = config_dir / "nenkin.toml"
    edit(path, 'direction = "in"', 'direction = "sideways"')
    edit(path, '{ file = "Z12", due_day = 31', '{ file = "Z12", due_day = 0')
    edit(path, 'collection = "hon"\nki = 4', 'collection = "hon"\nki = 9')
    edit(config_dir / "flows.toml", 'partner = "vendor-a"', 'partner = "vendor-x"')  # another file too
    found = problems(config_dir)
    assert len(found) == 4, found
    assert "nenkin.toml: file.Z11.direction: must be 'in' or 'out'" in found
    assert "nenkin.toml: month.7.expect[0].due_day: must be a day of the month from 1 to 31" in found
    assert "nenkin.toml: month.10.ki: must be one of 4, 5, 6, got 9" in found
    assert any(p.startswith("flows.toml: flow.print.hokenryo.partner") for p in found)


def test_a_calendar_flow_in_flows_toml_must_run_the_same_way(config_dir: Path) -> None:
    # The Z12 flow made inbound (flows.toml has it outbound, as the calendar says).
    text = (config_dir / "flows.toml").read_text(encoding="utf-8")
    head, z12 = text.split('[flow."nenkin.z12"]', 1)
    z12 = z12.replace('direction = "out"', 'direction = "in"', 1).replace('route = "nenkin.deliver"',
                                                                          'route = "nenkin.load"', 1)
    (config_dir / "flows.toml").write_text(head + '[flow."nenkin.z12"]' + z12, encoding="utf-8")
    assert problems(config_dir) == ["nenkin.toml: file.Z12.direction: flow 'nenkin.z12' is 'in' in flows.toml"]


def test_missing_calendar_is_named(config_dir: Path) -> None:
    (config_dir / "nenkin.toml").unlink()
    found = problems(config_dir)
    assert len(found) == 1 and found[0].startswith("nenkin.toml: file not found"), found
