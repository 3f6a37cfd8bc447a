"""XML codec: the same Field definitions frame a CSV file and its XML twin; parsing is hardened."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import Layout, ParsedRecord, RecordError, csv_codec, load_layout, xml_codec
from mappings import parse as parse_any
from mappings import render as render_any

TWIN = """
partner = "test"
name = "twin"
version = "1"
source = "unit test"
encoding = "cp932"
[csv]
[xml]
root = "jukyushaList"
namespace = "urn:kaigo-bridge:test"
[[records]]
kind = "jukyusha"
element = "jukyusha"
fields = [
 {name="shubetsu", label="種別", column=0, xpath="@shubetsu", converter="constant", value="2"},
 {name="hihokensha_no", label="被保険者番号", column=1, xpath="hihokenshaNo", converter="digits", width=10},
 {name="name_kana", label="カナ", column=2, xpath="shimei/kana", converter="text", charset="halfwidth_kana"},
 {name="name_kanji", label="漢字", column=3, xpath="shimei/kanji", converter="text", required=false},
 {name="birth", label="生年月日", column=4, xpath="seinengappi", converter="date"},
 {name="kubun",label="区分",column=5,xpath="yokaigo/@kubun",converter="code",table="yokaigo_jotai_kubun_09"},
 {name="blank", label="ブランク", column=6, converter="filler"},
]
"""


def _load() -> Layout:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "twin-v1.toml"
        path.write_text(TWIN, encoding="utf-8")
        return load_layout(path)


LAYOUT = _load()


def rec(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"hihokensha_no": "0000012345", "name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ", "name_kanji": "山田　太郎",
                            "birth": dt.date(1950, 4, 1), "kubun": "21"}
    base.update(over)
    return base


def values(r: dict[str, Any]) -> dict[str, Any]:
    return {"shubetsu": "2", "name_kanji": None, **r}


def parse(data: bytes) -> list[Any]:
    return list(xml_codec.parse(LAYOUT, io.BytesIO(data), file="t.xml"))


GOLDEN = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<jukyushaList xmlns="urn:kaigo-bridge:test">\n'
          '<jukyusha xmlns="urn:kaigo-bridge:test" shubetsu="2"><hihokenshaNo>0000012345</hihokenshaNo>'
          '<shimei><kana>ﾔﾏﾀﾞ ﾀﾛｳ</kana><kanji>山田　太郎</kanji></shimei><seinengappi>19500401</seinengappi>'
          '<yokaigo kubun="21"/></jukyusha>\n'
          '</jukyushaList>\n').encode()


def test_golden_document_written_by_hand() -> None:
    assert b"".join(xml_codec.render(LAYOUT, [rec()])) == GOLDEN
    [got] = parse(GOLDEN)
    assert isinstance(got, ParsedRecord) and got.values == values(rec())


def test_csv_and_xml_twins_carry_the_same_values() -> None:
    recs = [rec(), rec(hihokensha_no="0000099999", name_kanji=None, kubun="12")]
    via_csv = list(parse_any(LAYOUT, b"".join(render_any(LAYOUT, recs, form="csv")), form="csv"))
    via_xml = list(parse_any(LAYOUT, b"".join(render_any(LAYOUT, recs, form="xml")), form="xml"))
    assert all(isinstance(r, ParsedRecord) for r in via_csv + via_xml)
    csv_values = [r.values for r in via_csv if isinstance(r, ParsedRecord)]
    xml_values = [r.values for r in via_xml if isinstance(r, ParsedRecord)]
    assert csv_values == xml_values == [values(r) for r in recs]
    line = "2,0000012345,ﾔﾏﾀﾞ ﾀﾛｳ,山田　太郎,19500401,21,\r\n"
    assert b"".join(csv_codec.render(LAYOUT, recs[:1])) == line.encode("cp932")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("山田<>&\"'　，,;ａ1")), min_size=1, max_size=10), min_size=1,
                max_size=4))
def test_round_trip_with_markup_characters(names: list[str]) -> None:
    recs = [rec(name_kanji=n) for n in names]
    got = parse(b"".join(xml_codec.render(LAYOUT, recs)))
    assert [g.values for g in got] == [values(r) for r in recs]


def test_chunked_source_and_bad_records_in_the_middle() -> None:
    body = GOLDEN.decode()
    one = body.split("\n")[2]
    bad_date = one.replace("19500401", "19500231")
    dup = one.replace("<seinengappi>", "<seinengappi>19500401</seinengappi><seinengappi>")
    stray = one.replace("<shimei>", "<extra>1</extra><shimei>")
    missing = one.replace("<hihokenshaNo>0000012345</hihokenshaNo>", "")
    lines = [*body.split("\n")[:2], one, bad_date, dup, stray, missing, one, "</jukyushaList>"]
    doc = "\n".join(lines).encode()
    pieces = (doc[i:i + 7] for i in range(0, len(doc), 7))
    got = list(xml_codec.parse(LAYOUT, pieces, file="t.xml"))
    assert [type(g).__name__ for g in got] == ["ParsedRecord", "RecordError", "RecordError", "RecordError",
                                              "RecordError", "ParsedRecord"]
    assert [(g.record_no, g.fields, g.rules) for g in got if isinstance(g, RecordError)] == [
        (2, ("birth",), ("date",)), (3, ("birth",), ("duplicate_element",)),
        (4, (None,), ("unexpected_element",)), (5, ("hihokensha_no",), ("required",))]


def test_broken_xml_is_reported_after_the_good_records() -> None:
    doc = GOLDEN.replace(b"</jukyusha>\n</jukyushaList>",
                         b"</jukyusha>\n<jukyusha><hihokenshaNo>1</jukyushaList>")
    got = parse(doc)
    assert isinstance(got[0], ParsedRecord)
    assert isinstance(got[-1], RecordError) and got[-1].rules == ("xml_syntax",) and got[-1].record_no == 2


def test_doctype_entities_are_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE jukyushaList [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              b'<jukyushaList xmlns="urn:kaigo-bridge:test"><jukyusha shubetsu="2">'
              b'<hihokenshaNo>&c;</hihokenshaNo></jukyusha></jukyushaList>')
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<jukyushaList xmlns="urn:kaigo-bridge:test"><jukyusha>'
           b'<hihokenshaNo>&x;</hihokenshaNo></jukyusha></jukyushaList>')
    for doc in (laughs, xxe):
        got = parse(doc)
        assert len(got) == 1 and isinstance(got[0], RecordError) and got[0].rules == ("doctype",)


def test_other_encodings_and_wrong_root_are_refused() -> None:
    sjis = GOLDEN.replace(b'encoding="UTF-8"', b'encoding="Shift_JIS"').decode().encode("cp932")
    [err] = parse(sjis)
    assert isinstance(err, RecordError) and err.rules == ("xml_encoding",)
    [err] = parse(GOLDEN.replace(b"jukyushaList", b"other"))
    assert isinstance(err, RecordError) and err.rules == ("root",)


def test_a_namespace_uri_may_hold_a_closing_brace() -> None:
    """lxml takes any URI (etree.QName refused "{a}b}x" with a ValueError, found by fuzzing)."""
    from mappings.xml_codec import split_tag

    assert split_tag("{a}b}x") == ("a}b", "x")
    assert split_tag("{urn:x}name") == ("urn:x", "name")
    assert split_tag("plain") == (None, "plain")
