"""データ標準レイアウト files: the shipped 版 load, each problem is named by file + data set + item,
the 版 for a day is chosen by valid_from, and items render as a value or a 未設定事由."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mappings.errors import LayoutError
from mappings.layout import ItemNo
from mappings.standard_layout import (
    CHUKAN_DIR,
    ItemError,
    RenderedItem,
    StandardLayouts,
    load_standard_layout,
)

GOOD = """
name = "t"
version = "{version}"
valid_from = {valid_from}
label = "test"
source = "[INF] test"

[[datasets]]
code = "0101"
label = "被保険者"
tm = "TM00000000000101"
unset = "NotApplicable"
items = [
  {{ no = "1", source = "hihokensha_no", label = "被保険者番号", converter = "digits", width = 10, required = true }},
  {{ no = "2", source = "soshitsu_date", label = "資格喪失年月日", converter = "date" }},
  {{ no = "3", source = "memo", label = "備考", converter = "text", unset = "NotYetDetermined" }},
]
"""


def write(tmp_path: Path, text: str, name: str = "t-v1.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, name: str = "t-v1.toml") -> list[str]:
    with pytest.raises(LayoutError) as info:
        load_standard_layout(write(tmp_path, text, name))
    assert name in str(info.value)
    return info.value.problems


def test_shipped_versions_load_and_differ_by_one_item() -> None:
    layouts = StandardLayouts(CHUKAN_DIR)
    v1, v2 = layouts.all("kaigo-fukuhon")
    assert (v1.version, v2.version) == ("1", "2")
    assert [d.code for d in v1.datasets] == ["0101", "0102", "0201", "0202", "0300", "0400"]
    assert {d.code: d.tm for d in v1.datasets} == {
        "0101": "TM00000000000101", "0102": "TM00000000000101", "0201": "TM00000000000101",
        "0202": "TM00000000000101", "0300": "TM00000000000102", "0400": "TM00000000000102",
    }
    assert v2.dataset("0201").sources - v1.dataset("0201").sources == {"gendo_tani"}
    assert v2.dataset("0201").items[-1].item == ItemNo("27")
    for d1 in v1.datasets:
        if d1.code != "0201":
            assert d1.sources == v2.dataset(d1.code).sources


def test_version_chosen_by_date(tmp_path: Path) -> None:
    write(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"), "t-v1.toml")
    write(tmp_path, GOOD.format(version="2", valid_from="2027-07-01"), "t-v2.toml")
    layouts = StandardLayouts(tmp_path)
    assert layouts.on("t", dt.date(2026, 4, 1)).version == "1"
    assert layouts.on("t", dt.date(2027, 6, 30)).version == "1"
    assert layouts.on("t", dt.date(2027, 7, 1)).version == "2"
    with pytest.raises(LookupError, match="2026-03-31"):
        layouts.on("t", dt.date(2026, 3, 31))
    assert layouts.get("t", "1").valid_from == dt.date(2026, 4, 1)


def test_later_version_must_start_later(tmp_path: Path) -> None:
    write(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"), "t-v1.toml")
    write(tmp_path, GOOD.format(version="2", valid_from="2026-04-01"), "t-v2.toml")
    with pytest.raises(LayoutError, match=r"t-v2\.toml"):
        StandardLayouts(tmp_path).on("t", dt.date(2027, 1, 1))


def test_render_value_or_reason() -> None:
    ds = load_standard_layout(CHUKAN_DIR / "kaigo-fukuhon-v1.toml").dataset("0202")
    items = ds.render({"hihokensha_no": "0000012345", "wariai": 2, "valid_from": dt.date(2026, 8, 1),
                       "valid_to": dt.date(2027, 7, 31)})
    assert items == (RenderedItem("31", "0000012345", None), RenderedItem("32", "2", None),
                     RenderedItem("33", "20260801", None), RenderedItem("34", "20270731", None))


def test_absent_value_takes_item_or_dataset_reason(tmp_path: Path) -> None:
    ds = load_standard_layout(write(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"))).dataset("0101")
    items = ds.render({"hihokensha_no": "0000000001", "soshitsu_date": None, "memo": ""})
    assert items[1:] == (RenderedItem("2", None, "NotApplicable"), RenderedItem("3", None, "NotYetDetermined"))
    with pytest.raises(ItemError, match=r"data set 0101 item 1 \(被保険者番号\): required"):
        ds.render({})


def test_bad_value_names_item_not_value(tmp_path: Path) -> None:
    ds = load_standard_layout(write(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"))).dataset("0101")
    with pytest.raises(ItemError, match=r"item 1 \(被保険者番号\)") as info:
        ds.render({"hihokensha_no": "98765X4321"})
    assert "98765X4321" not in str(info.value)


def test_parse_round_trip(tmp_path: Path) -> None:
    ds = load_standard_layout(write(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"))).dataset("0101")
    assert ds.parse([("1", "0000000001"), ("2", "20260131"), ("3", None)]) == {
        "hihokensha_no": "0000000001", "soshitsu_date": dt.date(2026, 1, 31), "memo": None}
    with pytest.raises(ItemError, match="no item 9"):
        ds.parse([("9", "x")])


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('no = "2", source = "soshitsu_date"', 'no = "1", source = "soshitsu_date"',
     "data set 0101: item number '1' used by 2"),
    ('no = "2", source = "soshitsu_date"', 'no = "2", source = "hihokensha_no"',
     "data set 0101: source 'hihokensha_no' used by 2"),
    ('converter = "date" }', 'converter = "datum" }',
     "data set 0101: item 2: field soshitsu_date: converter 'datum' is unknown"),
    ('unset = "NotYetDetermined"', 'unset = "Missing"', "data set 0101: item 3: unset 'Missing': not a 未設定事由"),
    ('unset = "NotApplicable"', 'unset = "Nope"', "data set 0101: unset 'Nope': not a 未設定事由"),
    ('unset = "NotApplicable"\n', '\n', "data set 0101: item 2: no 未設定事由"),
    ('width = 10, required = true', 'width = 10, required = true, unset = "NotCovered"',
     "item 1: required = true and an unset reason"),
    ('tm = "TM00000000000101"', 'tm = "TM0101"', "data set 0101: tm: the 特定個人情報名コード"),
    ('code = "0101"', 'code = "101"', "code: the データセット code"),
    ('no = "3"', 'no = "A3"', "items[2]: no 'A3'"),
    ('source = "memo", label = "備考"', 'source = "kojin_bango", label = "備考"', "item 3: 個人番号 is never"),
    ('label = "備考", converter = "text"', 'label = "備考", converter = "text", column = 2',
     "item 3: key 'column' has no place"),
    ('converter = "date" }', 'converter = "date", format = "YYMMDD" }',
     "item 2: field soshitsu_date: converter date: param 'format'"),
    ('valid_from = 2026-04-01', 'valid_from = "2026-04-01"', "valid_from: required, a TOML date"),
    ('version = "1"', 'version = "1"\nextra = 1', "unknown key 'extra'"),
])
def test_problems_name_the_item(tmp_path: Path, old: str, new: str, expected: str) -> None:
    text = GOOD.format(version="1", valid_from="2026-04-01")
    assert old in text
    found = problems(tmp_path, text.replace(old, new, 1))
    assert any(expected in p for p in found), found


def test_file_name_must_match(tmp_path: Path) -> None:
    found = problems(tmp_path, GOOD.format(version="1", valid_from="2026-04-01"), "t-v3.toml")
    assert any("does not match" in p for p in found)


def test_dataset_twice(tmp_path: Path) -> None:
    text = GOOD.format(version="1", valid_from="2026-04-01")
    text = text + text[text.index("[[datasets]]"):]
    assert any("data set 0101: defined twice" in p for p in problems(tmp_path, text))


def test_every_shipped_standard_layout_loads() -> None:
    paths = sorted(CHUKAN_DIR.glob("*.toml"))
    assert CHUKAN_DIR / "kaigo-fukuhon-v1.toml" in paths
    for path in paths:
        layout = load_standard_layout(path)
        assert layout.source and path.name == f"{layout.name}-v{layout.version}.toml"


def test_item_numbers_unique_within_a_tm(tmp_path: Path) -> None:
    text = GOOD.format(version="1", valid_from="2026-04-01")
    second = text[text.index("[[datasets]]"):].replace('code = "0101"', 'code = "0102"')
    found = problems(tmp_path, text + second)
    assert any("data set 0102: item 1: number also used by data set 0101 of TM00000000000101" in p
               for p in found), found
    other_tm = second.replace('tm = "TM00000000000101"', 'tm = "TM00000000000102"')
    assert load_standard_layout(write(tmp_path, text + other_tm)).dataset("0102").tm == "TM00000000000102"
