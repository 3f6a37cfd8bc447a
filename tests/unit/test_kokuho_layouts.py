"""国保連 data layouts: what the evidence lists, layout choice by (交換情報識別番号, month), and a
property round trip parse(render(x)) == x for 5311 through the whole frame."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import kokuho_frame as kf
from mappings import kokuho_kyufu
from mappings.converters.codes import Code
from mappings.layout import Field
from mappings.records import ParsedRecord, RecordError
from mappings.registry import layouts

JUKYUSHA = layouts.get("kokuho", "jukyusha-ido", "1")

# LAYOUTS-EVIDENCE.md §3, a few columns by hand (1-based): position → label.
EXPECTED_LABELS = {1: "レコード種別", 3: "交換情報識別番号", 8: "被保険者番号", 21: "要介護状態区分コード",
                   67: "国民健康保険資格　個人番号（国保）", 79: "二割負担　適用終了年月日", 80: "ブランク"}


def test_5311_has_the_80_evidence_columns_in_order() -> None:
    fields = JUKYUSHA.fields
    assert len(fields) == 80 and [f.column.index for f in fields if f.column] == list(range(80))
    for pos, label in EXPECTED_LABELS.items():
        assert fields[pos - 1].label == label


def test_5311_personal_fields_are_sensitive() -> None:
    by = JUKYUSHA.kind().by_name
    for name in ("hihokensha_no", "name_kana", "birth_ymd", "kokuho_kojin_no", "kokuho_hihokenshasho_no",
                 "koki_hihokensha_no"):
        assert by[name].sensitive, name


def test_5311_source_cites_the_evidence() -> None:
    assert "LAYOUTS-EVIDENCE.md §0, §3 (" in JUKYUSHA.source and "[CODE]" in JUKYUSHA.source


def _index(tmp_path: Path, body: str) -> kf.ExchangeIndex:
    path = tmp_path / "exchanges.toml"
    path.write_text(body, encoding="utf-8")
    return kf.ExchangeIndex(path)


def test_layout_chosen_by_id_and_month(tmp_path: Path) -> None:
    index = _index(tmp_path, """
[[exchange]]
id = "5311"
layout = "jukyusha-ido"
version = "1"
valid_until = "201803"
[[exchange]]
id = "5311"
layout = "frame"
version = "1"
valid_from = "201804"
""")
    old, new = index.entry("5311", "201803"), index.entry("5311", "201804")
    assert old is not None and new is not None and (old.layout, new.layout) == ("jukyusha-ido", "frame")
    assert index.entry("5361", "201804") is None


def test_data_record_outside_every_period_is_an_error(tmp_path: Path) -> None:
    index = _index(tmp_path, """
