"""The July 特別徴収依頼 (nenkin.z12) through a whole installation: a generated population whose
Z11 対象者 (the simulator's selection) are recorded matched, `kaigo-bridge run nenkin.z12` in its
own process, a worker delivering to the 経由機関's drop folder, and the files read back by the
simulated 経由機関's own reader (fixtures/nenkin/z12.py), which then answers them.

What each file should hold is worked out here from the store's 賦課 and 宛名 with plain queries,
never by the code under test.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from fixtures import population
from fixtures.nenkin import taisho, z12
from fixtures.nenkin.keiyu import Keiyu, requests_from_z12
from store.models import Atena, Fuka, FukaKibetsu, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.fuka import TOKUCHO
from tests.harness import Home, wait_until

NENDO, SEED, PEOPLE = 2026, 31, 260
JST = timezone(timedelta(hours=9))


def announce(home: Home) -> dict[str, taisho.Pensioner]:
    """The yearly Z11's 対象者 recorded matched to the 宛名 they were taken from, by 宛名番号."""
    population.load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=SEED, nendo=NENDO)
    with home.bridge.sessions.begin() as s:
        people = taisho.pensioners(s, NENDO, seed=SEED)
        s.add(Transfer(id="t-z11", flow="nenkin.z11", partner="keiyu", direction="in", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="applied"))
        s.flush()
        s.add_all(TokuchoTaisho(nendo=NENDO, hosoku_month="04", tsuchi_naiyo_code="00",
                                gimusha_code=p.person.gimusha_code, kiso_nenkin_no=p.person.kiso_nenkin_no,
                                nenkin_code=p.person.nenkin_code, birth_date=p.person.birth, sex=p.person.sex,
                                name_kana=p.person.kana, kingaku1=p.nengaku, kingaku2=0, kingaku3=0,
                                atena_no=p.atena_no, match_state="matched", transfer_id="t-z11") for p in people)
    return {p.atena_no: p for p in people}


def expected(home: Home, people: dict[str, taisho.Pensioner]) -> dict[str, dict[str, tuple[Any, ...]]]:
    """義務者 → 基礎年金番号 → (年金コード, 期4, 期5, 生年月日, 性別, カナ (NFKC), 漢字, 郵便番号) of the
    特別徴収 賦課 whose 期5 and 期6 agree (a Z12 carries one amount for both)."""
    kibetsu: dict[int, dict[int, int]] = defaultdict(dict)
    out: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    jis_out = {p.atena_no for p in population.generate(PEOPLE, SEED, NENDO) if p.out_of_jis}
    with home.bridge.sessions() as s:
        for fuka_id, ki, amount in s.execute(select(FukaKibetsu.fuka_id, FukaKibetsu.ki, FukaKibetsu.amount)):
            kibetsu[fuka_id][ki] = amount
        for fuka, atena in s.execute(select(Fuka, Atena).join(Atena, Atena.atena_no == Fuka.atena_no)
                                     .where(Fuka.nendo == NENDO, Fuka.choshu_kubun == TOKUCHO)):
            p = people.get(fuka.atena_no)
            k = kibetsu[fuka.id]
            if p is None or k[5] != k[6]:
                continue
            blank = atena.atena_no in jis_out or not jis(atena.name_kanji)
            out[p.person.gimusha_code][p.person.kiso_nenkin_no] = (
                p.person.nenkin_code, k[4], k[5], atena.birth_date, atena.sex,
                unicodedata.normalize("NFKC", atena.name_kana), "" if blank else atena.name_kanji, atena.postal_code)
    return out


def jis(text: str) -> bool:
    try:
        text.encode("iso2022_jp")
    except UnicodeEncodeError:
        return False
    return True


def got(file: z12.Z12) -> dict[str, tuple[Any, ...]]:
    for r in file.records:
        assert (r.kakushu_kubun, r.shori_kekka, r.kakushu_ymd, r.kingaku3) == ("01", "00", None, 0)
        assert (r.person.kana_jusho, r.person.kanji_jusho) == ("", "")
    return {r.person.kiso_nenkin_no: (r.person.nenkin_code, r.kingaku1, r.kingaku2, r.person.birth, r.person.sex,
                                      unicodedata.normalize("NFKC", r.person.kana), r.person.kanji, r.person.yubin_no)
            for r in file.records}


def delivered(home: Home, name: str) -> bytes:
    drop = home.config.partners["keiyu"].path
    assert drop is not None
    wait_until((drop / name).exists, 60, f"the delivered {name}")
    return (drop / name).read_bytes()


