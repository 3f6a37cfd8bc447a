"""Golden files both ways for the inbound 国保連 layouts: 給付実績 (H1 + D1 + T1), 突合結果 and
給付実績更新結果. Each file is typed in by column position from LAYOUTS-EVIDENCE.md (1-based there,
0-based here); render(records) must give exactly its bytes and parse(bytes) exactly the records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mappings import kokuho_frame as kf
from mappings.converters import YearMonth
from mappings.layout import KIND_KEY
from mappings.records import ParsedRecord


def line(total: int, **at: str) -> str:
    """A data line of ``total`` columns with the given 0-based columns (``c12="x"``) filled."""
    cols = [""] * total
    for key, value in at.items():
        cols[int(key[1:])] = value
    return ",".join(cols)


# 給付実績 (データ種別 111, 1116): H12 96 columns, D1 34, T1 62 (LAYOUTS-EVIDENCE.md §1).
KYUFU = "\r\n".join([
    "1,1,0,3,111,0,131128,0,13,1,202611,000001,",
    line(96, c0="2", c1="2", c2="1116", c4="H1", c5="1", c6="131128", c7="0000000101", c8="202610", c9="1",
         c10="1370000083", c11="0000000001", c20="21", c41="90", c45="1000", c46="9810", c47="1090", c69="1000",
         c70="9810", c71="1090", c94="202611"),
    line(34, c0="2", c1="3", c2="1116", c4="D1", c5="131128", c6="0000000101", c7="202610", c8="1370000083",
         c9="0000000001", c10="15", c11="1121", c12="250", c13="4", c17="1000", c21="送迎あり", c22="250", c23="4",
         c27="1000", c33="202611"),
    line(62, c0="2", c1="4", c2="1116", c4="T1", c5="131128", c6="0000000101", c7="202610", c8="1370000083",
         c9="0000000001", c10="15", c11="4", c17="1000", c18="1090", c19="9810", c20="1090", c43="1000",
         c44="9810", c61="202611"),
    "3,5,",
    "",
]).encode("cp932")

COMMON = {"exchange_id": "1116", "sho_hokensha_no": "131128", "hihokensha_no": "0000000101",
          "service_ym": YearMonth(2026, 10), "jigyosho_no": "1370000083", "seiri_no": "0000000001"}
KYUFU_RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("H1", {**COMMON, "record_type": "2", "record_no": 2, "record_code": "H1", "sakusei_kubun": "1",
            "jisseki_kubun": "1", "yokaigo_jotai_kubun": "21", "hoken_kyufuritsu": 90, "mae_hoken_tanisu": 1000,
            "mae_hoken_seikyu": 9810, "mae_hoken_futan": 1090, "ato_hoken_tanisu": 1000, "ato_hoken_seikyu": 9810,
            "ato_hoken_futan": 1090, "shinsa_ym": YearMonth(2026, 11)}),
    ("D1", {**COMMON, "record_type": "2", "record_no": 3, "record_code": "D1", "service_shurui": "15",
            "service_komoku": "1121", "tanisu": 250, "nissu": 4, "service_tanisu": 1000, "tekiyo": "送迎あり",
            "ato_tanisu": 250, "ato_nissu": 4, "ato_service_tanisu": 1000, "shinsa_ym": YearMonth(2026, 11)}),
    ("T1", {**COMMON, "record_type": "2", "record_no": 4, "record_code": "T1", "service_shurui": "15",
            "jitsu_nissu": 4, "hoken_tanisu_gokei": 1000, "hoken_tanka": 1090, "hoken_seikyu": 9810,
            "hoken_futan": 1090, "ato_tanisu_gokei": 1000, "ato_hoken_seikyu": 9810,
            "shinsa_ym": YearMonth(2026, 11)}),
]
KYUFU_CONTROL = {"volume_no": "0", "data_type": "111", "fukushi_jimusho_no": "0", "hokensha_no": "131128",
                 "jigyosho_no": "0", "todofuken_no": "13", "baitai_kubun": "1", "shori_ym": "202611"}

# 受給者台帳突合結果 (5331 [INF]): 82 columns, the 5311 order with 突合結果区分 and 突合情報区分 after
# the 交換情報識別番号 and 公費負担者番号 at column 18 (LAYOUTS-EVIDENCE.md §3).
TOTSUGO = "\r\n".join([
    "1,1,0,1,533,0,131128,0,0,1,202611,000001,",
    line(82, c0="2", c1="2", c2="5331", c3="01", c4="1", c5="20261001", c6="2", c7="99", c8="131128",
         c9="0000000101", c17="12345678", c23="22"),
    "3,3",
    "",
]).encode("cp932")
TOTSUGO_RECORD = {"record_type": "2", "record_no": 2, "exchange_id": "5331", "totsugo_kekka_kubun": "01",
                  "totsugo_joho_kubun": "1", "ido_ymd": dt.date(2026, 10, 1), "ido_kubun": "2", "ido_jiyu": "99",
                  "sho_hokensha_no": "131128", "hihokensha_no": "0000000101", "kohi_futansha_no": "12345678",
                  "yokaigo_jotai_kubun": "22"}
TOTSUGO_CONTROL = {"volume_no": "0", "data_type": "533", "fukushi_jimusho_no": "0", "hokensha_no": "131128",
                   "jigyosho_no": "0", "todofuken_no": "0", "baitai_kubun": "1", "shori_ym": "202611"}

CASES = {
    "kyufu-jisseki": ("1116", KYUFU_CONTROL, KYUFU, KYUFU_RECORDS),
    "jukyusha-totsugo-kekka": ("5331", TOTSUGO_CONTROL, TOTSUGO, [("data", TOTSUGO_RECORD)]),
}


def _full(exchange_id: str, kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """Every field of the kind: the given values, None for the rest (fillers carry none)."""
    entry = kf.default_index().entry(exchange_id)
    assert entry is not None
    fields = kf.default_index().layout(entry).kind(kind).value_fields
    unknown = set(given) - {f.name for f in fields}
    assert not unknown, unknown
    return {f.name: given.get(f.name) for f in fields}


@pytest.mark.parametrize("name", sorted(CASES))
def test_render_gives_the_golden_bytes(name: str) -> None:
    exchange_id, control, golden, records = CASES[name]
    given = [{k: v for k, v in r.items() if k != "record_no"}  # レコード番号 is the frame's
             | {KIND_KEY: kind} for kind, r in records]
    assert b"".join(kf.render(exchange_id, control, given)) == golden


@pytest.mark.parametrize("name", sorted(CASES))
def test_parse_gives_the_golden_records(name: str) -> None:
    exchange_id, _control, golden, records = CASES[name]
    items = list(kf.parse(golden, file=name))
    assert all(isinstance(i, ParsedRecord) for i in items), [str(i) for i in items]
    data = [i for i in items if isinstance(i, ParsedRecord) and i.kind != "control"]
    assert [(i.kind, i.values) for i in data] == [(kind, _full(exchange_id, kind, r)) for kind, r in records]
