"""Layout files: validated when loaded, every problem named (file, record, field, rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import LayoutError, LayoutRegistry, layouts, load_layout
from mappings.registry import LAYOUTS_DIR

FIXED_HEAD = """
partner = "test"
name = "fx"
version = "1"
source = "unit test"
encoding = "cp932"
[fixed]
record_separator = "none"
[[records]]
kind = "data"
length = {length}
fields = [
{fields}
]
"""

CSV_HEAD = """
partner = "test"
name = "cv"
version = "1"
source = "unit test"
encoding = "cp932"
[csv]
[[records]]
kind = "data"
fields = [
{fields}
]
"""


def write(tmp_path: Path, text: str, name: str = "cv-v1.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fixed(tmp_path: Path, length: int, *fields: str) -> Path:
    return write(tmp_path, FIXED_HEAD.format(length=length, fields=",\n".join(fields)), name="fx-v1.toml")


def csv(tmp_path: Path, *fields: str) -> Path:
    return write(tmp_path, CSV_HEAD.format(fields=",\n".join(fields)))


def problems(path: Path) -> list[str]:
    with pytest.raises(LayoutError) as exc:
        load_layout(path)
    assert str(path) in str(exc.value)
    return exc.value.problems


A = '{ name = "a", label = "甲", start = 1, width = 5, converter = "digits" }'


def text_at(start: int, width: int) -> str:
    return f'{{ name = "b", label = "乙", start = {start}, width = {width}, converter = "text" }}'


def test_a_good_fixed_layout_loads(tmp_path: Path) -> None:
    layout = load_layout(fixed(tmp_path, 8, A, text_at(6, 3)))
    assert [f.name for f in layout.fields] == ["a", "b"]
    assert layout.fields[1].span is not None and layout.fields[1].span.end == 8
    assert layout.version == "1" and layout.source == "unit test"


def test_gap_is_named(tmp_path: Path) -> None:
    got = problems(fixed(tmp_path, 10, A, text_at(8, 3)))
    assert any("gap: bytes 6-7" in p and "field a" in p and "field b" in p for p in got), got


def test_overlap_is_named(tmp_path: Path) -> None:
    got = problems(fixed(tmp_path, 7, A, text_at(4, 4)))
    assert any("overlap: bytes 4-5" in p and "field a" in p and "field b" in p for p in got), got


def test_widths_not_adding_up_to_record_length(tmp_path: Path) -> None:
    got = problems(fixed(tmp_path, 9, A, text_at(6, 3)))
    assert any("widths add up to 8 bytes" in p and "record length is 9" in p for p in got), got


def test_converter_width_disagreeing_with_span(tmp_path: Path) -> None:
    got = problems(fixed(tmp_path, 8, '{ name = "d", label = "日付", start = 1, width = 8, '
                         'converter = "date", format = "YYYYMM" }'))
    assert any("field d" in p and "renders 6 bytes, span is 8" in p for p in got), got


def test_duplicate_column_is_named(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "a", label = "甲", column = 0, converter = "text" }',
                       '{ name = "b", label = "乙", column = 0, converter = "text" }'))
    assert any("duplicate column 0: fields a and b" in p for p in got), got


def test_columns_must_be_contiguous_from_zero(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "a", label = "甲", column = 0, converter = "text" }',
                       '{ name = "b", label = "乙", column = 2, converter = "text" }'))
    assert any("no field at column(s) 1" in p for p in got), got


def test_unknown_converter_is_named_with_field(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "nengaku", label = "年額", column = 0, converter = "amont" }'))
    assert any("record data: field nengaku: converter 'amont' is unknown" in p for p in got), got


def test_unknown_param_is_named_with_field_and_converter(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "n", label = "数", column = 0, converter = "number", widht = 3 }'))
    assert any("field n: converter number: param 'widht': unknown" in p for p in got), got


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "a", label = "甲", column = 0, converter = "nope" }',
                       '{ name = "b", label = "乙", column = 1, converter = "text", charset = "x" }',
                       '{ name = "Bad-Name", label = "丙", column = 2, converter = "text" }'))
    assert len(got) == 3, got


def test_personal_number_field_must_be_sensitive(tmp_path: Path) -> None:
    got = problems(csv(tmp_path, '{ name = "kojin_bango", label = "個人番号", column = 0, '
                       'converter = "digits", width = 12 }'))
    assert any("個人番号" in p and "sensitive" in p for p in got), got


def test_unknown_top_level_key_and_missing_source(tmp_path: Path) -> None:
    text = CSV_HEAD.replace('source = "unit test"', 'sorce = "typo"').format(
        fields='{ name = "a", label = "甲", column = 0, converter = "text" }')
    got = problems(write(tmp_path, text))
    assert "unknown key 'sorce'" in got and "source: required, a non-empty string" in got


def test_encoding_must_be_known_and_ascii_compatible(tmp_path: Path) -> None:
    for enc, fragment in (("klingon", "unknown encoding"), ("utf-16", "not ASCII-compatible")):
        text = CSV_HEAD.replace('"cp932"', f'"{enc}"').format(
            fields='{ name = "a", label = "甲", column = 0, converter = "text" }')
        assert any(fragment in p for p in problems(write(tmp_path, text))), enc


def test_file_name_must_match_name_and_version(tmp_path: Path) -> None:
    text = CSV_HEAD.format(fields='{ name = "a", label = "甲", column = 0, converter = "text" }')
    got = problems(write(tmp_path, text, name="cv-v2.toml"))
    assert any("does not match" in p for p in got), got


def test_several_kinds_need_constant_discriminators(tmp_path: Path) -> None:
    text = CSV_HEAD.format(fields='{ name = "a", label = "甲", column = 0, converter = "text" }') + """