def statuses(home: Home) -> dict[tuple[str, str | None], int]:
    counts: dict[tuple[str, str | None], int] = defaultdict(int)
    with home.bridge.sessions() as s:
        for status, transfer_id in s.execute(select(TokuchoIrai.status, TokuchoIrai.transfer_id)
                                             .where(TokuchoIrai.nendo == NENDO)):
            counts[(status, transfer_id)] += 1
    return dict(counts)


def sent(home: Home, transfer_id: str) -> bool:
    return home.transfer_state(transfer_id) == "sent"


def run(home: Home, *more: str) -> dict[str, Any]:
    return dict(home.cli_json("run", "nenkin.z12", "--nendo", str(NENDO), *more))


def twist(home: Home, people: dict[str, taisho.Pensioner]) -> tuple[str, str, str]:
    """One 漢字氏名 outside JIS X 0208, one 賦課 whose 期6 differs from 期5, one 対象者 not matched."""
    kanji, odd, gone = sorted(a for a, p in people.items() if p.person.gimusha_code == "001")[:3]
    with home.bridge.sessions.begin() as s:
        atena = s.get(Atena, kanji)
        assert atena is not None
        atena.name_kanji = "髙橋　一郎"
        fuka_id = s.scalars(select(Fuka.id).where(Fuka.atena_no == odd, Fuka.nendo == NENDO)).one()
        s.scalars(select(FukaKibetsu).where(FukaKibetsu.fuka_id == fuka_id, FukaKibetsu.ki == 6)).one().amount += 100
        s.delete(s.scalars(select(TokuchoTaisho).where(TokuchoTaisho.atena_no == gone)).one())
    del people[gone]
    return kanji, odd, gone


def test_one_z12_per_gimusha_read_by_the_keiyu_then_refused_then_an_edition(home: Home) -> None:
    people = announce(home)
    kanji, odd, gone = twist(home, people)
    want = expected(home, people)
    assert want["001"][people[kanji].person.kiso_nenkin_no][6] == ""
    assert people[odd].person.kiso_nenkin_no not in want["001"]
    assert set(want) == {"001", "002"}, "the population has pensions of both 義務者"
    home.start_worker("--routes", "nenkin.deliver")
    before = datetime.now(JST).date()
    first = run(home)
    after = datetime.now(JST).date()
    assert first["batch"] == f"nenkin.z12/001/{NENDO} nenkin.z12/002/{NENDO}"
    assert first["transfers"] == 2 and first["held"] == 0 and first["left_out"] == []
    assert first["records"] == sum(len(w) for w in want.values())
    assert first["decided"] == 3 * first["records"] and first["irai_sent"] == 3 * first["records"]
    # Listed: every 特別徴収 賦課 not asked for, by 宛名番号 with a reason; no 基礎年金番号 anywhere.
    asked_atena = {a for a, p in people.items() if p.person.kiso_nenkin_no in want[p.person.gimusha_code]}
    with home.bridge.sessions() as s:
        tokucho = set(s.scalars(select(Fuka.atena_no).where(Fuka.nendo == NENDO, Fuka.choshu_kubun == TOKUCHO)))
    listed = {x["atena_no"]: x["reason"] for x in first["listed"]}
    assert set(listed) == tokucho - asked_atena and {odd, gone} <= set(listed)
    assert "期5 and 期6 differ" in listed[odd] and "no Z11" in listed[gone]
    assert all(p.person.kiso_nenkin_no not in str(first) for p in people.values())

    files = {}
    for gimusha, tid in zip(("001", "002"), first["transfer_ids"], strict=True):
        raw = delivered(home, f"Z12{gimusha}01.DTA")
        read = z12.read(raw, f"Z12{gimusha}01.DTA")
        assert read.gimusha_code == gimusha and read.sakusei in (before, after)
        assert raw[:9] == b"13112 001", "管理レコード: 市町村コード, 媒体通番 1"
        assert raw[96 + 11:96 + 12] == b"6", "媒体コード 6 (回線)"
        keys = [r.person.kiso_nenkin_no for r in read.records]
        assert keys == sorted(keys)
        assert got(read) == want[gimusha]  # amounts against 賦課: 金額1 期4, 金額2 期5 (= 期6)
        files[gimusha] = raw
        # The custody log: count and hash from extraction to the drop folder.
        wait_until(functools.partial(sent, home, tid), 60, "sent")
        chain = {e["event"]: e for e in home.cli_json("custody", "show", tid)}
        sha = hashlib.sha256(raw).hexdigest()
        for event in ("extracted", "encrypted", "queued", "sent"):
            assert (chain[event]["records"], chain[event]["sha256"], chain[event]["partner"]) == (
                len(want[gimusha]), sha, "keiyu")
        assert chain["sent"]["detail"] == f"dropdir Z12{gimusha}01.DTA"

    # The 依頼 in the files are sent with their file's transfer; none pending.
    per_file = {tid: 3 * len(want[g]) for g, tid in zip(("001", "002"), first["transfer_ids"], strict=True)}
    assert statuses(home) == {("sent", tid): n for tid, n in per_file.items()}

    # The 経由機関 takes them: a Z13 answers every record, accepted, with the amounts asked.
    keiyu = Keiyu(NENDO, seed=SEED)
    for gimusha, raw in files.items():
        z13 = keiyu.answer_z12(raw)
        assert (z13.gimusha_code, len(z13.records)) == (gimusha, len(want[gimusha]))
        assert {r.shori_kekka for r in z13.records} == {"00"}
        asked = {q.person.kiso_nenkin_no: dict(q.amounts) for q in requests_from_z12(raw)}
        assert asked == {k: {4: v[1], 5: v[2], 6: v[2]} for k, v in want[gimusha].items()}

    # The same 年度 again: refused; an edition sends the 依頼 again as 媒体通番 2.
    refused = home.cli("run", "nenkin.z12", "--nendo", str(NENDO), check=False)
    assert refused.returncode == 1 and f"年度 {NENDO} was already run" in refused.stderr
    assert all(p.person.kiso_nenkin_no not in refused.stdout + refused.stderr for p in people.values())
    second = run(home, "--edition", "2")
    assert second["batch"] == f"nenkin.z12/001/{NENDO}#2 nenkin.z12/002/{NENDO}#2"
    assert second["decided"] == 0 and second["records"] == first["records"]
    for gimusha in ("001", "002"):
        raw = delivered(home, f"Z12{gimusha}02.DTA")
        assert raw[:9] == b"13112 002", "管理レコード: 媒体通番 2"
        assert got(z12.read(raw)) == want[gimusha]
    home.stop_all()
    assert statuses(home) == {("sent", tid): 3 * len(want[g])
                              for g, tid in zip(("001", "002"), second["transfer_ids"], strict=True)}
    again = home.cli("run", "nenkin.z12", "--nendo", str(NENDO), "--edition", "2", check=False)
    assert again.returncode == 1 and "already run" in again.stderr


