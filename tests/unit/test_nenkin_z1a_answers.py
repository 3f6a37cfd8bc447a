"""The 年金保険者's answers to a Z1A (Z14 32/42/62/82, written by the simulated 経由機関's own byte
writer) applied to a real (SQLite) store with 依頼 and notices written by hand: accepted and
refused, one result each, unanswered ones kept pointing at nothing, a file applied twice changing
nothing; the operator's lists. Expected values are typed in here."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.judgement import Verdict
from adapters.nenkin import lists
from adapters.nenkin.judge import NenkinContext
from adapters.nenkin.kekka_load import apply_kekka
from fixtures.nenkin.dta import Dta, Person, Record, render
from store.models import Atena, Shikaku, TokuchoIrai, TokuchoKekka, Transfer
from store.models.tokucho import TokuchoTsuchi

NENDO = 2026
D = dt.date
CTX = NenkinContext("13112", "Z14", {4: 1, 6: 2, 8: 3, 10: 4, 12: 5, 2: 6})


def pension(n: int) -> Person:
    return Person(f"9{n:09d}", "1150", "001", D(1949, 2, n), "2", "ｽｽﾞｷ ﾊﾅｺ")


def atena(s: Session, n: int) -> str:
    atena_no = f"{n:015d}"
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji="鈴木　花子", name_kana="スズキ　ハナコ",
                birth_date=D(1949, 2, n), sex="2", postal_code="1540001", address="世田谷区"))
    s.add(Shikaku(hihokensha_no=f"{n:010d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                  shutoku_date=D(2012, 4, 1), shutoku_jiyu="02"))
    return atena_no


def transfer(s: Session, tid: str, batch: str, way: str = "out") -> None:
    s.add(Transfer(id=tid, flow=batch.split("/")[0], partner="keiyu", direction=way, sha256="0" * 64, size=1,
                   key_id="k", payload_ref="p", state="sent", batch=batch))


@pytest.fixture
def sent(store: sessionmaker[Session]) -> dict[str, str]:
    """31 of persons 1 (accepted later) and 2 (refused), 61 of 3 and 4, 41 of 5 and 6, 81 of 7."""
    with store.begin() as s:
        for tid, batch in (("t-31", "nenkin.z1a/00101/202611/31"), ("t-61", "nenkin.z1a/00101/202605/61"),
                           ("t-41", "nenkin.z1a/00102/202611/41"), ("t-81", "nenkin.z1a/00103/202611/81")):
            transfer(s, tid, batch)
        for tid in ("t-in1", "t-in2", "t-in3"):
            transfer(s, tid, "nenkin.z14", "in")
        who = {f"p{n}": atena(s, n) for n in range(1, 8)}
        s.flush()
        for n, naiyo, kis, amount, tid in ((1, "31", (5, 6), 7000, "t-31"), (2, "31", (5, 6), 7100, "t-31"),
                                           (3, "61", (2, 3), 6500, "t-61"), (4, "61", (2, 3), 6600, "t-61")):
            s.add_all(TokuchoIrai(nendo=NENDO, ki=ki, atena_no=who[f"p{n}"], hihokensha_no=f"{n:010d}",
                                  gimusha_code="001", kiso_nenkin_no=pension(n).kiso_nenkin_no, nenkin_code="1150",
                                  irai_amount=amount, tsuchi_naiyo_code=naiyo, status="sent", transfer_id=tid)
                      for ki in kis)
        transfer(s, "t-81-2", "nenkin.z1a/00104/202612/81")  # the 解除 told a month after the 該当
        s.flush()
        notices = ((5, "41", "01", D(2026, 11, 20), "t-41"), (6, "41", "02", D(2026, 9, 3), "t-41"),
                   (7, "81", "01", D(2026, 11, 1), "t-81"), (7, "81", "02", D(2026, 11, 25), "t-81-2"))
        for n, naiyo, kubun, day, tid in notices:
            s.add(TokuchoTsuchi(nendo=NENDO, tsuchi_naiyo_code=naiyo, gimusha_code="001",
                                kiso_nenkin_no=pension(n).kiso_nenkin_no, nenkin_code="1150", atena_no=who[f"p{n}"],
                                kakushu_kubun=kubun, kakushu_date=day, transfer_id=tid))
        return who


def answer(naiyo: str, records: list[Record], made: dt.date = D(2026, 12, 10)) -> bytes:
    return render(Dta("Z14", "001", naiyo, made, tuple(records)))


def apply(store: sessionmaker[Session], tid: str, raw: bytes) -> Counter[str]:
    with store.begin() as s:
        verdict = Verdict("Z14")
        counts = apply_kekka(s, tid, io.BytesIO(raw), "Z14", CTX, verdict)
    assert verdict.ok, verdict.errors
    return counts


def state(store: sessionmaker[Session]) -> dict[str, Any]:
    with store() as s:
        return {"irai": {(a[-1:], ki): st for a, ki, st in s.execute(
                    select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.status))},
                "tsuchi": {(k[-1:], kubun): st for k, kubun, st in s.execute(
                    select(TokuchoTsuchi.kiso_nenkin_no, TokuchoTsuchi.kakushu_kubun, TokuchoTsuchi.status))},
                "kekka": s.scalar(select(func.count()).select_from(TokuchoKekka))}


FILES = {
    "32": [Record(pension(1), "01", "00", None, 7000), Record(pension(2), "01", "01", None, 7100)],
    "62": [Record(pension(3), "00", "00", None, 6500), Record(pension(4), "00", "02", None, 6600),
           Record(pension(8), "00", "00", None, 5000)],  # 8: no 61 was sent for it
    "42": [Record(pension(5), "01", "00", D(2026, 11, 20)), Record(pension(6), "02", "01", D(2026, 9, 3))],
    "82": [Record(pension(7), "01", "00", D(2026, 11, 1)), Record(pension(7), "02", "01", D(2026, 11, 25))],
}


def test_answers_accept_and_refuse_what_they_answer_once(store: sessionmaker[Session], sent: dict[str, str]) -> None:
    raws = {naiyo: answer(naiyo, recs) for naiyo, recs in FILES.items()}
    counts: Counter[str] = Counter()
    for naiyo, raw in raws.items():
        counts += apply(store, "t-in1", raw)
    assert counts == Counter({"32 accepted": 1, "32 refused": 1, "62 accepted": 2, "62 refused": 1,
                              "42 accepted": 1, "42 refused": 1, "82 accepted": 1, "82 refused": 1,
                              "unanswered": 1})
    got = state(store)
    assert got["irai"] == {("1", 5): "accepted", ("1", 6): "accepted", ("2", 5): "rejected", ("2", 6): "rejected",
                           ("3", 2): "accepted", ("3", 3): "accepted", ("4", 2): "rejected", ("4", 3): "rejected"}
    assert got["tsuchi"] == {("5", "01"): "accepted", ("6", "02"): "rejected", ("7", "01"): "accepted",
                             ("7", "02"): "rejected"}
    # One result per 依頼 answered (2 × 4), per notice (4: the 該当 and 解除 of 7 share 期5), and the stray one.
    assert got["kekka"] == 8 + 4 + 1
    with store() as s:
        jutoku = {(k.kakushu_kubun, k.nendo, k.ki, k.shori_kekka) for k in s.scalars(
            select(TokuchoKekka).where(TokuchoKekka.tsuchi_naiyo_code == "82"))}
    assert jutoku == {("01", 2026, 5, "00"), ("02", 2026, 5, "01")}
    # The same files again (another transfer): nothing changes.
    for raw in raws.values():
        apply(store, "t-in2", raw)
    assert state(store) == got


def test_the_operator_sees_refusals_and_answers_to_nothing(store: sessionmaker[Session],
                                                           sent: dict[str, str]) -> None:
    for naiyo, recs in FILES.items():
        apply(store, "t-in1", answer(naiyo, recs))
    with store() as s:
        refused = {r["answer"][:2]: r for r in lists.refused(s, NENDO)}
        stopped = lists.stopped(s, NENDO)
        stray = lists.unanswered(s, NENDO)
    assert set(refused) == {"32", "42", "62", "82"}
    assert (refused["32"]["atena_no"], refused["32"]["ki"], refused["32"]["amount"]) == (sent["p2"], [5, 6], 14200)
    assert (refused["62"]["atena_no"], refused["62"]["ki"], refused["62"]["amount"]) == (sent["p4"], [2, 3], 13200)
    assert "difference" in refused["62"]["follows"] and "還付" in refused["42"]["follows"]
    assert (refused["42"]["atena_no"], refused["42"]["date"], refused["42"]["kakushu_kubun"]) == (
        sent["p6"], "2026-09-03", "02")
    assert (refused["82"]["atena_no"], refused["82"]["kakushu_kubun"]) == (sent["p7"], "02")
    assert all(r["kiso_nenkin_no"].startswith("******") for r in refused.values())
    # The refused 追加依頼 leaves its 期 to 普通徴収; the refused 仮徴収額変更 is not a stop.
    assert [(p["atena_no"], p["ki"], p["futsucho_amount"], p["reason"]) for p in stopped] == [
        (sent["p2"], [5, 6], 14200, "Z14 32 追加依頼不能 (処理結果 01)")]
    assert [(u["tsuchi_naiyo_code"], u["kiso_nenkin_no"], u["ki"]) for u in stray] == [("62", "******0008", 5)]


def test_an_answer_to_a_notice_never_sent_points_at_nothing(store: sessionmaker[Session],
                                                            sent: dict[str, str]) -> None:
    counts = apply(store, "t-in3", answer("82", [Record(pension(9), "01", "00", D(2026, 11, 1))]))
    assert counts == Counter({"82 accepted": 1, "unanswered": 1})
    with store() as s:
        (row,) = s.scalars(select(TokuchoKekka)).all()
        assert (row.tsuchi_id, row.irai_id, row.nendo, row.ki) == (None, None, 2026, 5)  # next after 12月10日: 12月15日
        assert [u["kiso_nenkin_no"] for u in lists.unanswered(s, NENDO)] == ["******0009"]
