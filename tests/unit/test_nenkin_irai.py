"""特別徴収依頼 decided from 賦課: 期4–6 for each matched 特別徴収 person, once; the others listed
with the reason. Rows are written by hand into a real (SQLite) store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin.irai import decide_honcho
from store.models import Atena, Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.fuka import FUTSUCHO, TOKUCHO

NENDO = 2026


def person(s: Session, n: int, kibetsu: tuple[int, ...] | None, *, choshu: str = TOKUCHO,
           pensions: tuple[tuple[str, str], ...] | None = None, state: str = "matched", lost: bool = False) -> str:
    atena_no = f"{n:015d}"
    pensions = ((f"{n:010d}", "1150"),) if pensions is None else pensions
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji="介護太郎", name_kana="カイゴ　タロウ",
                birth_date=dt.date(1950, 4, 2), sex="1", postal_code="1540001", address="世田谷区池尻1-1-1"))
    s.flush()
    s.add(Shikaku(hihokensha_no=f"{n:010d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                  shutoku_date=dt.date(2015, 4, 2), shutoku_jiyu="01",
                  soshitsu_date=dt.date(2026, 6, 1) if lost else None, soshitsu_jiyu="02" if lost else None))
    if kibetsu is not None:
        fuka = Fuka(nendo=NENDO, atena_no=atena_no, hihokensha_no=f"{n:010d}", dankai=5, nengaku=sum(kibetsu),
                    choshu_kubun=choshu, nenkin_nengaku=1_200_000)
        s.add(fuka)
        s.flush()
        s.add_all(FukaKibetsu(fuka_id=fuka.id, ki=ki, amount=a) for ki, a in enumerate(kibetsu, start=1))
    for kiso, code in pensions:
        s.add(TokuchoTaisho(nendo=NENDO, hosoku_month="04", tsuchi_naiyo_code="00", gimusha_code="001",
                            kiso_nenkin_no=kiso, nenkin_code=code, birth_date=dt.date(1950, 4, 2), sex="1",
                            name_kana="ｶｲｺﾞ ﾀﾛｳ", kingaku1=0, kingaku2=0, kingaku3=0,
                            atena_no=atena_no if state == "matched" else None, match_state=state,
                            transfer_id="t-z11"))
    return atena_no


def setup(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        s.add(Transfer(id="t-z11", flow="nenkin.z11", partner="keiyu", direction="in", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="applied"))
        return {
            "plain": person(s, 1, (10_100, 10_000, 10_000, 10_000, 10_000, 10_000)),
            "odd_feb": person(s, 2, (10_000, 10_000, 10_000, 10_001, 10_000, 9_999)),
            "two_pensions": person(s, 3, (6000,) * 6, pensions=(("0000000003", "1150"), ("0000000003", "1350"))),
            "unmatched": person(s, 4, (6000,) * 6, state="unmatched"),
            "no_z11": person(s, 5, (6000,) * 6, pensions=()),
            "futsucho": person(s, 6, (6000,) * 10, choshu=FUTSUCHO),
            "lost": person(s, 7, (6000,) * 6, lost=True),
        }


def test_honcho_requests_for_the_matched_and_reasons_for_the_rest(store: sessionmaker[Session]) -> None:
    who = setup(store)
    with store.begin() as s:
        decided = decide_honcho(s, NENDO)
    assert (decided.created, decided.existing) == (3, 0)
    listed = dict(decided.listed)
    assert set(listed) == {who["odd_feb"], who["two_pensions"], who["unmatched"], who["no_z11"], who["lost"]}
    assert listed[who["lost"]].startswith("資格 lost")
    assert "期5 and 期6" in listed[who["odd_feb"]] and "2 pensions" in listed[who["two_pensions"]]
    assert "no Z11" in listed[who["unmatched"]] and listed[who["unmatched"]] == listed[who["no_z11"]]
    with store() as s:
        rows = s.execute(select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.irai_amount, TokuchoIrai.status,
                                TokuchoIrai.kiso_nenkin_no, TokuchoIrai.nenkin_code).order_by(TokuchoIrai.ki)).all()
    assert [tuple(r) for r in rows] == [(who["plain"], ki, 10_000, "pending", "0000000001", "1150") for ki in (4, 5, 6)]


def test_deciding_again_changes_nothing(store: sessionmaker[Session]) -> None:
    setup(store)
    with store.begin() as s:
        decide_honcho(s, NENDO)
    with store.begin() as s:
        again = decide_honcho(s, NENDO)
    assert (again.created, again.existing) == (0, 3)
    with store() as s:
        assert len(s.scalars(select(TokuchoIrai.id)).all()) == 3