def test_a_kana_name_the_file_cannot_carry_holds_its_file_and_stays_pending(home: Home) -> None:
    people = announce(home)
    want = expected(home, people)
    bad = next(a for a, p in sorted(people.items()) if p.person.gimusha_code == "001"
               and p.person.kiso_nenkin_no in want["001"])
    with home.bridge.sessions.begin() as s:
        atena = s.get(Atena, bad)
        assert atena is not None
        atena.name_kana = "ヰノウエ　ハナコ"
    home.start_worker("--routes", "nenkin.deliver")
    first = run(home)
    assert first["transfers"] == 2 and first["held"] == 1
    files = {f["gimusha_code"]: f for f in first["files"]}
    assert files["001"]["state"] == "held" and files["001"]["withheld"] == [bad]
    assert "ヰ" in files["001"]["problem"] and "kana_shimei" in files["001"]["problem"]
    assert files["002"]["state"] in ("queued", "sent") and "withheld" not in files["002"]
    raw = delivered(home, "Z1200201.DTA")
    assert got(z12.read(raw)) == want["002"]
    home.stop_all()
    drop = home.config.partners["keiyu"].path
    assert drop is not None and not (drop / "Z1200101.DTA").exists(), "a held file is not delivered"
    with home.bridge.sessions() as s:
        pending = s.execute(select(TokuchoIrai.atena_no, TokuchoIrai.status, TokuchoIrai.transfer_id)
                            .where(TokuchoIrai.gimusha_code == "001")).all()
    assert {(status, tid) for _a, status, tid in pending} == {("pending", None)}
    assert len(pending) == 3 * len(want["001"])

    # The name put right, an edition sends 001's 依頼 (and 002's again).
    with home.bridge.sessions.begin() as s:
        atena = s.get(Atena, bad)
        assert atena is not None
        atena.name_kana = "イノウエ　ハナコ"
    home.start_worker("--routes", "nenkin.deliver")
    second = run(home, "--edition", "2")
    assert second["held"] == 0 and second["records"] == sum(len(w) for w in want.values())
    read = z12.read(delivered(home, "Z1200102.DTA"))
    home.stop_all()
    assert unicodedata.normalize("NFKC", next(r.person.kana for r in read.records
                                              if r.person.kiso_nenkin_no == people[bad].person.kiso_nenkin_no)) == (
        "イノウエ ハナコ")
    assert {s for (s, _t) in statuses(home)} == {"sent"}