[[records]]
kind = "end"
fields = [{ name = "a", label = "甲", column = 0, converter = "text" }]
"""
    got = problems(write(tmp_path, text))
    assert any("record data: a layout with several record kinds needs a constant" in p for p in got), got


# --- registry and shipped layouts ----------------------------------------------------------------

def test_registry_picks_latest_version_numerically(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    for v in ("2", "10", "9"):
        text = CSV_HEAD.replace('version = "1"', f'version = "{v}"').format(
            fields='{ name = "a", label = "甲", column = 0, converter = "text" }')
        write(tmp_path / "test", text, name=f"cv-v{v}.toml")
    reg = LayoutRegistry(tmp_path)
    assert reg.versions("test", "cv") == ["2", "9", "10"]
    assert reg.get("test", "cv").version == "10"
    assert reg.get("test", "cv", 9).version == "9"
    with pytest.raises(LookupError):
        reg.get("test", "cv", 3)
    with pytest.raises(LookupError):
        reg.get("test", "nothing")


def test_every_shipped_layout_loads() -> None:
    found = layouts.available()
    assert ("vendor", "hokenryo-kettei", "1") in found
    for partner, name, version in found:
        layout = layouts.get(partner, name, version)
        assert layout.source and layout.version == version
    assert len([p for p in LAYOUTS_DIR.glob("*/*.toml") if p.parent.name != "chukan"]) == len(found)


HOKENRYO = ["notice_no", "nendo", "atena_no", "hihokensha_no", "postal_code", "address", "name_kanji",
            "name_kana", "dankai", "nengaku", "choshu_kubun", *[f"ki{k:02d}" for k in range(1, 11)],
            "issue_date"]


def test_hokenryo_layouts_fields_and_settings() -> None:
    sjis = layouts.get("vendor", "hokenryo-kettei")
    utf8 = layouts.get("vendor", "hokenryo-kettei-utf8")
    assert [f.name for f in sjis.fields] == HOKENRYO == [f.name for f in utf8.fields]
    assert (sjis.encoding, utf8.encoding) == ("cp932", "utf-8")
    for lay in (sjis, utf8):
        assert lay.csv is not None and lay.csv.line_terminator == "\r\n" and not lay.csv.header
        assert lay.key == ("notice_no",)
        by = lay.kind().by_name
        assert all(not by[f"ki{k:02d}"].required for k in range(1, 11))
        assert by["choshu_kubun"].converter.codes == {"1": "特別徴収", "2": "普通徴収"}  # type: ignore[attr-defined]
        assert {f.name for f in lay.fields if f.sensitive} >= {"atena_no", "hihokensha_no", "address",
                                                                 "name_kanji", "name_kana"}
    assert sjis.kind().by_name["name_kanji"].converter.charset == "jis_x0208"
    assert utf8.kind().by_name["name_kanji"].converter.charset == "any"
