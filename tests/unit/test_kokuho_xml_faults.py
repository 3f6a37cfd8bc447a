"""The 国保連 XML form under bad input: each malformed file gives the right RecordError (file,
record number, field, rule; personal values masked), never another exception; random valid
records round-trip and parse as their CSV twin does; the loader's default_xpath."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import LayoutError, load_layout
from mappings import kokuho_frame as kf
from mappings import kokuho_xml as kx
from mappings.records import ParsedRecord, RecordError

GOLDEN = (Path(__file__).resolve().parents[1] / "golden" / "kokuho" / "jukyusha-ido-v1.xml").read_bytes()
NS = b'xmlns="urn:kaigo-bridge:kokuho:jukyusha-ido:1"'
LINES = GOLDEN.split(b"\n")  # 0 declaration, 1 root, 2 control, 3-4 data, 5 end, 6 close
END = LINES[5] + b"\n"


def _swap(old: bytes, new: bytes, count: int = 1) -> bytes:
    assert old in GOLDEN
    return GOLDEN.replace(old, new, count)


def _all(data: Any) -> list[ParsedRecord | RecordError]:
    got = list(kx.parse(data, file="JK531.XML"))
    assert all(isinstance(x, ParsedRecord | RecordError) for x in got)
    return got


def _hits(data: bytes) -> list[tuple[int, str | None, str]]:
    return [(e.record_no, p.field, p.rule) for e in _all(data) if isinstance(e, RecordError) for p in e.problems]


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE kokuhoFile [<!ENTITY a "aaaaaaaaaa">'
          b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
          + LINES[1] + LINES[2].replace(b"<jigyosho_no>0<", b"<jigyosho_no>&c;<") + b"</kokuhoFile>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE kokuhoFile [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       + LINES[1] + LINES[2].replace(b"<jigyosho_no>0<", b"<jigyosho_no>&x;<") + b"</kokuhoFile>")
SECOND = LINES[4]

# name: (file, record number, field, rule) that must be among the reported problems
CORPUS = {
    "bad_count": (_swap(b"<record_count>2<", b"<record_count>3<"), 1, "record_count", "record_count"),
    "missing_end": (GOLDEN.replace(END, b""), 3, None, "end_missing"),
    "duplicate_record_no": (_swap(b"<record_no>3<", b"<record_no>2<"), 2, "record_no", "record_no_sequence"),
    "after_end": (GOLDEN.replace(END, END + SECOND.replace(b">3<", b">5<", 1) + b"\n"), 5, None, "after_end"),
    "no_control": (GOLDEN.replace(LINES[2] + b"\n", b""), 2, None, "control_missing"),
    "doctype_billion_laughs": (LAUGHS, 0, None, "doctype"),
    "doctype_external_entity": (XXE, 0, None, "doctype"),
    "garbage": (b"\x00\xff\x81garbage<<<", 1, None, "xml_syntax"),
    "bad_utf8_in_record_3": (_swap(b"<ido_jiyu>99<", b"<ido_jiyu>9\xff<"), 3, None, "xml_syntax"),
    "truncated": (GOLDEN[:GOLDEN.index(b"<ido_kubun>3")], 3, None, "xml_syntax"),
    "wrong_root_namespace": (_swap(b"kokuho:frame:1", b"kokuho:frame:9"), 0, None, "root"),
    "record_in_unknown_namespace": (GOLDEN.replace(SECOND, SECOND.replace(NS, b'xmlns="urn:other"')), 3, None,
                                    "namespace"),
    "unknown_record_element": (GOLDEN.replace(END, b"<note>x</note>\n" + END), 4, None, "unknown_element"),
    "unknown_element_in_record": (_swap(b"<ido_kubun>3<", b"<foo>1</foo><ido_kubun>3<"), 3, None,
                                  "unexpected_element"),
    "unknown_exchange_id": (_swap(b"<exchange_id>5311</exchange_id><ido_ymd>20260402",
                                  b"<exchange_id>9999</exchange_id><ido_ymd>20260402"), 3, "exchange_id",
                            "exchange_id"),
    "other_edition": (_swap(b"<exchange_id>5311</exchange_id><ido_ymd>20260402",
                            b"<exchange_id>1116</exchange_id><ido_ymd>20260402"), 3, "exchange_id", "namespace"),
    "field_out_of_order": (_swap(b"<ido_kubun>3</ido_kubun><ido_jiyu>99</ido_jiyu>",
                                 b"<ido_jiyu>99</ido_jiyu><ido_kubun>3</ido_kubun>"), 0, None, "xsd"),
    "bad_value": (_swap(b">0000000025<", b">00000000251<"), 3, "hihokensha_no", "width"),
    "end_with_more": (_swap(b"<record_no>4</record_no></end>", b"<record_no>4</record_no><x/></end>"), 4, None,
                      "end_record"),
    "content_after_root": (GOLDEN + b"<x/>", 5, None, "xml_syntax"),
    "empty": (b"", 1, None, "xml_syntax"),
    "huge_record_no": (_swap(b"<record_no>3<", b"<record_no>" + b"9" * 30 + b"<"), 3, "record_no", "record_no"),
    "shift_jis": (_swap(b'encoding="UTF-8"', b'encoding="Shift_JIS"'), 0, None, "xml_encoding"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_corpus(name: str) -> None:
    data, record_no, field, rule = CORPUS[name]
    hits = _hits(data)
    assert (record_no, field, rule) in hits, hits


def test_structural_faults_also_fail_the_xsd() -> None:
    for name in ("missing_end", "record_in_unknown_namespace", "unknown_record_element",
                 "unknown_element_in_record", "after_end", "no_control"):
        assert (0, None, "xsd") in _hits(CORPUS[name][0]), name


def test_duplicate_names_the_rule() -> None:
    (err,) = [e for e in _all(CORPUS["duplicate_record_no"][0]) if isinstance(e, RecordError) and e.record_no == 2]
    assert "duplicate" in str(err) and err.file == "JK531.XML" and err.line == 5


def test_personal_values_never_in_errors() -> None:
    for name in CORPUS:
        text = " ".join(str(e) for e in _all(CORPUS[name][0]) if isinstance(e, RecordError))
        for value in ("00000000251", "0000000025", "0000000017", "123456789018", "ﾔﾏﾀﾞ", "AB<12>&3"):
            assert value not in text, (name, value)


def test_entities_are_not_expanded() -> None:
    got = _all(LAUGHS)
    assert len(got) == 1 and "aaaa" not in str(got[0])


def test_good_records_before_a_fault_are_still_given() -> None:
    got = _all(CORPUS["bad_utf8_in_record_3"][0])
    assert [type(x).__name__ for x in got] == ["ParsedRecord", "ParsedRecord", "RecordError"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_record_errors_only(data: bytes) -> None:
    got = _all(data)
    assert got and all(isinstance(x, RecordError) for x in got)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(GOLDEN) - 1), st.integers(0, 255))
def test_any_changed_byte_gives_records_or_record_errors(at: int, byte: int) -> None:
    _all(GOLDEN[:at] + bytes([byte]) + GOLDEN[at + 1:])


def test_not_a_binary_stream_is_a_frame_error() -> None:
    with pytest.raises(kf.KokuhoFrameError):
        list(kx.parse(["text"]))  # type: ignore[list-item]


# --- random valid records ---------------------------------------------------------------------

KANA = st.text(st.sampled_from(list("ｱｲｳｴｵｶﾞﾊﾟﾝｰ ")), min_size=1, max_size=25).map(str.strip).filter(bool)
DATES = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
IDO = st.fixed_dictionaries({
    "ido_ymd": DATES, "ido_kubun": st.sampled_from(["1", "2", "3"]), "ido_jiyu": st.sampled_from(["01", "99"]),
    "sho_hokensha_no": st.from_regex(r"[0-9]{6}", fullmatch=True),
    "hihokensha_no": st.from_regex(r"[0-9]{10}", fullmatch=True),
}, optional={
    "name_kana": KANA, "birth_ymd": DATES, "homon_gendo_gaku": st.integers(0, 999999),
    "kokuho_hihokenshasho_no": st.text(st.sampled_from(list("AZ09<>&\"' -")), min_size=1, max_size=20)
    .filter(lambda s: s.strip() == s),
    "kokuho_kojin_no": st.from_regex(r"[0-9]{12}", fullmatch=True),
})


@settings(max_examples=40, deadline=None)
@given(st.lists(IDO, max_size=5))
def test_round_trip_and_csv_twin(records: list[dict[str, Any]]) -> None:
    control = {"hokensha_no": "131128", "shori_ym": "202604", "baitai_kubun": "1"}
    via_xml = _all(b"".join(kx.render("5311", control, records)))
    via_csv = list(kf.parse(b"".join(kf.render("5311", control, records))))
    assert via_xml == via_csv
    assert all(isinstance(x, ParsedRecord) for x in via_xml) and len(via_xml) == len(records) + 1
    for got, given_values in zip(via_xml[1:], records, strict=True):
        assert isinstance(got, ParsedRecord)
        assert {k: v for k, v in got.values.items() if v is not None and k in given_values} == given_values


# --- the loader's default_xpath ---------------------------------------------------------------

LAYOUT = """
partner = "test"
name = "dx"
version = "1"
source = "unit test"
encoding = "cp932"
[xml]
root = "r"
default_xpath = "{xpath}"
[[records]]
kind = "k"
element = "k"
fields = [
 {{name="no", label="番号", converter="digits", width=3}},
 {{name="kana", label="カナ", converter="text", xpath="shimei/@kana", required=false}},
 {{name="blank", label="ブランク", converter="filler"}},
]
"""


def _layout(tmp_path: Path, xpath: str) -> Any:
    path = tmp_path / "dx-v1.toml"
    path.write_text(LAYOUT.format(xpath=xpath), encoding="utf-8")
    return load_layout(path)


def test_default_xpath_names_the_element_and_a_field_may_override(tmp_path: Path) -> None:
    layout = _layout(tmp_path, "v/{name}")
    no, kana, blank = layout.kind("k").fields
    assert (no.xpath.path, kana.xpath.path, blank.xpath) == ("v/no", "shimei/@kana", None)


def test_default_xpath_without_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="default_xpath"):
        _layout(tmp_path, "same")
