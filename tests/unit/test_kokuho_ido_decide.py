"""受給者異動連絡票 (5311) decisions: 新規, 変更, 終了, 訂正 (修正/削除) against what the 国保連 has.
Every expected 異動 is written out by hand from the rules in adapters/kokuho/ido.py's docstring."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters.kokuho.ido import Ido, Reported, State, decide, kept_values, record
from adapters.kokuho.ido_run import month_text
from adapters.kokuho.ido_state import state_of
from mappings.halfwidth_kana import to_halfwidth_kana
from store.models import Atena, FutanWariai, KyotakuKeikaku, Nintei, Shikaku, ShikyuGendogaku

NINTEI = {"shinsei_shubetsu": "2", "shinsei_ymd": date(2026, 3, 2), "yokaigo_jotai_kubun": "22",
          "nintei_start_ymd": date(2026, 4, 1), "nintei_end_ymd": date(2027, 3, 31)}
GENDO = {"homon_gendo_gaku": 19705, "homon_kanri_start_ymd": date(2026, 4, 1),
         "homon_kanri_end_ymd": date(2027, 3, 31)}
BASE = {"sho_hokensha_no": "131128", "name_kana": "ｻﾄｳ ﾊﾅｺ", "birth_ymd": date(1940, 5, 6), "seibetsu": "2",
        "shikaku_shutoku_ymd": date(2005, 5, 5), **NINTEI, **GENDO}
# What the store keeps of BASE once sent as a 新規 on 2026-04-01 (text, no name/birth/sex).
SENT = {"ido_jiyu": "01", "sho_hokensha_no": "131128", "shikaku_shutoku_ymd": "20050505",
        "shinsei_shubetsu": "2", "shinsei_ymd": "20260302", "yokaigo_jotai_kubun": "22",
        "nintei_start_ymd": "20260401", "nintei_end_ymd": "20270331", "homon_gendo_gaku": "19705",
        "homon_kanri_start_ymd": "20260401", "homon_kanri_end_ymd": "20270331"}
SHINKI_SENT = Reported(date(2026, 4, 1), "1", SENT)


def state(jukyu_from: date | None = date(2026, 4, 1), ended: tuple[date, str] | None = None,
          **values: Any) -> State:
    return State("0000000017", {**BASE, **values}, jukyu_from, ended)


def test_first_report_is_shinki_from_the_start_of_the_jukyu() -> None:
    assert decide(state(), []) == [Ido("1", date(2026, 4, 1), "01")]


def test_kept_values_are_what_the_store_compares_against() -> None:
    sent = record(state(), Ido("1", date(2026, 4, 1), "01"))
    assert kept_values(sent) == SENT


def test_nothing_changed_nothing_sent() -> None:
    assert decide(state(), [SHINKI_SENT]) == []


def test_a_renewal_is_henko_on_the_new_start() -> None:
    renewed = state(nintei_start_ymd=date(2027, 4, 1), nintei_end_ymd=date(2028, 3, 31), yokaigo_jotai_kubun="23",
                    homon_gendo_gaku=27048, homon_kanri_start_ymd=date(2027, 4, 1),
                    homon_kanri_end_ymd=date(2028, 3, 31))
    assert decide(renewed, [SHINKI_SENT]) == [Ido("2", date(2027, 4, 1), "99")]


def test_henko_takes_the_newest_start_among_what_changed() -> None:
    plan: dict[str, Any] = {"keikaku_sakusei_kubun": "1", "kyotaku_shien_jigyosho_no": "1312345678",
            "keikaku_start_ymd": date(2026, 6, 1), "keikaku_end_ymd": date(2027, 3, 31)}
    niwari: dict[str, Any] = {"niwari_start_ymd": date(2026, 8, 1), "niwari_end_ymd": date(2027, 7, 31)}
    assert decide(state(**plan, **niwari), [SHINKI_SENT]) == [Ido("2", date(2026, 8, 1), "99")]


def test_an_item_that_went_away_changes_the_day_after_its_old_end() -> None:
    sent = Reported(date(2026, 4, 1), "1", {**SENT, "niwari_start_ymd": "20260401", "niwari_end_ymd": "20260731"})
    assert decide(state(), [sent]) == [Ido("2", date(2026, 8, 1), "99")]


def test_a_value_corrected_for_the_period_already_sent_is_teisei_shusei() -> None:
    corrected = state(yokaigo_jotai_kubun="23", homon_gendo_gaku=27048)  # same 有効期間: an entry error
    assert decide(corrected, [SHINKI_SENT]) == [Ido("1", date(2026, 4, 1), "01", "2")]
    henko = Reported(date(2026, 8, 1), "2", {**SENT, "ido_jiyu": "99"})
    assert decide(corrected, [SHINKI_SENT, henko]) == [Ido("2", date(2026, 8, 1), "99", "2")]


def test_loss_of_shikaku_is_shuryo_on_the_soshitsu_date() -> None:
    lost = state(ended=(date(2026, 9, 14), "02"), shikaku_soshitsu_ymd=date(2026, 9, 14))
    assert decide(lost, [SHINKI_SENT]) == [Ido("3", date(2026, 9, 14), "02")]


def test_shuryo_only_for_someone_the_partner_has_as_jukyusha() -> None:
    lost = state(ended=(date(2026, 9, 14), "02"))
    assert decide(lost, []) == []
    ended = Reported(date(2026, 9, 14), "3", {**SENT, "ido_jiyu": "02"})
    assert decide(lost, [SHINKI_SENT, ended]) == []


def test_after_a_shuryo_a_new_jukyu_is_shinki_again() -> None:
    ended = Reported(date(2026, 9, 14), "3", {**SENT, "ido_jiyu": "02"})
    again = state(jukyu_from=date(2027, 1, 1), nintei_start_ymd=date(2027, 1, 1))
    assert decide(again, [SHINKI_SENT, ended]) == [Ido("1", date(2027, 1, 1), "01")]


def test_no_level_any_more_withdraws_the_spell_as_teisei_sakujo() -> None:
    gone = state(jukyu_from=None)
    henko = Reported(date(2026, 8, 1), "2", {**SENT, "ido_jiyu": "99"})
    assert decide(gone, [SHINKI_SENT, henko]) == [Ido("1", date(2026, 4, 1), "01", "3"),
                                                  Ido("2", date(2026, 8, 1), "99", "3")]
    assert decide(gone, []) == []


def test_a_changed_name_is_henko_on_the_day_it_was_recorded() -> None:
    assert decide(state(), [SHINKI_SENT], person_changed_on=date(2026, 11, 20)) == [Ido("2", date(2026, 11, 20), "99")]


def _person() -> tuple[Shikaku, Atena]:
    shikaku = Shikaku(hihokensha_no="0000000017", atena_no="1" * 15, hokensha_no="131128", hihokensha_kubun="1",
                      shutoku_date=date(2005, 5, 5), shutoku_jiyu="02")
    atena = Atena(atena_no="1" * 15, setai_no="2" * 15, name_kanji="佐藤　花子", name_kana="サトウ　ハナコ",
                  birth_date=date(1940, 5, 6), sex="2", postal_code="1540001", address="世田谷区")
    return shikaku, atena


def test_state_of_the_store_rows() -> None:
    shikaku, atena = _person()
    nintei = Nintei(hihokensha_no="0000000017", shinsei_date=date(2026, 3, 2), shinsei_kubun="2",
                    nintei_date=date(2026, 3, 25), yokaigo_kubun="22", valid_from=date(2026, 4, 1),
                    valid_to=date(2027, 3, 31))
    gendo = ShikyuGendogaku(hihokensha_no="0000000017", yokaigo_kubun="22", gendo_tani=19705,
                            valid_from=date(2026, 4, 1), valid_to=date(2027, 3, 31))
    wariai = FutanWariai(hihokensha_no="0000000017", wariai=2, valid_from=date(2026, 8, 1), valid_to=date(2027, 7, 31))
    plan = KyotakuKeikaku(hihokensha_no="0000000017", sakusei_kubun="3", jigyosho_no=None,
                          valid_from=date(2026, 4, 1), valid_to=date(2027, 3, 31))
    got = state_of(shikaku, atena, nintei, wariai, gendo, plan, None, date(2026, 11, 1))
    assert got == State("0000000017", {**BASE, "shikaku_soshitsu_ymd": None, "keikaku_sakusei_kubun": "3",
                                       "kyotaku_shien_jigyosho_no": None, "keikaku_start_ymd": date(2026, 4, 1),
                                       "keikaku_end_ymd": date(2027, 3, 31), "niwari_start_ymd": date(2026, 8, 1),
                                       "niwari_end_ymd": date(2027, 7, 31)}, date(2026, 4, 1), None)
    # 3割 is not carried by the 2016 edition: no 二割負担 period.
    wariai.wariai = 3
    assert "niwari_start_ymd" not in state_of(shikaku, atena, nintei, wariai, gendo, None, None,
                                              date(2026, 11, 1)).values
    # A 認定 that ended before the month and was not renewed: ended the next day.
    assert state_of(shikaku, atena, nintei, None, None, None, None, date(2027, 4, 1)).ended == (date(2027, 4, 1), "02")
    shikaku.soshitsu_date = date(2026, 9, 14)
    assert state_of(shikaku, atena, nintei, None, None, None, None, date(2026, 11, 1)).ended == (date(2026, 9, 14),
                                                                                              "02")
    assert state_of(shikaku, atena, None, None, None, None, None, date(2026, 11, 1)).jukyu_from is None


def test_kana_to_halfwidth() -> None:
    assert to_halfwidth_kana("サトウ　ガクヴィパー") == "ｻﾄｳ ｶﾞｸｳﾞｨﾊﾟｰ"
    assert to_halfwidth_kana("ＡＢ１") == "AB1"
    # No half-width form: left as it is for the layout's charset check to report.
    assert to_halfwidth_kana("ヰノウエ") == "ヰﾉｳｴ"


def test_month_text() -> None:
    assert month_text(202611) == "202611"
    for bad in (20261, 202613, "2026-11"):
        try:
            month_text(bad)
        except ValueError as exc:
            assert "YYYYMM" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")
