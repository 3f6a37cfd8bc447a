"""仮徴収額変更 (61) of a month's Z1A from rows written by hand into a real (SQLite) store: who gets
one, with which 期 and amount, and why not; decided once; the file as the 経由機関's reader sees it.
Expected values are typed in here."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin import z1a, z1a_kari, z1a_who
from fixtures.nenkin import z1a as keiyu_z1a
from mappings import nenkin_render
from store.models import Atena, Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoKekka, TokuchoTaisho, Transfer

NENDO = 2026
MAY, JUNE = dt.date(2026, 5, 31), dt.date(2026, 6, 30)


def person(s: Session, n: int, kari: dict[int, int] | None, *, choshu: str = "tokucho",
           lost: dt.date | None = None) -> str:
    atena_no = f"{n:015d}"
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji="山田　花子", name_kana="ヤマダ　ハナコ",
                birth_date=dt.date(1950, 5, n), sex="2", postal_code="1540001", address="世田谷区"))
    s.flush()
    s.add(Shikaku(hihokensha_no=f"{n:010d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                  shutoku_date=dt.date(2015, 4, 1), shutoku_jiyu="02", soshitsu_date=lost,
                  soshitsu_jiyu="01" if lost else None))
    if kari is not None:
        f = Fuka(nendo=NENDO, atena_no=atena_no, hihokensha_no=f"{n:010d}", dankai=5, nengaku=80000,
                 choshu_kubun=choshu, nenkin_nengaku=2_000_000)
        s.add(f)
        s.flush()
        s.add_all(FukaKibetsu(fuka_id=f.id, ki=ki, amount=a) for ki, a in {**kari, 4: 9000, 5: 9000, 6: 9000}.items())
    return atena_no


def irai(s: Session, atena_no: str, nendo: int, ki: int, amount: int, status: str, naiyo: str = "01") -> None:
    s.add(TokuchoIrai(nendo=nendo, ki=ki, atena_no=atena_no, hihokensha_no=atena_no[-10:], gimusha_code="001",
                      kiso_nenkin_no="5" + atena_no[-9:], nenkin_code="1150", irai_amount=amount,
                      tsuchi_naiyo_code=naiyo, status=status, transfer_id=None if status == "pending" else "t-prev"))


def kekka_ki1(s: Session, atena_no: str, kiso: str, amount: int) -> None:
    """A matched yearly 対象者 and its 期1 天引結果 (正常)."""
    s.add(TokuchoTaisho(nendo=NENDO, hosoku_month="04", tsuchi_naiyo_code="00", gimusha_code="002",
                        kiso_nenkin_no=kiso, nenkin_code="1150", birth_date=dt.date(1950, 5, 1), sex="2",
                        name_kana="ﾔﾏﾀﾞ", kingaku1=300_000, kingaku2=0, kingaku3=0, atena_no=atena_no,
                        match_state="matched", transfer_id="t-prev"))
    s.add(TokuchoKekka(nendo=NENDO, ki=1, kiso_nenkin_no=kiso, nenkin_code="1150", file_kind="Z14",
                       tsuchi_naiyo_code="22", shori_kekka="00", tenbiki_amount=amount, transfer_id="t-prev"))


FLAT = {1: 6000, 2: 6500, 3: 6500}


@pytest.fixture
def people(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        s.add(Transfer(id="t-prev", flow="nenkin.z12", partner="keiyu", direction="out", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="sent", batch="nenkin.z12/001/2025"))
        s.flush()
        p = {"change": person(s, 1, FLAT), "same": person(s, 2, {1: 6000, 2: 6000, 3: 6000}),
             "later": person(s, 3, {1: 6000, 2: 6000, 3: 7000}), "uneven": person(s, 4, {1: 6000, 2: 6500, 3: 7000}),
             "zero": person(s, 5, {1: 6000, 2: 0, 3: 0}), "refused": person(s, 6, FLAT),
             "kekka": person(s, 7, {1: 5000, 2: 5500, 3: 5500}), "two": person(s, 8, FLAT),
             "lost": person(s, 9, FLAT, lost=dt.date(2026, 5, 10)), "futsucho": person(s, 10, FLAT, choshu="futsucho"),
             "tsuika": person(s, 11, FLAT), "sent61": person(s, 12, {1: 6000, 2: 6800, 3: 6800}),
             "sent61_ok": person(s, 13, FLAT), "no_fuka": person(s, 14, None),
             "pending_again": person(s, 15, FLAT)}
        for name in ("change", "same", "later", "uneven", "zero", "lost", "futsucho", "tsuika", "sent61",
                     "sent61_ok", "no_fuka", "pending_again"):
            irai(s, p[name], NENDO - 1, 6, 6000, "deducted" if name != "same" else "accepted")
        irai(s, p["refused"], NENDO - 1, 6, 6000, "rejected")
        irai(s, p["tsuika"], NENDO, 2, 6500, "pending", naiyo="31")
        for ki in (2, 3):
            irai(s, p["sent61"], NENDO, ki, 6500, "accepted", naiyo="61")
            irai(s, p["sent61_ok"], NENDO, ki, 6500, "sent", naiyo="61")
            irai(s, p["pending_again"], NENDO, ki, 6400, "pending", naiyo="61")  # decided before the 賦課 changed
        kekka_ki1(s, p["kekka"], "7000000007", 5000)
        kekka_ki1(s, p["two"], "7000000008", 6000)
        kekka_ki1(s, p["two"], "7000000009", 6000)
        return p


def kari_rows(store: sessionmaker[Session]) -> dict[tuple[str, int], tuple[int, str]]:
    with store() as s:
        return {(a, ki): (amount, st) for a, ki, amount, st in s.execute(
            select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.irai_amount, TokuchoIrai.status)
            .where(TokuchoIrai.tsuchi_naiyo_code == "61", TokuchoIrai.status == "pending"))}


def test_the_kari_ki_a_month_reaches() -> None:
    assert z1a_kari.reached(2026, dt.date(2026, 4, 30)) == {2026: (2, 3), 2027: (1, 2, 3)}
    assert z1a_kari.reached(2026, MAY) == {2026: (2, 3), 2027: (1, 2, 3)}
    assert z1a_kari.reached(2026, JUNE) == {2026: (3,), 2027: (1, 2, 3)}
    assert z1a_kari.reached(2026, dt.date(2026, 8, 31)) == {2027: (1, 2, 3)}


def test_who_gets_a_kari_change_in_may_and_why_not(store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store.begin() as s:
        decided = z1a_kari.decide_kari(s, NENDO, MAY)
    p = people
    assert kari_rows(store) == {(p["change"], 2): (6500, "pending"), (p["change"], 3): (6500, "pending"),
                                (p["kekka"], 2): (5500, "pending"), (p["kekka"], 3): (5500, "pending"),
                                (p["pending_again"], 2): (6500, "pending"), (p["pending_again"], 3): (6500, "pending")}
    assert decided.created == 6 and decided.existing == 0
    listed = dict(decided.listed)
    assert set(listed) == {p["uneven"], p["zero"], p["two"], p["sent61"]}
    assert "differ (6500, 7000)" in listed[p["uneven"]]
    assert "a 停止, not a 仮徴収額変更" in listed[p["zero"]]
    assert "2 pensions deducted in 期1" in listed[p["two"]]
    assert "already asked by a 仮徴収額変更 (accepted, 6500 yen); the 賦課 now says 6800" in listed[p["sent61"]]
    # Not asked: the same amount; 期2 right and 期3 not (June's); refused last year (nothing goes on);
    # lost (the 41's); 普通徴収 or no 賦課; a 追加依頼 asked for 期2; a 61 sent already of the amount.
    with store.begin() as s:
        again = z1a_kari.decide_kari(s, NENDO, MAY)
    assert (again.created, again.existing) == (0, 6)
    assert kari_rows(store)[(p["change"], 2)] == (6500, "pending")


def test_a_pending_change_follows_the_fuka_and_june_reaches_ki3_alone(store: sessionmaker[Session],
                                                                     people: dict[str, str]) -> None:
    with store.begin() as s:
        z1a_kari.decide_kari(s, NENDO, MAY)
        fuka_id = s.scalar(select(Fuka.id).where(Fuka.atena_no == people["change"]))
        s.execute(update(FukaKibetsu).where(FukaKibetsu.fuka_id == fuka_id, FukaKibetsu.ki.in_((2, 3)))
                  .values(amount=6600))
    with store.begin() as s:
        assert z1a_kari.decide_kari(s, NENDO, MAY).created == 2
    assert kari_rows(store)[(people["change"], 3)] == (6600, "pending")
    with store.begin() as s:
        june = z1a_kari.decide_kari(s, NENDO, JUNE)
    rows = kari_rows(store)
    assert rows[(people["later"], 3)] == (7000, "pending") and (people["later"], 2) not in rows
    assert people["uneven"] not in dict(june.listed)  # 期3 alone: one amount
    assert rows[(people["uneven"], 3)] == (7000, "pending")


def test_the_61_records_and_the_file_the_keiyu_reads(store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store.begin() as s:
        z1a_kari.decide_kari(s, NENDO, MAY)
    left: list[tuple[str, str]] = []
    with store() as s:
        kari = z1a_who.tsuika(s, NENDO, MAY, [], left, naiyo="61")
        files = z1a.build(s, "202605", 1, z1a.Records([], [], kari, []), left)
    assert [(t.atena_no, t.gimusha_code, t.first, t.amount) for t in kari] == [
        (people["change"], "001", (2026, 2), 6500), (people["pending_again"], "001", (2026, 2), 6500),
        (people["kekka"], "002", (2026, 2), 5500)]
    assert left == []
    read = [keiyu_z1a.read(b"".join(nenkin_render.render(f.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                             for r in f.records))))
            for f in files]
    assert [(r.gimusha_code, r.tsuchi_naiyo_code) for r in read] == [("001", "61"), ("002", "61")]
    assert [[(x.person.kiso_nenkin_no, x.kakushu_kubun, x.kakushu_ymd, x.kingaku1, x.kingaku2, x.kingaku3)
             for x in r.records] for r in read] == [
        [("5000000001", "00", None, 6500, 0, 0), ("5000000015", "00", None, 6500, 0, 0)],
        [("7000000007", "00", None, 5500, 0, 0)]]
    # Not sent in May (a held file): in June 期2 has passed, 期3 still goes; in August nothing does.
    with store() as s:
        june = z1a_who.tsuika(s, NENDO, JUNE, [], left, naiyo="61")
        august = z1a_who.tsuika(s, NENDO, dt.date(2026, 8, 31), [], left, naiyo="61")
    assert [(t.first, t.amount) for t in june] == [((2026, 3), 6500), ((2026, 3), 6500), ((2026, 3), 5500)]
    assert august == [] and {a for a, _ in left} == {people["change"], people["pending_again"], people["kekka"]}
    assert all("仮徴収額変更 whose 期 was deducted" in why for _a, why in left)


def test_the_keiyu_refuses_a_61_with_a_date_or_no_amount(store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store.begin() as s:
        z1a_kari.decide_kari(s, NENDO, MAY)
    with store() as s:
        kari = z1a_who.tsuika(s, NENDO, MAY, [], [], naiyo="61")
        (file, _other) = z1a.build(s, "202605", 1, z1a.Records([], [], kari, []), [])

    def render() -> bytes:
        return b"".join(nenkin_render.render(file.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                    for r in file.records)))

    file.records[0]["kakushu_ymd"] = dt.date(2026, 6, 15)
    with pytest.raises(keiyu_z1a.Z1ARefused, match="仮徴収額変更 carries the new 仮徴収額 as 金額1 only"):
        keiyu_z1a.read(render())
    file.records[0].update(kakushu_ymd=None, kakushu_kubun="01")
    with pytest.raises(keiyu_z1a.Z1ARefused, match="各種区分: 01"):
        keiyu_z1a.read(render())
