"""The Z12 files of a run, from 依頼 rows written by hand into a real (SQLite) store, and the 依頼
recorded sent from real encrypted payloads. Expected values are typed in here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin import z12, z12_sent
from fixtures.nenkin import z12 as keiyu_z12
from mappings import nenkin_render
from mappings.charpolicy import CharPolicy, SubstitutionTable
from queues.crypto import Keyring
from queues.payloads import PayloadStore
from store.models import Atena, TokuchoIrai, Transfer
from store.models.tokucho import JushochiTokurei

NENDO = 2026
DAY = dt.date(2026, 7, 3)


def person(s: Session, n: int, kana: str, kanji: str, gimusha: str, kiso: str,
           amounts: dict[int, int], status: str = "pending") -> str:
    atena_no = f"{n:015d}"
    s.add(Atena(atena_no=atena_no, setai_no=atena_no, name_kanji=kanji, name_kana=kana,
                birth_date=dt.date(1950, 4, n), sex=str(1 + n % 2), postal_code="1540001", address="世田谷区"))
    s.flush()
    s.add_all(TokuchoIrai(nendo=NENDO, ki=ki, atena_no=atena_no, hihokensha_no=f"{n:010d}", gimusha_code=gimusha,
                          kiso_nenkin_no=kiso, nenkin_code="1150", irai_amount=a, tsuchi_naiyo_code="01",
                          status=status, transfer_id=None if status == "pending" else "t-old")
              for ki, a in amounts.items())
    return atena_no


HONCHO = {4: 12_300, 5: 11_000, 6: 11_000}


@pytest.fixture
def people(store: sessionmaker[Session]) -> dict[str, str]:
    with store.begin() as s:
        s.add(Transfer(id="t-old", flow="nenkin.z12", partner="keiyu", direction="out", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="sent", batch="nenkin.z12/001/2025"))
        return {
            "yamada": person(s, 1, "ヤマダ　タロウ", "山田　太郎", "001", "2000000002", HONCHO),
            "gotou": person(s, 2, "ゴトウ　ハナコ", "髙橋　花子", "001", "1000000001", {4: 8000, 5: 7000, 6: 7000}),
            "kyosai": person(s, 3, "パク　ミン", "朴　英", "002", "3000000003", HONCHO),
            "partly": person(s, 4, "サトウ　イチ", "佐藤　一", "001", "4000000004", {4: 5000, 5: 5000}),
            "long": person(s, 5, "ジュゲムジュゲム　ゴコウノスリキレカイジャリ", "寿限無", "001", "5000000005", HONCHO),
            "sent": person(s, 6, "スズキ　ジロウ", "鈴木　次郎", "001", "6000000006", HONCHO, status="sent"),
        }


def test_one_file_per_gimusha_sorted_by_kiso_with_the_amounts_of_ki_4_and_5(
        store: sessionmaker[Session], people: dict[str, str]) -> None:
    left: list[tuple[str, str]] = []
    with store() as s:
        files = z12.build(s, NENDO, 1, ("pending",), DAY, left)
        first_rows, second_rows = (list(z12.rows(s, f)) for f in files)
    assert [(f.gimusha_code, f.batch(), f.edition, f.sakusei, f.count) for f in files] == [
        ("001", "nenkin.z12/001/2026", 1, DAY, 2), ("002", "nenkin.z12/002/2026", 1, DAY, 1)]
    first = [r for _a, r in first_rows]
    second = [r for _a, r in second_rows]
    assert [(r["kiso_nenkin_no"], r["kana_shimei"], r["kanji_shimei"], r["kingaku1"], r["kingaku2"], r["kingaku3"])
            for r in first] == [
        ("1000000001", "ｺﾞﾄｳ ﾊﾅｺ", None, 8000, 7000, 0),  # 髙 is not JIS X 0208: blank
        ("2000000002", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", 12_300, 11_000, 0)]
    assert [(r["kiso_nenkin_no"], r["kana_shimei"], r["kanji_shimei"]) for r in second] == [
        ("3000000003", "ﾊﾟｸ ﾐﾝ", "朴　英")]
    yamada = first[1]
    assert (yamada["birth_ymd"], yamada["seibetsu"], yamada["yubin_no"], yamada["kakushu_kubun"],
            yamada["shori_kekka"], yamada["kakushu_ymd"]) == (dt.date(1950, 4, 1), "2", "1540001", "01", "00", None)
    assert [a for a, _r in first_rows] == [people["gotou"], people["yamada"]]
    # Left out, with the reason: 期6 not pending; a カナ longer than 25 half-width bytes.
    assert [a for a, _why in left] == [people["partly"], people["long"]]
    assert {a for _kiso, _code, a in files[0].left_out} == {people["partly"], people["long"]}
    assert "期 6" in left[0][1] and "25 bytes" in left[1][1]
    # An edition takes the sent 依頼 too.
    with store() as s:
        again = z12.build(s, NENDO, 2, ("pending", "sent"), DAY, [])
        assert again[0].batch() == "nenkin.z12/001/2026#2"
        assert [r["kiso_nenkin_no"] for r in z12.records(s, again[0])] == ["1000000001", "2000000002", "6000000006"]


def test_a_person_without_the_first_ki_is_counted_and_left_out(store: sessionmaker[Session],
                                                               people: dict[str, str]) -> None:
    # build counts a file's records by its 期4 依頼; a person without one is found among those in
    # doubt and counted there: the file is made whole, and a 義務者 with only such persons has none.
    with store.begin() as s:
        late = person(s, 7, "タナカ　ミツ", "田中　光", "001", "7000000007", {5: 4000, 6: 4000})
        alone = person(s, 8, "キムラ　ゴウ", "木村　剛", "003", "8000000008", {6: 4000})
    left: list[tuple[str, str]] = []
    with store() as s:
        files = z12.build(s, NENDO, 1, ("pending",), DAY, left)
        assert [(f.gimusha_code, f.count) for f in files] == [("001", 2), ("002", 1)]
        assert [r["kiso_nenkin_no"] for r in z12.records(s, files[0])] == ["1000000001", "2000000002"]
    assert {a for a, _why in left} == {people["partly"], people["long"], late, alone}
    assert "期 4" in dict(left)[late]


def test_a_file_whose_irai_changed_after_the_count_is_not_made(
        store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store() as s:
        first = z12.build(s, NENDO, 1, ("pending",), DAY, [])[0]
    with store.begin() as s:  # 後藤's 依頼 went out in another file between the count and the rendering
        for row in s.scalars(select(TokuchoIrai).where(TokuchoIrai.atena_no == people["gotou"])):
            row.status, row.transfer_id = "sent", "t-old"
    with store() as s, pytest.raises(z12.ChangedDuringRun, match="1 records where the run counted 2"):
        list(z12.records(s, first))
    with store.begin() as s:  # 佐藤's 期6 now pending: a person left out could now be carried
        s.add(TokuchoIrai(nendo=NENDO, ki=6, atena_no=people["partly"], hihokensha_no="0000000004",
                          gimusha_code="001", kiso_nenkin_no="4000000004", nenkin_code="1150", irai_amount=5000,
                          tsuchi_naiyo_code="01"))
    with store() as s, pytest.raises(z12.ChangedDuringRun):
        list(z12.records(s, first))


def test_the_rendered_file_is_what_the_keiyu_reads(store: sessionmaker[Session], people: dict[str, str]) -> None:
    with store() as s:
        first = z12.build(s, NENDO, 3, ("pending",), DAY, [])[0]
        raw = b"".join(nenkin_render.render(first.control("13112"), ({**r, "shichoson_code": "13112"}
                                                                    for r in z12.records(s, first))))
    assert raw[:17] == b"13112 00320260703", "管理レコード: 市町村, 媒体通番 = the edition, 作成年月日"
    read = keiyu_z12.read(raw)
    assert (read.gimusha_code, read.sakusei) == ("001", DAY)
    assert [(r.person.kiso_nenkin_no, r.person.kana, r.person.kanji, r.kingaku1, r.kingaku2)
            for r in read.records] == [("1000000001", "ｺﾞﾄｳ ﾊﾅｺ", "", 8000, 7000),
                                       ("2000000002", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", 12_300, 11_000)]


@pytest.mark.parametrize(("name", "kept"), [
    ("山田　太郎", "山田　太郎"), ("  山田　太郎\u3000", "山田　太郎"), ("髙橋", None), ("ＡＢＣ", "ＡＢＣ"),
    ("ABC", None), ("〜", None), ("一" * 25, "一" * 25), ("一" * 26, None), ("", None)])
def test_kanji_name_is_jis_x0208_in_50_bytes_or_blank(name: str, kept: str | None) -> None:
    assert z12.kanji(name) == kept


def _store_file(store: sessionmaker[Session], payloads: PayloadStore, tid: str, batch: str, created: dt.datetime,
                kisos: list[str], state: str = "queued") -> None:
    records = [{"shichoson_code": "13112", "kiso_nenkin_no": k, "nenkin_code": "1150",
                "birth_ymd": dt.date(1950, 4, 1), "seibetsu": "1", "kana_shimei": "ｱ", "kanji_shimei": None,
                "yubin_no": None, "kana_jusho": None, "kanji_jusho": None, "kakushu_kubun": "01",
                "shori_kekka": "00", "koki_ikan_code": None, "kakushu_ymd": None, "kingaku1": 1, "kingaku2": 1,
                "kingaku3": 0, "kyosai_shosho_no": None} for k in kisos]
    control = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": DAY, "gimusha_code": "001",
               "tsuchi_naiyo_code": "01", "baitai_code": "6"}
    with payloads.open_writer(tid, "nenkin.z12") as w:
        for chunk in nenkin_render.render(control, records, chars=CharPolicy(SubstitutionTable({}))):
            w.write(chunk)
    info = w.close()
    with store.begin() as s:
        s.add(Transfer(id=tid, flow="nenkin.z12", batch=batch, partner="keiyu", direction="out", sha256=info.sha256,
                       size=info.size, key_id=info.key_id, payload_ref=info.ref, state=state, part_no=1,
                       part_count=1, created_at=created, updated_at=created))


def test_sent_is_what_each_file_holds_and_a_newer_file_keeps_its_irai(
        store: sessionmaker[Session], people: dict[str, str], tmp_path: Path) -> None:
    payloads = PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys"))
    t0 = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    _store_file(store, payloads, "t-1", "nenkin.z12/001/2026", t0, ["1000000001"])
    _store_file(store, payloads, "t-held", "nenkin.z12/001/2026#2", t0 + dt.timedelta(hours=1),
                ["2000000002"], state="held")
    _store_file(store, payloads, "t-2", "nenkin.z12/001/2026#3", t0 + dt.timedelta(hours=2), ["1000000001"])
    assert z12_sent.record_sent(store, payloads) == 3 + 3  # t-1, then t-2 takes them on
    with store() as s:
        rows = {(a, ki): (st, t) for a, ki, st, t in s.execute(
            select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.status, TokuchoIrai.transfer_id))}
    for ki in (4, 5, 6):
        assert rows[(people["gotou"], ki)] == ("sent", "t-2")
        assert rows[(people["yamada"], ki)] == ("pending", None)  # only in the held file
        assert rows[(people["kyosai"], ki)] == ("pending", None)  # 義務者 002: another file
        assert rows[(people["sent"], ki)] == ("sent", "t-old")
    # Again: t-1 names no 依頼 now and is read again, but never takes them back from the newer t-2.
    assert [t.id for t in z12_sent.unrecorded(store)] == ["t-1"]
    assert z12_sent.record_sent(store, payloads) == 0
    with store() as s:
        assert s.scalar(select(TokuchoIrai.transfer_id).where(TokuchoIrai.atena_no == people["gotou"])) == "t-2"


def test_a_kana_name_is_left_out_by_its_half_width_bytes_not_its_characters(store: sessionmaker[Session]) -> None:
    with store.begin() as s:
        fits = person(s, 7, "アイウエオカキクケコサシスセソタチツテト", "", "001", "7000000007", HONCHO)  # 20 bytes
        over = person(s, 8, "ガギグゲゴザジズゼゾダヂヅ", "", "001", "8000000008", HONCHO)  # 26 bytes
        just = person(s, 9, "ガギグゲゴザジズゼゾダヂ", "", "001", "9000000009", HONCHO)  # 24 bytes
    left: list[tuple[str, str]] = []
    with store() as s:
        [file] = z12.build(s, NENDO, 1, ("pending",), DAY, left)
        carried = [a for a, _r in z12.rows(s, file)]
    assert [a for a, _why in left] == [over]
    assert (file.count, carried) == (2, [fits, just])


def test_a_person_jushochi_tokurei_on_the_run_day_is_kakushu_kubun_02(store: sessionmaker[Session]) -> None:
    with store.begin() as s:
        now = person(s, 7, "イマ　ジュウトク", "", "001", "7000000007", HONCHO)
        ended = person(s, 8, "モウ　オワリ", "", "001", "8000000008", HONCHO)
        later = person(s, 9, "コレ　カラ", "", "001", "9000000009", HONCHO)
        s.add_all([JushochiTokurei(atena_no=now, tekiyo_date=dt.date(2025, 10, 1), tekiyo_jiyu="05"),
                   JushochiTokurei(atena_no=ended, tekiyo_date=dt.date(2024, 4, 1), tekiyo_jiyu="05",
                                   kaijo_date=DAY, kaijo_jiyu="01"),  # ended on the run's day
                   JushochiTokurei(atena_no=later, tekiyo_date=DAY + dt.timedelta(days=1), tekiyo_jiyu="05")])
    with store() as s:
        [file] = z12.build(s, NENDO, 1, ("pending",), DAY, [])
        kubun = {a: r["kakushu_kubun"] for a, r in z12.rows(s, file)}
    assert kubun == {now: "02", ended: "01", later: "01"}