[[exchange]]
id = "5311"
layout = "jukyusha-ido"
version = "1"
valid_from = "202701"
""")
    data = b"".join(kf.render("5311", CONTROL, [RECORD]))  # shipped index: no period
    got = list(kf.parse(data, file="f", index=index))
    errors = [e for e in got if isinstance(e, RecordError)]
    assert [(e.record_no, e.fields, e.rules) for e in errors] == [(2, ("exchange_id",), ("exchange_id",))]


CONTROL = {"hokensha_no": "131128", "shori_ym": "202604", "baitai_kubun": "1"}
RECORD = {"ido_ymd": dt.date(2026, 4, 1), "ido_kubun": "1", "ido_jiyu": "01", "sho_hokensha_no": "131128",
          "hihokensha_no": "0000000017"}


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


def _value(f: Field) -> st.SearchStrategy[Any]:
    conv, p = f.converter, f.params
    if isinstance(conv, Code):
        return st.sampled_from(sorted(conv.codes))
    if conv.name == "digits":
        return _digits(p["width"]) if "width" in p else st.integers(1, p.get("max_width", 8)).flatmap(_digits)
    if conv.name == "date":
        return st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))
    if conv.name in ("amount", "number"):
        return st.integers(0, 999_999)
    if f.name == "name_kana":
        return st.text(alphabet="ｱｲｳｴｵｶﾞﾊﾟｰ ", min_size=1, max_size=25).map(str.strip).filter(bool)
    return st.text(alphabet="0123456789ABCZ-", min_size=1, max_size=20)


OPTIONAL = [f for f in JUKYUSHA.fields if f.converter.name not in ("constant", "filler") and f.name != "record_no"]


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    for f in OPTIONAL:
        if f.required or draw(st.booleans()):
            rec[f.name] = draw(_value(f))
    return rec


@settings(max_examples=60, deadline=None)
@given(st.lists(_records(), min_size=0, max_size=4), st.integers(1, 999_999))
def test_5311_round_trip(records: list[dict[str, Any]], file_no: int) -> None:
    data = b"".join(kf.render("5311", CONTROL, records, file_no=file_no))
    items = list(kf.parse(data, file="f", file_no=file_no))
    got = [x for x in items if isinstance(x, ParsedRecord)]
    assert len(got) == len(items), [str(x) for x in items if isinstance(x, RecordError)]
    control, *rows = got
    assert control["record_count"] == len(records) and control["file_kanri_no"] == f"{file_no:06d}"
    assert len(rows) == len(records)
    for n, (row, rec) in enumerate(zip(rows, records, strict=True), start=2):
        values = {k: v for k, v in row.values.items() if v is not None and k not in ("record_type", "exchange_id")}
        assert values == {**rec, "record_no": n}


# --- 給付実績 (1116: H12 + D53), a file written by hand from LAYOUTS-EVIDENCE.md §1 -------------

KYUFU = layouts.get("kokuho", "kyufu-jisseki", "1")


def test_kyufu_kinds_have_the_evidence_column_counts() -> None:
    counts = {k.name: len(k.fields) for k in KYUFU.kinds}
    assert counts == {"H1": 96, "D1": 34, "D5": 30, "D6": 19, "D7": 16, "D8": 24, "T1": 62}
    h1 = KYUFU.kind("H1").fields
    assert (h1[30].label, h1[94].label, h1[95].label) == ("宛名番号", "審査年月", "ブランク")
    assert h1[30].sensitive and h1[7].sensitive


def _row(*cols: str, total: int) -> str:
    return ",".join(cols + ("",) * (total - len(cols)))


def _h1(no: int, hihokensha: str) -> str:
    return _row("2", str(no), "1116", "", "H1", "1", "131128", hihokensha, "202604", "1", "1312345678", "001",
                total=96)


def _d1(no: int, hihokensha: str) -> str:
    return _row("2", str(no), "1116", "", "D1", "131128", hihokensha, "202604", "1312345678", "001", "11",
                "1111", "250", total=34)


def _t1(no: int, hihokensha: str) -> str:
    return _row("2", str(no), "1116", "", "T1", "131128", hihokensha, "202604", "1312345678", "001", "11",
                total=62)


def _kyufu_file(rows: list[str]) -> bytes:
    head = f"1,1,000,{len(rows)},111,00,131128,0000000000,13,1,202605,000001,"
    body = [head, *rows, f"3,{len(rows) + 2}"]
    return ("\r\n".join(body) + "\r\n").encode("cp932")


def _claims(rows: list[str]) -> list[Any]:
    return list(kokuho_kyufu.claims(kf.parse(_kyufu_file(rows), file="K111.CSV"), file="K111.CSV"))


def test_kyufu_records_grouped_under_their_h1() -> None:
    got = _claims([_h1(2, "0000000017"), _d1(3, "0000000017"), _t1(4, "0000000017"),
                   _h1(5, "0000000025"), _d1(6, "0000000025")])
    assert [type(x).__name__ for x in got] == ["ParsedRecord", "Claim", "Claim"]
    first, second = got[1], got[2]
    assert [r.kind for r in first.records] == ["H1", "D1", "T1"]
    assert [r.record_no for r in second.records] == [5, 6]
    assert first.rows[0]["tanisu"] == 250 and first.head["service_ym"].month == 4


def test_kyufu_row_before_any_h1_and_row_of_another_person() -> None:
    got = _claims([_d1(2, "0000000017"), _h1(3, "0000000017"), _d1(4, "0000000099")])
    errors = [(e.record_no, e.rules) for e in got if isinstance(e, RecordError)]
    assert errors == [(2, ("claim_head",)), (4, ("claim_key",))]
    claims = [c for c in got if isinstance(c, kokuho_kyufu.Claim)]
    assert len(claims) == 1 and claims[0].rows == ()


def test_kyufu_kind_without_a_layout_is_a_record_error() -> None:
    d2 = _row("2", "3", "1116", "", "D2", "131128", "0000000017", "202604", total=62)
    got = _claims([_h1(2, "0000000017"), d2])
    errors = [e for e in got if isinstance(e, RecordError)]
    assert [(e.record_no, e.rules) for e in errors] == [(3, ("record_kind",))]


# --- 5361, 突合結果, 給付実績更新結果 ------------------------------------------------------------


def test_5361_file_by_hand() -> None:
    record = {**RECORD, "totsugo_kubun": "1", "nintei_yuko_ym": dt.date(2026, 4, 1), "name_kana": "ｶｲｺﾞ ﾀﾛｳ",
              "kohi_futansha_no": "12345678"}
    data = b"".join(kf.render("5361", {"hokensha_no": "131128", "baitai_kubun": "1"}, [record]))
    # LAYOUTS-EVIDENCE.md §0: the vendor's fixed 5361 control values; §3: 84 columns, カナ氏名 quoted
    expected = ("1,1,000,1,536,00,131128,0000000000,00,1,000000,000001,\r\n"
                + _row("2", "2", "5361", "1", "202604", "", "", "20260401", "1", "01", "131128", "0000000017",
                       '"ｶｲｺﾞ ﾀﾛｳ"', *[""] * 6, "12345678", total=84) + "\r\n"
                + "3,3\r\n").encode("cp932")
    assert data == expected
    got = [x for x in kf.parse(data, file="f") if isinstance(x, ParsedRecord)]
    assert len(got) == 2 and got[1]["kohi_futansha_no"] == "12345678"


def test_totsugo_kekka_parses_with_its_inserted_columns() -> None:
    line = _row("2", "2", "5331", "01", "1", "20260401", "1", "01", "131128", "0000000017", *[""] * 7, "12345678",
                total=82)
    data = ("1,1,0,1,533,0,131128,0,0,1,202604,1,\r\n" + line + "\r\n3,3\r\n").encode("cp932")
    control, row = list(kf.parse(data, file="f"))
    assert isinstance(control, ParsedRecord) and isinstance(row, ParsedRecord), str(row)
    assert (row["totsugo_kekka_kubun"], row["kohi_futansha_no"], row["ido_jiyu"]) == ("01", "12345678", "01")


def test_koshin_kekka_h1_d8_and_other_records() -> None:
    h1 = _row("2", "2", "1145", "", "H1", "1", "131128", "0000000017", "202604", total=96)
    d8 = _row("2", "3", "1145", "", "D8", "1", "131128", "0000000017", "202604", "1", "20260510", total=25)
    d1 = _row("2", "4", "1145", "", "D1", "131128", "0000000017", "202604", "1312345678", "001", total=11)
    data = ("1,1,0,3,114,0,131128,0,0,1,202605,1,\r\n" + "\r\n".join([h1, d8, d1]) + "\r\n3,5\r\n").encode()
    items = list(kf.parse(data, file="f"))
    got = [x for x in items if isinstance(x, ParsedRecord)]
    assert len(got) == len(items) and [x.kind for x in got] == ["control", "H1", "D8", "other"]
    assert got[2]["uketsuke_ymd"] == dt.date(2026, 5, 10) and got[3]["record_code"] == "D1"


def test_every_index_entry_names_a_layout_with_the_data_record_prefix() -> None:
    index = kf.default_index()
    assert {e.id for e in index.entries} >= {"5311", "5361", "1116", "1145"}
    for entry in index.entries:
        layout = index.layout(entry)
        for kind in layout.kinds:
            first = [(f.name, f.converter.name) for f in kind.fields[:3]]
            assert first[:2] == [("record_type", "constant"), ("record_no", "number")], (entry.id, kind.name)
            assert first[2][0] == "exchange_id"


def test_bad_index_entry_is_reported(tmp_path: Path) -> None:
    with pytest.raises(kf.KokuhoFrameError, match="colour"):
        _index(tmp_path, '[[exchange]]\nid = "5311"\nlayout = "x"\nversion = "1"\ncolour = "red"\n')
