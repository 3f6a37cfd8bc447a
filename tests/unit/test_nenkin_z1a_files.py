"""The Z1A of a month from rows written by hand into a real (SQLite) store: who gets a 資格喪失等
(41) and a 追加依頼 (31), the files as the 経由機関's own reader sees them, and the 依頼 recorded
sent / stopped from real encrypted payloads. Expected values are typed in here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.delivery import file_name
from adapters.nenkin import z1a, z1a_sent, z1a_who
from adapters.nenkin.z1a_sent import BatchKey
from fixtures.nenkin import z1a as keiyu_z1a
from mappings import nenkin_render
from mappings.charpolicy import CharPolicy, SubstitutionTable
from queues.crypto import Keyring
from queues.payloads import PayloadStore
from store.models import Atena, Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.tokucho import TokuchoTsuchi

NENDO = 2026
MONTH, END = "202611", dt.date(2026, 11, 30)


def person(s: Session, n: int, *, lost: tuple[dt.date, str] | None = None, reopened: bool = False,
           fuka: dict[int, int] | None = None, fuka_nendo: int = NENDO) -> str:
    atena_no = f"{n:015d}"
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji="山田　太郎", name_kana="ヤマダ　タロウ",
                birth_date=dt.date(1950, 4, n), sex="1", postal_code="1540001", address="世田谷区"))
    s.flush()
    s.add(Shikaku(hihokensha_no=f"{n:010d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                  shutoku_date=dt.date(2015, 4, 1), shutoku_jiyu="02", soshitsu_date=lost and lost[0],
                  soshitsu_jiyu=lost and lost[1]))
    if reopened:
        s.add(Shikaku(hihokensha_no=f"9{n:09d}", atena_no=atena_no, hokensha_no="131128", hihokensha_kubun="1",
                      shutoku_date=dt.date(2026, 6, 1), shutoku_jiyu="01"))
    if fuka is not None:
        f = Fuka(nendo=fuka_nendo, atena_no=atena_no, hihokensha_no=f"{n:010d}", dankai=5, nengaku=72000,
                 choshu_kubun="tokucho", nenkin_nengaku=2_000_000)
        s.add(f)
        s.flush()
        s.add_all(FukaKibetsu(fuka_id=f.id, ki=ki, amount=a) for ki, a in fuka.items())
    return atena_no


def irai(s: Session, atena_no: str, kiso: str, statuses: dict[int, str], gimusha: str = "001") -> None:
    s.add_all(TokuchoIrai(nendo=NENDO, ki=ki, atena_no=atena_no, hihokensha_no=atena_no[-10:], gimusha_code=gimusha,
                          kiso_nenkin_no=kiso, nenkin_code="1150", irai_amount=9000, tsuchi_naiyo_code="01",
                          status=st, transfer_id=None if st == "pending" else "t-z12") for ki, st in statuses.items())


def taisho(s: Session, atena_no: str, kiso: str, hosoku: str = "04", gimusha: str = "001") -> None:
    s.add(TokuchoTaisho(nendo=NENDO, hosoku_month=hosoku, tsuchi_naiyo_code="00" if hosoku == "04" else "30",
                        gimusha_code=gimusha, kiso_nenkin_no=kiso, nenkin_code="1150", birth_date=dt.date(1950, 4, 1),
                        sex="1", name_kana="ﾔﾏﾀﾞ", kingaku1=2_000_000, kingaku2=0, kingaku3=0, atena_no=atena_no,
                        match_state="matched", transfer_id="t-z11"))


SENT = {4: "sent", 5: "sent", 6: "sent"}
KIBETSU = {1: 6000, 2: 6000, 3: 6000, 4: 7000, 5: 7000, 6: 7000}


@pytest.fixture
def people(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        for tid, flow in (("t-z12", "nenkin.z12"), ("t-z11", "nenkin.z11")):
            s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction="out", sha256="0" * 64, size=1,
                           key_id="k", payload_ref="p", state="sent", batch=f"{flow}/001/2026"))
        s.flush()
        p = {"dead": person(s, 1, lost=(dt.date(2026, 11, 20), "02"), fuka=KIBETSU),
             "moved": person(s, 2, lost=(dt.date(2026, 5, 10), "01"), fuka=KIBETSU),
             "later": person(s, 3, lost=(dt.date(2026, 12, 5), "02"), fuka=KIBETSU),
             "back": person(s, 4, lost=(dt.date(2026, 8, 1), "01"), reopened=True, fuka=KIBETSU),
             "other": person(s, 5, lost=(dt.date(2026, 9, 30), "99"), fuka=KIBETSU),
             "told": person(s, 6, lost=(dt.date(2026, 6, 2), "02"), fuka=KIBETSU),
             "before": person(s, 7, lost=(dt.date(2026, 3, 20), "02"), fuka=KIBETSU),
             "paid": person(s, 8, lost=(dt.date(2026, 10, 20), "02"), fuka=KIBETSU),
             "tsuika": person(s, 11, fuka=KIBETSU),
             "feb": person(s, 12, fuka={**KIBETSU, 6: 5000}),
             "next": person(s, 13, fuka=KIBETSU),
             "uneven": person(s, 14, fuka={**KIBETSU, 6: 7100}),
             "tsuika_lost": person(s, 15, lost=(dt.date(2026, 10, 1), "01"), fuka=KIBETSU),
             "two": person(s, 16, fuka=KIBETSU)}
        irai(s, p["dead"], "1000000001", SENT)
        irai(s, p["later"], "1000000003", SENT)
        irai(s, p["back"], "1000000004", SENT)
        irai(s, p["other"], "1000000005", {4: "accepted", 5: "pending", 6: "pending"}, gimusha="002")
        irai(s, p["paid"], "1000000008", {4: "deducted", 5: "rejected", 6: "rejected"})
        for name, kiso in (("moved", "2000000002"), ("told", "2000000006"), ("before", "2000000007")):
            taisho(s, p[name], kiso)
        taisho(s, p["tsuika"], "3000000011", "06")
        taisho(s, p["feb"], "3000000012", "08", gimusha="002")
        taisho(s, p["next"], "3000000013", "10")
        taisho(s, p["uneven"], "3000000014", "06")
        taisho(s, p["tsuika_lost"], "3000000015", "06")
        taisho(s, p["two"], "3000000016", "06")
        taisho(s, p["two"], "3000000017", "08")
        return p


@pytest.mark.parametrize(("nendo", "hosoku", "want"), [
    (2026, "06", (2026, 5)), (2026, "08", (2026, 6)), (2026, "10", (2027, 1)), (2026, "12", (2027, 2)),
    (2026, "02", (2027, 3))])
def test_the_ki_six_months_after_the_hosoku_month(nendo: int, hosoku: str, want: tuple[int, int]) -> None:
    assert z1a_who.target(nendo, hosoku) == want


def test_who_is_told_of_a_loss_and_with_which_kubun(store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store() as s:
        got = z1a_who.losses(s, NENDO, END, notified={("2000000006", "1150")}, resend=set())
    assert [(x.atena_no, x.gimusha_code, x.pension[0], x.soshitsu_date, x.kakushu_kubun) for x in got] == [
        (people["dead"], "001", "1000000001", dt.date(2026, 11, 20), "01"),  # 死亡 (store code 02)
        (people["moved"], "001", "2000000002", dt.date(2026, 5, 10), "02"),  # 転出, no 依頼: the 対象者
        (people["other"], "002", "1000000005", dt.date(2026, 9, 30), "03")]  # another 事由
    # Not told: lost after the month, 資格 open again, already told in a 41, lost before the 年度,
    # 依頼 after the 喪失日 all deducted or refused. An edition of the month sends "told" again.
    with store() as s:
        again = z1a_who.losses(s, NENDO, END, notified={("2000000006", "1150")}, resend={("2000000006", "1150")})
    assert people["told"] in {x.atena_no for x in again}


def test_tsuika_decided_from_the_kouho_and_listed_otherwise(store: sessionmaker[Session],
                                                             people: dict[str, str]) -> None:
    with store.begin() as s:
        decided = z1a_who.decide_tsuika(s, NENDO, dt.date(2026, 7, 31))
    assert decided.created == 2 + 1
    listed = dict(decided.listed)
    assert set(listed) == {people["next"], people["uneven"], people["tsuika_lost"], people["two"]}
    assert "no 特別徴収 賦課 of 年度 2027" in listed[people["next"]]
    assert "not one amount" in listed[people["uneven"]] and "資格 lost" in listed[people["tsuika_lost"]]
    assert "2 pensions" in listed[people["two"]]
    with store.begin() as s:
        assert z1a_who.decide_tsuika(s, NENDO, dt.date(2026, 7, 31)).existing == 3  # idempotent
        rows = s.execute(select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.irai_amount, TokuchoIrai.status)
                         .where(TokuchoIrai.tsuchi_naiyo_code == "31").order_by(TokuchoIrai.atena_no,
                                                                                TokuchoIrai.ki)).all()
    assert [tuple(r) for r in rows] == [(people["tsuika"], 5, 7000, "pending"), (people["tsuika"], 6, 7000, "pending"),
                                        (people["feb"], 6, 5000, "pending")]
    # Too late: in December, 期5 (12月15日) can no longer be asked for.
    with store.begin() as s:
        s.execute(delete(TokuchoIrai).where(TokuchoIrai.tsuchi_naiyo_code == "31"))
        late = z1a_who.decide_tsuika(s, NENDO, dt.date(2026, 12, 31))
    assert "deducted before this month's file" in dict(late.listed)[people["tsuika"]]


def _files(store: sessionmaker[Session]) -> list[z1a.Z1aFile]:
    with store.begin() as s:
        z1a_who.decide_tsuika(s, NENDO, END - dt.timedelta(days=30))
    left: list[tuple[str, str]] = []
    with store() as s:
        lost = z1a_who.losses(s, NENDO, END, set(), set())
        asked = z1a_who.tsuika(s, NENDO, END, [], left)
        return z1a.build(s, MONTH, 1, z1a.Records(lost, asked, [], []), left)


def render(file: z1a.Z1aFile) -> bytes:
    return b"".join(nenkin_render.render(file.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                for r in file.records)))


def test_one_file_per_gimusha_and_naiyo_read_by_the_keiyu(store: sessionmaker[Session],
                                                          people: dict[str, str]) -> None:
    files = _files(store)
    assert [(f.key.gimusha_code, f.key.naiyo) for f in files] == [("001", "31"), ("001", "41"), ("002", "31"),
                                                                 ("002", "41")]
    read = [keiyu_z1a.read(render(f)) for f in files]
    assert [(r.gimusha_code, r.tsuchi_naiyo_code, r.baitai_tsuban) for r in read] == [
        ("001", "31", 1), ("001", "41", 1), ("002", "31", 1), ("002", "41", 1)]
    rows = [[(x.person.kiso_nenkin_no, x.kakushu_kubun, x.kakushu_ymd, x.kingaku1, x.kingaku2, x.kingaku3)
             for x in r.records] for r in read]
    assert rows == [
        [("3000000011", "01", None, 7000, 0, 0)],
        [("1000000001", "01", dt.date(2026, 11, 20), 0, 0, 0), ("2000000002", "02", dt.date(2026, 5, 10), 0, 0, 0),
         ("2000000006", "01", dt.date(2026, 6, 2), 0, 0, 0)],
        [("3000000012", "01", None, 5000, 0, 0)],
        [("1000000005", "03", dt.date(2026, 9, 30), 0, 0, 0)]]
    assert read[0].records[0].person.kana == "ﾔﾏﾀﾞ ﾀﾛｳ" and read[0].records[0].person.kanji == "山田　太郎"


def test_the_keiyu_reader_refuses_what_a_z1a_cannot_say(store: sessionmaker[Session], people: dict[str, str]) -> None:
    file = _files(store)[1]
    file.records[0]["kingaku1"] = 100
    with pytest.raises(keiyu_z1a.Z1ARefused, match="no amount"):
        keiyu_z1a.read(render(file))
    file.records[0].update(kingaku1=0, kakushu_kubun="05")
    with pytest.raises(keiyu_z1a.Z1ARefused, match="各種区分: 05"):
        keiyu_z1a.read(render(file))


def test_batch_key_names_the_file_and_july_is_refused() -> None:
    key = BatchKey.parse("nenkin.z1a/00103/202611/41#2")
    assert (key.gimusha_code, key.seq, key.month, key.naiyo, key.edition, key.nendo, key.month_end) == (
        "001", 3, "202611", "41", 2, 2026, dt.date(2026, 11, 30))
    assert key.text() == "nenkin.z1a/00103/202611/41#2"
    assert BatchKey.parse("nenkin.z1a/00201/202702/31").nendo == 2026
    assert file_name(Transfer(id="t", flow="nenkin.z1a", batch=key.text()), "Z1A{period}.DTA") == "Z1A00103.DTA"
    with pytest.raises(ValueError, match="no Z1A in July"):
        z1a.month_text(202607)
    with pytest.raises(ValueError, match="YYYYMM"):
        z1a.month_text(20261)


def _store(store: sessionmaker[Session], payloads: PayloadStore, tid: str, file: z1a.Z1aFile, created: dt.datetime,
           state: str = "queued") -> None:
    with payloads.open_writer(tid, "nenkin.z1a") as w:
        for chunk in nenkin_render.render(file.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                 for r in file.records),
                                         chars=CharPolicy(SubstitutionTable({}))):
            w.write(chunk)
    info = w.close()
    with store.begin() as s:
        s.add(Transfer(id=tid, flow="nenkin.z1a", batch=file.key.text(), partner="keiyu", direction="out",
                       sha256=info.sha256, size=info.size, key_id=info.key_id, payload_ref=info.ref, state=state,
                       part_no=1, part_count=1, created_at=created, updated_at=created))


def statuses(store: sessionmaker[Session]) -> dict[tuple[str, int], tuple[Any, ...]]:
    with store() as s:
        return {(a, ki): (st, t) for a, ki, st, t in s.execute(
            select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.status, TokuchoIrai.transfer_id))}


def test_sent_and_stopped_are_what_the_stored_files_hold(store: sessionmaker[Session], people: dict[str, str],
                                                         tmp_path: Path) -> None:
    payloads = PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys"))
    files = _files(store)
    t0 = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    _store(store, payloads, "t-31", files[0], t0)
    _store(store, payloads, "t-41", files[1], t0)
    _store(store, payloads, "t-held", files[3], t0, state="held")
    assert z1a_sent.record_sent(store, payloads) == {"sent": 2, "stopped": 2, "notices": 3}
    st = statuses(store)
    assert (st[(people["tsuika"], 5)], st[(people["tsuika"], 6)]) == (("sent", "t-31"), ("sent", "t-31"))
    assert st[(people["feb"], 6)] == ("pending", None)  # 義務者 002's 31 is another file, not stored
    # Death on 11月20日: 期4 (10月15日) stays as it was; 期5 and 期6 stop, like a Z14 停止.
    assert [st[(people["dead"], ki)] for ki in (4, 5, 6)] == [("sent", "t-z12"), ("stopped", "t-41"),
                                                              ("stopped", "t-41")]
    # The 41's records kept as notices (for their 42 answers), each with the 宛名 holding the pension.
    with store() as s:
        kept = {(n.kiso_nenkin_no, n.kakushu_kubun, n.kakushu_date, n.atena_no, n.transfer_id, n.status, n.nendo)
                for n in s.scalars(select(TokuchoTsuchi))}
    assert kept == {("1000000001", "01", dt.date(2026, 11, 20), people["dead"], "t-41", "sent", 2026),
                    ("2000000002", "02", dt.date(2026, 5, 10), people["moved"], "t-41", "sent", 2026),
                    ("2000000006", "01", dt.date(2026, 6, 2), people["told"], "t-41", "sent", 2026)}
    # In the held file only: nothing marked.
    assert [st[(people["other"], ki)][0] for ki in (4, 5, 6)] == ["accepted", "pending", "pending"]
    assert z1a_sent.record_sent(store, payloads) == {"sent": 0, "stopped": 0, "notices": 0}  # again: nothing
    assert statuses(store) == st
    # What the 41 files of the 年度 carried: the (b) persons (no 依頼) are not told twice.
    with store() as s:
        every, month = z1a_sent.notified(s, NENDO, MONTH)
    assert every == month == {("1000000001", "1150"), ("2000000002", "1150"), ("2000000006", "1150")}
