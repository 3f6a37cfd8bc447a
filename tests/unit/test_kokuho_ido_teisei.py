"""受給者訂正連絡票 (5321): the layout against the vendor entity's column order, a hand-written
golden file both ways, and what a sent 訂正 does to the partner's history (``decide``).
Expected columns and bytes are typed here by hand, never produced by the code under test."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from adapters.kokuho.ido import Ido, Reported, State, decide
from mappings import kokuho_frame
from mappings.records import ParsedRecord

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "kokuho" / "jukyusha-teisei-v1.csv"
CONTROL = {"hokensha_no": "131128", "shori_ym": "202612", "baitai_kubun": "1"}
EMPTY = dict.fromkeys([
    "shikaku_soshitsu_ymd", "roken_shichoson_no", "roken_jukyusha_no", "henko_shinseichu_kubun",
    "minashi_yokaigo_kubun", "tanki_gendo_gaku", "tanki_kanri_start_ymd", "tanki_kanri_end_ymd", "kohi_gengaku_umu",
    "shokan_start_ymd", "shokan_end_ymd", "kyufuritsu_hikisage_start_ymd", "kyufuritsu_hikisage_end_ymd",
    "gemmen_shinseichu_kubun", "riyosha_futan_kubun", "gemmen_kyufuritsu", "gemmen_start_ymd", "gemmen_end_ymd",
    "hyojun_futan_kubun", "hyojun_futan_gaku", "hyojun_start_ymd", "hyojun_end_ymd", "tokutei_shinseichu_kubun",
    "tokutei_service_kubun", "kazeiso_tokurei", "shokuhi_gendo_gaku", "kyojuhi_unit_koshitsu",
    "kyojuhi_unit_junkoshitsu", "kyojuhi_jurai_koshitsu_tokuyo", "kyojuhi_jurai_koshitsu_roken",
    "kyojuhi_tashoshitsu", "tokutei_start_ymd", "tokutei_end_ymd", "shafuku_keigen_ritsu", "shafuku_start_ymd",
    "shafuku_end_ymd", "shokibo_kyotaku_riyo_umu", "koki_hokensha_no", "koki_hihokensha_no", "kokuho_hokensha_no",
    "kokuho_hihokenshasho_no", "kokuho_kojin_no", "niji_yobo_kubun", "niji_yobo_start_ymd", "niji_yobo_end_ymd",
    "jutoku_kubun", "shisetsu_hokensha_no", "jutoku_start_ymd", "jutoku_end_ymd", "kyojuhi_shin1", "kyojuhi_shin2",
    "kyojuhi_shin3"])
SHUSEI: dict[str, Any] = {
    **EMPTY, "ido_ymd": date(2026, 4, 1), "ido_jiyu": "01", "teisei_ymd": date(2026, 12, 15), "teisei_kubun": "2",
    "sho_hokensha_no": "131128", "hihokensha_no": "0000000017", "name_kana": "ｻﾄｳ ﾊﾅｺ",
    "birth_ymd": date(1940, 5, 6), "seibetsu": "2", "shikaku_shutoku_ymd": date(2005, 5, 5),
    "shinsei_shubetsu": "2", "shinsei_ymd": date(2026, 3, 2), "yokaigo_jotai_kubun": "23",
    "nintei_start_ymd": date(2026, 4, 1), "nintei_end_ymd": date(2027, 3, 31), "keikaku_sakusei_kubun": "1",
    "kyotaku_shien_jigyosho_no": "1312345678", "keikaku_start_ymd": date(2026, 6, 1),
    "keikaku_end_ymd": date(2027, 3, 31), "homon_gendo_gaku": 27048, "homon_kanri_start_ymd": date(2026, 4, 1),
    "homon_kanri_end_ymd": date(2027, 3, 31), "niwari_start_ymd": date(2026, 8, 1),
    "niwari_end_ymd": date(2027, 7, 31)}
SAKUJO: dict[str, Any] = {
    **EMPTY, "ido_ymd": date(2026, 5, 10), "ido_jiyu": "01", "teisei_ymd": date(2026, 12, 15), "teisei_kubun": "3",
    "sho_hokensha_no": "131128", "hihokensha_no": "0000000025", "name_kana": "ﾀﾅｶ ｲﾁﾛｳ",
    "birth_ymd": date(1938, 2, 12), "seibetsu": "1", "shikaku_shutoku_ymd": date(2003, 2, 12),
    "shinsei_shubetsu": "1", "shinsei_ymd": date(2026, 4, 15), "yokaigo_jotai_kubun": "12",
    "nintei_start_ymd": date(2026, 5, 10), "nintei_end_ymd": date(2027, 4, 30), "keikaku_sakusei_kubun": None,
    "kyotaku_shien_jigyosho_no": None, "keikaku_start_ymd": None, "keikaku_end_ymd": None,
    "homon_gendo_gaku": 5032, "homon_kanri_start_ymd": date(2026, 5, 10), "homon_kanri_end_ymd": date(2027, 4, 30),
    "niwari_start_ymd": None, "niwari_end_ymd": None}
OWN = {"record_type": "2", "exchange_id": "5321", "record_code": "H1"}


def layout_fields() -> list[tuple[str, str]]:
    index = kokuho_frame.default_index()
    entry = index.entry("5321", "202612")
    assert entry is not None and (entry.layout, entry.version) == ("jukyusha-teisei", "1")
    return [(f.name, f.label) for f in index.layout(entry).kinds[0].fields]


def test_5321_has_the_81_vendor_columns_in_order() -> None:
    got = layout_fields()
    assert len(got) == 81
    # The vendor entity's own columns, then the 5311 ones from 証記載保険者番号 on without
    # 広域連合（政令市）保険者番号 (col 16 of 5311), ending with ブランク.
    assert [label for _n, label in got[:11]] == [
        "レコード種別", "レコード番号（連）", "交換情報識別番号", "レコード種別コード", "異動年月日", "異動事由",
        "訂正年月日", "訂正区分コード", "証記載保険者番号", "被保険者番号", "被保険者氏名（カナ）"]
    assert [label for _n, label in got[15:19]] == [
        "老人保健市町村番号", "老人保健受給者番号", "申請種別コード", "変更申請中区分コード"]
    assert [label for _n, label in got[44:48]] == [
        "特定標準負担・標準負担　標準負担区分コード", "特定標準負担・標準負担　負担額",
        "特定標準負担・標準負担　負担額適用開始年月日", "特定標準負担・標準負担　負担額適用終了年月日"]
    assert [label for _n, label in got[77:]] == [
        "特定入所者介護サービス　居住費（新３）負担限度額", "二割負担　適用開始年月日", "二割負担　適用終了年月日",
        "ブランク"]
    names = [n for n, _l in got]
    assert "ido_kubun" not in names and "koiki_hokensha_no" not in names
    assert set(names[8:80]) == set(SHUSEI) - {"ido_ymd", "ido_jiyu", "teisei_ymd", "teisei_kubun"}


def test_golden_file_rendered() -> None:
    rendered = b"".join(kokuho_frame.render("5321", CONTROL, [SHUSEI, SAKUJO], file_no=1))
    assert rendered == GOLDEN.read_bytes()


def test_golden_file_parsed() -> None:
    got = list(kokuho_frame.parse(GOLDEN.read_bytes(), file="10_532.csv", file_no=1))
    assert all(isinstance(p, ParsedRecord) for p in got), got
    control, *rows = [p.values for p in got if isinstance(p, ParsedRecord)]
    assert control == {"record_type": "1", "record_no": 1, "volume_no": "0", "record_count": 2, "data_type": "532",
                       "fukushi_jimusho_no": "0", "hokensha_no": "131128", "jigyosho_no": "0", "todofuken_no": "0",
                       "baitai_kubun": "1", "shori_ym": "202612", "file_kanri_no": "000001"}
    assert rows == [{**SHUSEI, **OWN, "record_no": 2}, {**SAKUJO, **OWN, "record_no": 3}]


def test_a_5321_record_in_a_5311_file_is_reported() -> None:
    ido_file = GOLDEN.read_bytes().replace(b'"532"', b'"531"', 1)
    errors = [p for p in kokuho_frame.parse(ido_file) if not isinstance(p, ParsedRecord)]
    assert [e.problems[0].rule for e in errors] == ["data_type", "data_type"]


# --- what a sent 訂正 leaves with the partner ---------------------------------------------------

SENT = {"ido_jiyu": "01", "sho_hokensha_no": "131128", "shikaku_shutoku_ymd": "20050505", "shinsei_shubetsu": "2",
        "shinsei_ymd": "20260302", "yokaigo_jotai_kubun": "22", "nintei_start_ymd": "20260401",
        "nintei_end_ymd": "20270331"}
SHINKI_SENT = Reported(date(2026, 4, 1), "1", SENT)
NOW = {"sho_hokensha_no": "131128", "shikaku_shutoku_ymd": date(2005, 5, 5), "shinsei_shubetsu": "2",
       "shinsei_ymd": date(2026, 3, 2), "yokaigo_jotai_kubun": "23", "nintei_start_ymd": date(2026, 4, 1),
       "nintei_end_ymd": date(2027, 3, 31)}


def state(jukyu_from: date | None = date(2026, 4, 1), **values: Any) -> State:
    return State("0000000017", {**NOW, **values}, jukyu_from)


def test_a_sent_shusei_is_what_the_partner_has_then() -> None:
    assert decide(state(), [SHINKI_SENT]) == [Ido("1", date(2026, 4, 1), "01", "2")]
    shusei = Reported(date(2026, 4, 1), "1", {**SENT, "yokaigo_jotai_kubun": "23"}, "2")
    assert decide(state(), [SHINKI_SENT, shusei]) == []
    # A renewal later is a 変更 of the corrected record, not a second 訂正.
    renewed = state(nintei_start_ymd=date(2027, 4, 1), nintei_end_ymd=date(2028, 3, 31))
    assert decide(renewed, [SHINKI_SENT, shusei]) == [Ido("2", date(2027, 4, 1), "99")]


def test_a_shusei_of_an_older_record_keeps_its_place() -> None:
    henko = Reported(date(2026, 8, 1), "2", {**SENT, "ido_jiyu": "99", "yokaigo_jotai_kubun": "23"})
    old_fixed = Reported(date(2026, 4, 1), "1", {**SENT, "shinsei_ymd": "20260303"}, "2")
    # The last record is still the 変更 of 2026-08-01: the state matches it, nothing to send.
    assert decide(state(ido_jiyu="99"), [SHINKI_SENT, henko, old_fixed]) == []


def test_after_a_sent_sakujo_the_partner_has_nothing() -> None:
    gone = state(jukyu_from=None)
    sakujo = Reported(date(2026, 4, 1), "1", SENT, "3")
    assert decide(gone, [SHINKI_SENT]) == [Ido("1", date(2026, 4, 1), "01", "3")]
    assert decide(gone, [SHINKI_SENT, sakujo]) == []
    # A level decided again later is a 新規 of a new 受給.
    back = state(jukyu_from=date(2027, 1, 1), nintei_start_ymd=date(2027, 1, 1))
    assert decide(back, [SHINKI_SENT, sakujo]) == [Ido("1", date(2027, 1, 1), "01")]
