"""The 国保連 file in XML: hand-written golden files both ways, the CSV twin parses to the same
records, the shipped XSD is what the layouts say and what rendered files satisfy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from lxml import etree

from mappings import YearMonth, kokuho_xsd
from mappings import kokuho_frame as kf
from mappings import kokuho_xml as kx
from mappings.records import ParsedRecord, RecordError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "kokuho"

IDO_CONTROL = {"hokensha_no": "131128", "shori_ym": "202604", "baitai_kubun": "1"}
IDO = [
    {"ido_ymd": dt.date(2026, 4, 1), "ido_kubun": "1", "ido_jiyu": "01", "sho_hokensha_no": "131128",
     "hihokensha_no": "0000000017", "name_kana": "ﾔﾏﾀﾞ ﾊﾅｺ", "birth_ymd": dt.date(1940, 1, 5), "seibetsu": "2",
     "shikaku_shutoku_ymd": dt.date(2005, 1, 5), "yokaigo_jotai_kubun": "22",
     "nintei_start_ymd": dt.date(2026, 4, 1), "nintei_end_ymd": dt.date(2027, 3, 31), "homon_gendo_gaku": 19705,
     "kokuho_hihokenshasho_no": "AB<12>&3", "kokuho_kojin_no": "123456789018"},
    {"ido_ymd": dt.date(2026, 4, 2), "ido_kubun": "3", "ido_jiyu": "99", "sho_hokensha_no": "131128",
     "hihokensha_no": "0000000025", "shikaku_soshitsu_ymd": dt.date(2026, 4, 2)},
]

KYUFU_CONTROL = {"volume_no": "0", "data_type": "111", "fukushi_jimusho_no": "0", "hokensha_no": "131128",
                 "jigyosho_no": "0", "todofuken_no": "13", "baitai_kubun": "1", "shori_ym": "202605"}
APRIL = YearMonth(2026, 4)
_CLAIM = {"exchange_id": "1116", "input_id": "7131", "sho_hokensha_no": "131128", "hihokensha_no": "0000000017",
          "jigyosho_no": "1371100011", "seiri_no": "001", "shinsa_ym": YearMonth(2026, 5)}
KYUFU = [
    {"_kind": "H1", **_CLAIM, "sakusei_kubun": "1", "service_ym": APRIL, "jisseki_kubun": "1",
     "birth_ymd": dt.date(1940, 1, 5), "seibetsu": "2", "yokaigo_jotai_kubun": "22",
     "nintei_start_ymd": dt.date(2026, 4, 1), "hoken_kyufuritsu": 90, "mae_hoken_tanisu": 12000,
     "mae_hoken_seikyu": 108000},
    {"_kind": "D1", **_CLAIM, "service_ym": APRIL, "service_shurui": "11", "service_komoku": "1111", "tanisu": 400,
     "nissu": 30, "service_tanisu": 12000, "tekiyo": "入浴&介助 <2>", "saishinsa_kaisu": 0},
    {"_kind": "T1", **_CLAIM, "service_ym": APRIL, "service_shurui": "11", "jitsu_nissu": 30,
     "keikaku_tanisu": 12000, "hoken_tanisu_gokei": 12000, "hoken_tanka": 1000, "hoken_seikyu": 108000,
     "hoken_futan": 12000, "ato_hoken_seikyu": -1000},
]


def _q(*cols: str) -> str:
    return ",".join(f'"{c}"' for c in cols)


def _at(total: int, cols: dict[int, str]) -> list[str]:
    return [cols.get(i, "") for i in range(total)]


# The CSV twins, written by hand from LAYOUTS-EVIDENCE.md §0, §1, §3 (column numbers there are
# 1-based, here 0-based).
IDO_CSV = (
    _q("1", "1", "0", "2", "531", "0", "131128", "0", "0", "1", "202604", "000003", "") + "\r\n"
    + _q(*_at(80, {0: "2", 1: "2", 2: "5311", 3: "20260401", 4: "1", 5: "01", 6: "131128", 7: "0000000017",
                   8: "ﾔﾏﾀﾞ ﾊﾅｺ", 9: "19400105", 10: "2", 11: "20050105", 20: "22", 21: "20260401",
                   22: "20270331", 27: "19705", 65: "AB<12>&3", 66: "123456789018"})) + "\r\n"
    + _q(*_at(80, {0: "2", 1: "3", 2: "5311", 3: "20260402", 4: "3", 5: "99", 6: "131128", 7: "0000000025",
                   12: "20260402"})) + "\r\n"
    + _q("3", "4", "") + "\r\n").encode("cp932")
KYUFU_CSV = (
    "1,1,0,3,111,0,131128,0,13,1,202605,000001,\r\n"
    + ",".join(_at(96, {0: "2", 1: "2", 2: "1116", 3: "7131", 4: "H1", 5: "1", 6: "131128", 7: "0000000017",
                        8: "202604", 9: "1", 10: "1371100011", 11: "001", 18: "19400105", 19: "2", 20: "22",
                        22: "20260401", 41: "90", 45: "12000", 46: "108000", 94: "202605"})) + "\r\n"
    + ",".join(_at(34, {0: "2", 1: "3", 2: "1116", 3: "7131", 4: "D1", 5: "131128", 6: "0000000017", 7: "202604",
                        8: "1371100011", 9: "001", 10: "11", 11: "1111", 12: "400", 13: "30", 17: "12000",
                        21: "入浴&介助 <2>", 31: "0", 33: "202605"})) + "\r\n"
    + ",".join(_at(62, {0: "2", 1: "4", 2: "1116", 3: "7131", 4: "T1", 5: "131128", 6: "0000000017", 7: "202604",
                        8: "1371100011", 9: "001", 10: "11", 11: "30", 12: "12000", 17: "12000", 18: "1000",
                        19: "108000", 20: "12000", 44: "-1000", 61: "202605"})) + "\r\n"
    + "3,5,\r\n").encode("cp932")


def _golden(name: str) -> bytes:
    return (GOLDEN / f"{name}.xml").read_bytes()


def test_render_gives_the_hand_written_files() -> None:
    assert b"".join(kx.render("5311", IDO_CONTROL, IDO, file_no=3)) == _golden("jukyusha-ido-v1")
    assert b"".join(kx.render("1116", KYUFU_CONTROL, KYUFU)) == _golden("kyufu-jisseki-v1")


def test_the_csv_twins_are_what_the_csv_frame_writes() -> None:
    # the hand-written CSV is checked against the CSV frame too, so the twins below are right
    assert b"".join(kf.render("5311", IDO_CONTROL, IDO, file_no=3)) == IDO_CSV
    assert b"".join(kf.render("1116", KYUFU_CONTROL, KYUFU)) == KYUFU_CSV


def _values(items: list[Any]) -> list[tuple[int, str, dict[str, Any]]]:
    assert all(isinstance(x, ParsedRecord) for x in items), [str(x) for x in items]
    return [(x.record_no, x.kind, x.values) for x in items]


def test_parse_golden_gives_the_records_given() -> None:
    got = list(kx.parse(_golden("jukyusha-ido-v1"), file="JK531.XML", file_no=3))
    (_, kind, control), *data = _values(got)
    assert kind == "control" and control["record_count"] == 2 and control["file_kanri_no"] == "000003"
    for (no, _, values), given in zip(data, IDO, strict=True):
        assert {k: v for k, v in values.items() if v is not None} == {
            "record_type": "2", "record_no": no, "exchange_id": "5311", **given}
    got = list(kx.parse(_golden("kyufu-jisseki-v1"), file="KY111.XML"))
    assert [(no, kind) for no, kind, _ in _values(got)] == [(1, "control"), (2, "H1"), (3, "D1"), (4, "T1")]
    for (_, kind, values), given in zip(_values(got)[1:], KYUFU, strict=True):
        assert {k: v for k, v in values.items() if v is not None} == {
            "record_type": "2", "record_no": values["record_no"], "record_code": kind,
            **{k: v for k, v in given.items() if k != "_kind"}}


def test_csv_and_xml_forms_parse_to_equal_records() -> None:
    for csv_bytes, name in ((IDO_CSV, "jukyusha-ido-v1"), (KYUFU_CSV, "kyufu-jisseki-v1")):
        via_csv = list(kf.parse(csv_bytes, file="f"))
        via_xml = list(kx.parse(_golden(name), file="f"))
        assert _values(via_csv) == _values(via_xml)


def test_personal_values_are_masked_in_reprs() -> None:
    text = repr(list(kx.parse(_golden("jukyusha-ido-v1"))))
    assert "123456789018" not in text and "0000000017" not in text and "ﾔﾏﾀﾞ" not in text


def test_rendered_files_satisfy_the_shipped_xsd() -> None:
    for name in ("jukyusha-ido-v1", "kyufu-jisseki-v1"):
        kx.schema().assertValid(etree.fromstring(_golden(name)))


def test_committed_xsd_is_what_the_layouts_say() -> None:
    assert kokuho_xsd.stale() == []
    files = kokuho_xsd.generate()
    assert sorted(files) == sorted(p.name for p in kx.XSD_DIR.glob("*.xsd"))
    # one XSD per layout edition, each its own namespace
    spaces = [etree.fromstring(t.encode()).get("targetNamespace") for t in files.values()]
    assert len(set(spaces)) == len(spaces)


def test_stale_xsd_is_noticed(tmp_path: Path) -> None:
    for name, text in kokuho_xsd.generate().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert kokuho_xsd.stale(tmp_path) == []
    ido = tmp_path / "jukyusha-ido-v1.xsd"
    ido.write_text(ido.read_text("utf-8").replace('name="name_kana" type="xs:string" minOccurs="0"',
                                                  'name="name_kana" type="xs:string"'), encoding="utf-8")
    assert kokuho_xsd.stale(tmp_path) == ["jukyusha-ido-v1.xsd"]


def test_xsd_declares_every_field_in_order_with_its_optionality() -> None:
    xs = "{http://www.w3.org/2001/XMLSchema}"
    tree = etree.parse(str(kx.XSD_DIR / "jukyusha-ido-v1.xsd"))
    data = tree.find(f"{xs}element[@name='data']")
    assert data is not None
    fields = [(e.get("name"), e.get("minOccurs", "1")) for e in data.iter(f"{xs}element")][1:]
    assert len(fields) == 79  # 80 columns less the ブランク (LAYOUTS-EVIDENCE.md §3)
    assert fields[:3] == [("record_type", "1"), ("record_no", "1"), ("exchange_id", "1")]
    assert ("name_kana", "0") in fields and ("hihokensha_no", "1") in fields


def test_file_no_checked_when_expected() -> None:
    got = list(kx.parse(_golden("jukyusha-ido-v1"), file="f", file_no=2))
    assert isinstance(got[0], RecordError) and got[0].fields == ("file_kanri_no",)


def test_chunked_source_gives_the_same_records() -> None:
    doc = _golden("kyufu-jisseki-v1")
    pieces = (doc[i:i + 5] for i in range(0, len(doc), 5))
    assert list(kx.parse(pieces)) == list(kx.parse(doc))
