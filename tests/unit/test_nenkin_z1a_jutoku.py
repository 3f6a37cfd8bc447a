"""住所地特例該当者通知 (81) of a month's Z1A from rows written by hand into a real (SQLite) store:
who is told 該当 or 解除 and why not, once; a 追加依頼 of a 住所地特例 person is 各種区分 02; the
files as the 経由機関's reader sees them. Expected values are typed in here."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin import z1a, z1a_jutoku, z1a_who
from fixtures.nenkin import z1a as keiyu_z1a
from mappings import nenkin_render
from store.models import Atena, Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.tokucho import JushochiTokurei

NENDO = 2026
NOV = dt.date(2026, 11, 30)
D = dt.date


def person(s: Session, n: int, periods: list[tuple[dt.date, dt.date | None]], *, irai: str | None = "accepted",
           taisho: bool = False, lost: dt.date | None = None) -> str:
    atena_no = f"{n:015d}"
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji="田中　一郎", name_kana="タナカ　イチロウ",
                birth_date=dt.date(1948, 1, n), sex="1", postal_code="1540001", address="世田谷区"))
    s.flush()
    s.add(Shikaku(hihokensha_no=f"{n:010d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                  shutoku_date=dt.date(2012, 4, 1), shutoku_jiyu="02", soshitsu_date=lost,
                  soshitsu_jiyu="02" if lost else None))
    f = Fuka(nendo=NENDO, atena_no=atena_no, hihokensha_no=f"{n:010d}", dankai=5, nengaku=60000,
             choshu_kubun="tokucho", nenkin_nengaku=2_000_000)
    s.add(f)
    s.flush()
    s.add_all(FukaKibetsu(fuka_id=f.id, ki=ki, amount=10000) for ki in range(1, 7))
    kiso = f"8{n:09d}"
    if irai is not None:
        s.add_all(TokuchoIrai(nendo=NENDO, ki=ki, atena_no=atena_no, hihokensha_no=f"{n:010d}", gimusha_code="001",
                              kiso_nenkin_no=kiso, nenkin_code="1150", irai_amount=10000, tsuchi_naiyo_code="01",
                              status=irai, transfer_id="t-z12") for ki in (4, 5, 6))
    if taisho:
        s.add(TokuchoTaisho(nendo=NENDO, hosoku_month="04", tsuchi_naiyo_code="00", gimusha_code="002",
                            kiso_nenkin_no=kiso, nenkin_code="1150", birth_date=dt.date(1948, 1, n), sex="1",
                            name_kana="ﾀﾅｶ", kingaku1=300_000, kingaku2=0, kingaku3=0, atena_no=atena_no,
                            match_state="matched", transfer_id="t-z12"))
    s.add_all(JushochiTokurei(atena_no=atena_no, tekiyo_date=start, tekiyo_jiyu="05", kaijo_date=end,
                              kaijo_jiyu="72" if end else None, shisetsu_hokensha_no="132019")
              for start, end in periods)
    return atena_no


@pytest.fixture
def people(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        s.add(Transfer(id="t-z12", flow="nenkin.z12", partner="keiyu", direction="out", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="sent", batch="nenkin.z12/001/2026"))
        s.flush()
        return {
            "gaito": person(s, 1, [(D(2026, 10, 1), None)]),
            "kaijo": person(s, 2, [(D(2026, 6, 1), D(2026, 11, 10))]),
            "kaijo_old": person(s, 3, [(D(2020, 1, 1), D(2026, 9, 1))]),
            "short": person(s, 4, [(D(2026, 8, 1), D(2026, 9, 30))]),
            "not_tokucho": person(s, 5, [(D(2026, 10, 1), None)], irai=None),
            "taisho_only": person(s, 6, [(D(2026, 7, 1), None)], irai=None, taisho=True),
            "lost": person(s, 7, [(D(2026, 10, 1), None)], lost=D(2026, 11, 5)),
            "future": person(s, 8, [(D(2026, 12, 5), None)]),
            "stopped": person(s, 9, [(D(2026, 10, 1), None)], irai="stopped"),
            "last_year": person(s, 10, [(D(2026, 3, 1), None)]),
        }


def told(*rows: tuple[str, str, dt.date]) -> set[tuple[str, str, str, dt.date | None]]:
    return {(kiso, "1150", kubun, day) for kiso, kubun, day in rows}


def test_who_is_told_of_a_jushochi_tokurei(store: sessionmaker[Session], people: dict[str, str]) -> None:
    before = told(("8000000002", "01", D(2026, 6, 1)))
    with store() as s:
        got = z1a_jutoku.jutoku(s, NENDO, NOV, before, set())
    assert [(x.atena_no, x.gimusha_code, x.pension, x.day, x.kakushu_kubun) for x in got] == [
        (people["gaito"], "001", ("8000000001", "1150"), D(2026, 10, 1), "01"),
        (people["kaijo"], "001", ("8000000002", "1150"), D(2026, 11, 10), "02"),  # its 該当 was told in June
        (people["kaijo_old"], "001", ("8000000003", "1150"), D(2026, 9, 1), "02"),  # began before the 年度
        (people["taisho_only"], "002", ("8000000006", "1150"), D(2026, 7, 1), "01")]  # 仮徴収 goes on
    # Not told: over before it was told (short), no 特別徴収 (not_tokucho, stopped), lost (the 41's),
    # after the month (future), before the 年度 (last_year).


def test_told_once_unless_an_edition_of_the_month(store: sessionmaker[Session], people: dict[str, str]) -> None:
    before = told(("8000000001", "01", D(2026, 10, 1)), ("8000000002", "01", D(2026, 6, 1)),
                  ("8000000002", "02", D(2026, 11, 10)), ("8000000003", "02", D(2026, 9, 1)),
                  ("8000000006", "01", D(2026, 7, 1)))
    with store() as s:
        assert z1a_jutoku.jutoku(s, NENDO, NOV, before, set()) == []
        again = z1a_jutoku.jutoku(s, NENDO, NOV, before, told(("8000000001", "01", D(2026, 10, 1))))
    assert [(x.atena_no, x.kakushu_kubun) for x in again] == [(people["gaito"], "01")]


def test_the_81_file_and_a_tsuika_of_a_jushochi_tokurei_person(store: sessionmaker[Session],
                                                                people: dict[str, str]) -> None:
    with store.begin() as s:
        kouho = person(s, 20, [(D(2026, 9, 1), None)], irai=None)
        s.add(TokuchoTaisho(nendo=NENDO, hosoku_month="06", tsuchi_naiyo_code="30", gimusha_code="001",
                            kiso_nenkin_no="8000000020", nenkin_code="1150", birth_date=D(1948, 1, 20), sex="1",
                            name_kana="ﾀﾅｶ", kingaku1=300_000, kingaku2=0, kingaku3=0, atena_no=kouho,
                            match_state="matched", transfer_id="t-z12"))
        z1a_who.decide_tsuika(s, NENDO, D(2026, 7, 31))
    left: list[tuple[str, str]] = []
    with store() as s:
        asked = z1a_who.tsuika(s, NENDO, D(2026, 7, 31), [], left)
        jutoku = z1a_jutoku.jutoku(s, NENDO, NOV, set(), set())
        files = z1a.build(s, "202611", 1, z1a.Records([], asked, [], jutoku), left)
    read = [keiyu_z1a.read(b"".join(nenkin_render.render(f.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                             for r in f.records))))
            for f in files]
    assert [(r.gimusha_code, r.tsuchi_naiyo_code) for r in read] == [("001", "31"), ("001", "81"), ("002", "81")]
    # 住所地特例 from 9月1日, the 追加依頼's first 期 (期5, 12月15日): 各種区分 02.
    assert [(x.person.kiso_nenkin_no, x.kakushu_kubun, x.kingaku1) for x in read[0].records] == [
        ("8000000020", "02", 10000)]
    assert [(x.person.kiso_nenkin_no, x.kakushu_kubun, x.kakushu_ymd, x.kingaku1, x.kingaku2, x.kingaku3)
            for r in read[1:] for x in r.records] == [
        ("8000000001", "01", D(2026, 10, 1), 0, 0, 0),  # "kaijo" (6月1日–11月10日), never told: nothing
        ("8000000003", "02", D(2026, 9, 1), 0, 0, 0), ("8000000020", "01", D(2026, 9, 1), 0, 0, 0),
        ("8000000006", "01", D(2026, 7, 1), 0, 0, 0)]
    assert left == []
    file = files[1]
    file.records[0]["kakushu_ymd"] = None
    with pytest.raises(keiyu_z1a.Z1ARefused, match="住所地特例 carries its 適用/解除年月日"):
        keiyu_z1a.read(b"".join(nenkin_render.render(file.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                             for r in file.records))))
