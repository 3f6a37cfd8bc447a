"""A stop within the 年度 keeps the person out of the 本徴収 依頼 (adapters/nenkin/stops.py), each
kind of stop written by hand as the loaders keep it (tokucho_kekka, tokucho_tsuchi) into a real
(SQLite) store: a 仮徴収 停止, a 42 taking our 資格喪失等の通知, a stop of another pension the
person holds; and what does not stop: a deduction, a refused 42, a stop of the 年度 before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin.irai import decide_honcho
from adapters.nenkin.lists import stopped
from store.models import Atena, TokuchoIrai, TokuchoKekka, Transfer
from store.models.tokucho import TokuchoTsuchi
from tests.unit.test_nenkin_irai import NENDO, person

KIBETSU = (5000, 5000, 5000, 6000, 6000, 6000)


def transfer(s: Session, tid: str, flow: str, direction: str) -> None:
    s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction=direction, sha256="0" * 64, size=1, key_id="k",
                   payload_ref="p", state="applied" if direction == "in" else "sent"))


def tenbiki(s: Session, n: int, nendo: int, ki: int, jiyu: str | None, *, code: str = "1150",
            kiso: str | None = None) -> None:
    s.add(TokuchoKekka(nendo=nendo, ki=ki, kiso_nenkin_no=kiso or f"{n:010d}", nenkin_code=code, file_kind="Z14",
                       tsuchi_naiyo_code="22", shori_kekka="00", tenbiki_amount=0 if jiyu else 5000,
                       teishi_jiyu=jiyu, teishi_date=dt.date(NENDO, 4, 20) if jiyu else None, transfer_id="t-z14"))


def soshitsu(s: Session, n: int, atena_no: str, answer: str) -> None:
    """Our Z1A 41 (特別事情: 資格 kept) for the person's pension, and the 年金保険者's 42 to it."""
    notice = TokuchoTsuchi(nendo=NENDO, tsuchi_naiyo_code="41", gimusha_code="001", kiso_nenkin_no=f"{n:010d}",
                           nenkin_code="1150", atena_no=atena_no, kakushu_kubun="03",
                           kakushu_date=dt.date(NENDO, 5, 31), status="accepted" if answer == "00" else "rejected",
                           transfer_id="t-z1a")
    s.add(notice)
    s.flush()
    s.add(TokuchoKekka(nendo=NENDO, ki=3, kiso_nenkin_no=f"{n:010d}", nenkin_code="1150", file_kind="Z14",
                       tsuchi_naiyo_code="42", kakushu_kubun="03", shori_kekka=answer, tsuchi_id=notice.id,
                       teishi_date=dt.date(NENDO, 5, 31), transfer_id="t-z14a"))


def setup(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        for tid, flow, direction in (("t-z11", "nenkin.z11", "in"), ("t-z14", "nenkin.z14", "in"),
                                     ("t-z14a", "nenkin.z14", "in"), ("t-z1a", "nenkin.z1a", "out")):
            transfer(s, tid, flow, direction)
        who = {name: person(s, n, KIBETSU) for n, name in enumerate(
            ("kari_stopped", "soshitsu_taken", "soshitsu_refused", "deducted", "stopped_last_year", "other_pension"),
            start=1)}
        s.flush()
        tenbiki(s, 1, NENDO, 2, "03")  # 6月 仮徴収: 支払年金額不足
        soshitsu(s, 2, who["soshitsu_taken"], "00")
        soshitsu(s, 3, who["soshitsu_refused"], "01")
        tenbiki(s, 4, NENDO, 1, None)
        tenbiki(s, 5, NENDO - 1, 6, "01")  # 2月 of the 年度 before
        # A pension the 宛名 holds, not the one the Z11 announced: the person's collection stops all the same.
        atena = s.get(Atena, who["other_pension"])
        assert atena is not None
        atena.kiso_nenkin_no, atena.nenkin_code = "9000000006", "5350"
        tenbiki(s, 6, NENDO, 1, "02", kiso="9000000006", code="5350")
    return who


def test_a_stop_in_the_nendo_leaves_the_person_out_of_the_honcho_irai(store: sessionmaker[Session]) -> None:
    who = setup(store)
    with store.begin() as s:
        decided = decide_honcho(s, NENDO)
    with store() as s:
        asked = {a for (a,) in s.execute(select(TokuchoIrai.atena_no).distinct())}
        listed = stopped(s, NENDO)
    assert asked == {who["soshitsu_refused"], who["deducted"], who["stopped_last_year"]}
    assert decided.created == 3 * 3
    reasons = dict(decided.listed)
    rest = "): 普通徴収 for the rest of the 年度"
    assert reasons == {
        who["kari_stopped"]: "特別徴収 stopped in the 年度 (Z14 天引結果 2期: 03 支払年金額不足" + rest,
        who["soshitsu_taken"]: ("特別徴収 stopped in the 年度 (Z14 42: 資格喪失等の通知 (Z1A 41) taken, "
                                "deduction stopped" + rest),
        who["other_pension"]: "特別徴収 stopped in the 年度 (Z14 天引結果 1期: 02 差止" + rest,
    }
    by_atena = {x["atena_no"]: x for x in listed}
    # A 42 taking our 資格喪失等の通知 is not 普通徴収's to collect (the 賦課's 更正 settles it): not listed.
    assert set(by_atena) == {who["kari_stopped"], who["other_pension"]}
    assert (by_atena[who["kari_stopped"]]["ki"], by_atena[who["kari_stopped"]]["futsucho_amount"]) == (
        [2, 3, 4, 5, 6], 5000 + 5000 + 6000 * 3)
    assert by_atena[who["other_pension"]]["kiso_nenkin_no"] == "******0006"

