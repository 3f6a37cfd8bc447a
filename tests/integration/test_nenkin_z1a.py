"""The monthly Z1A (nenkin.z1a) through a whole installation: a generated population with its yearly
対象者 matched and 本徴収 依頼 sent, then a death, a 転出 and a 追加候補者; `kaigo-bridge run
nenkin.z1a --month 202611` in its own process, a worker delivering to the 経由機関's drop folder,
and the files read by the 経由機関's own reader (fixtures/nenkin/z1a.py). Expected records come
from plain queries and typed-in values, never from the code under test."""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fixtures import population
from fixtures.nenkin import taisho, z1a
from store.models import Atena, Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.fuka import TOKUCHO
from tests.harness import Home, wait_until

NENDO, SEED, PEOPLE = 2026, 37, 200
MONTH = "202611"


def tokucho_fuka(s: Session, nendo: int) -> tuple[dict[str, dict[int, int]], dict[str, str]]:
    """The 特別徴収 賦課 of the 年度: 宛名番号 → 期 → amount, and 宛名番号 → 被保険者番号."""
    kibetsu: dict[str, dict[int, int]] = {}
    hiho_of: dict[str, str] = {}
    for atena, hiho, ki, amount in s.execute(
            select(Fuka.atena_no, Fuka.hihokensha_no, FukaKibetsu.ki, FukaKibetsu.amount)
            .join(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
            .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO)):
        kibetsu.setdefault(atena, {})[ki] = amount
        hiho_of[atena] = hiho
    return kibetsu, hiho_of


def setup(home: Home) -> dict[str, Any]:
    """Yearly 対象者 matched, 依頼 of 期4–6 sent for all but one; then the month's changes."""
    population.load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=SEED, nendo=NENDO)
    with home.bridge.sessions.begin() as s:
        people = taisho.pensioners(s, NENDO, seed=SEED)
        kibetsu, hiho_of = tokucho_fuka(s, NENDO)
        people = [p for p in people if p.atena_no in kibetsu and kibetsu[p.atena_no][5] == kibetsu[p.atena_no][6]]
        dead, moved = (next(p for p in people if p.person.gimusha_code == g) for g in ("001", "002"))
        kouho = next(p for p in people if p.person.gimusha_code == "001" and p is not dead)
        for tid, flow, way, state in (("t-z11", "nenkin.z11", "in", "applied"), ("t-z12", "nenkin.z12", "out", "sent")):
            s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction=way, sha256="0" * 64, size=1, key_id="k",
                           payload_ref="p", state=state, batch=f"{flow}/001/{NENDO}"))
        s.flush()
        for p in people:
            s.add(TokuchoTaisho(nendo=NENDO, hosoku_month="06" if p is kouho else "04",
                                tsuchi_naiyo_code="30" if p is kouho else "00", gimusha_code=p.person.gimusha_code,
                                kiso_nenkin_no=p.person.kiso_nenkin_no, nenkin_code=p.person.nenkin_code,
                                birth_date=p.person.birth, sex=p.person.sex, name_kana=p.person.kana,
                                kingaku1=p.nengaku, kingaku2=0, kingaku3=0, atena_no=p.atena_no,
                                match_state="matched", transfer_id="t-z11"))
            if p in (kouho, moved):
                continue
            s.add_all(TokuchoIrai(nendo=NENDO, ki=ki, atena_no=p.atena_no, hihokensha_no=hiho_of[p.atena_no],
                                  gimusha_code=p.person.gimusha_code, kiso_nenkin_no=p.person.kiso_nenkin_no,
                                  nenkin_code=p.person.nenkin_code, irai_amount=kibetsu[p.atena_no][ki],
                                  tsuchi_naiyo_code="01", status="accepted", transfer_id="t-z12") for ki in (4, 5, 6))
        for p, day, jiyu in ((dead, date(2026, 11, 20), "02"), (moved, date(2026, 6, 10), "01")):
            s.execute(update(Shikaku).where(Shikaku.atena_no == p.atena_no).values(soshitsu_date=day,
                                                                                  soshitsu_jiyu=jiyu))
    return {"dead": dead, "moved": moved, "kouho": kouho, "kibetsu": kibetsu}


def delivered(home: Home, name: str) -> bytes:
    drop = home.config.partners["keiyu"].path
    assert drop is not None
    wait_until((drop / name).exists, 60, f"the delivered {name}")
    return (drop / name).read_bytes()


def rows(read: z1a.Z1A) -> list[tuple[Any, ...]]:
    return [(r.person.kiso_nenkin_no, r.person.nenkin_code, r.person.birth, r.kakushu_kubun, r.kakushu_ymd,
             r.kingaku1, r.kingaku2) for r in read.records]


def test_a_month_of_losses_and_a_tsuika_read_by_the_keiyu_then_refused_then_an_edition(home: Home) -> None:
    got = setup(home)
    dead, moved, kouho = got["dead"].person, got["moved"].person, got["kouho"].person
    amount = got["kibetsu"][got["kouho"].atena_no][5]
    want = {
        "Z1A00101.DTA": ("001", "31", [(kouho.kiso_nenkin_no, kouho.nenkin_code, kouho.birth, "01", None, amount, 0)]),
        "Z1A00102.DTA": ("001", "41", [(dead.kiso_nenkin_no, dead.nenkin_code, dead.birth, "01",
                                        date(2026, 11, 20), 0, 0)]),
        "Z1A00201.DTA": ("002", "41", [(moved.kiso_nenkin_no, moved.nenkin_code, moved.birth, "02",
                                        date(2026, 6, 10), 0, 0)])}
    home.start_worker("--routes", "nenkin.deliver")
    first = dict(home.cli_json("run", "nenkin.z1a", "--month", MONTH))
    assert first["batch"] == "nenkin.z1a/00101/202611/31 nenkin.z1a/00102/202611/41 nenkin.z1a/00201/202611/41"
    assert (first["transfers"], first["held"], first["records"], first["decided"]) == (3, 0, 3, 2)
    assert (first["irai_sent"], first["irai_stopped"], first["left_out"], first["listed"]) == (2, 2, [], [])
    assert all(p.kiso_nenkin_no not in str(first) for p in (dead, moved, kouho))
    for (name, (gimusha, naiyo, records)), tid in zip(want.items(), first["transfer_ids"], strict=True):
        raw = delivered(home, name)
        read = z1a.read(raw, name)
        assert (read.gimusha_code, read.tsuchi_naiyo_code, read.baitai_tsuban, rows(read)) == (
            gimusha, naiyo, int(name[6:8]), records)
        wait_until(functools.partial(lambda t: home.transfer_state(t) == "sent", tid), 60, "sent")
        chain = {e["event"]: e for e in home.cli_json("custody", "show", tid)}
        for event in ("extracted", "encrypted", "queued", "sent"):
            assert (chain[event]["records"], chain[event]["sha256"]) == (1, hashlib.sha256(raw).hexdigest())
        assert chain["sent"]["detail"] == f"dropdir {name}"
    with home.bridge.sessions() as s:
        irai = {(a, ki): (st, t, tn) for a, ki, st, t, tn in s.execute(
            select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.status, TokuchoIrai.transfer_id,
                   TokuchoIrai.tsuchi_naiyo_code).where(TokuchoIrai.nendo == NENDO))}
    t31, t41 = first["transfer_ids"][:2]
    d = got["dead"].atena_no
    # The death on 11月20日 stops 期5 and 期6 (deducted 12/15, 2/15), as a Z14 停止 would; 期4 stays.
    assert [irai[(d, ki)] for ki in (4, 5, 6)] == [("accepted", "t-z12", "01"), ("stopped", t41, "01"),
                                                   ("stopped", t41, "01")]
    assert [irai[(got["kouho"].atena_no, ki)] for ki in (5, 6)] == [("sent", t31, "31")] * 2
    others = {st for (a, _ki), (st, _t, _n) in irai.items() if a not in (d, got["kouho"].atena_no)}
    assert others == {"accepted"}

    refused = home.cli("run", "nenkin.z1a", "--month", MONTH, check=False)
    assert refused.returncode == 1 and f"処理対象年月 {MONTH} was already run" in refused.stderr
    july = home.cli("run", "nenkin.z1a", "--month", "202607", check=False)
    assert july.returncode != 0 and "no Z1A in July" in july.stderr
    # The edition sends the month again under the next 媒体通番 of each 義務者.
    second = dict(home.cli_json("run", "nenkin.z1a", "--month", MONTH, "--edition", "2"))
    assert second["batch"] == ("nenkin.z1a/00103/202611/31#2 nenkin.z1a/00104/202611/41#2 "
                               "nenkin.z1a/00202/202611/41#2")
    assert second["decided"] == 0 and second["records"] == 3
    for name, (_g, _n, records) in zip(("Z1A00103.DTA", "Z1A00104.DTA", "Z1A00202.DTA"), want.values(), strict=True):
        read = z1a.read(delivered(home, name), name)
        assert (read.baitai_tsuban, rows(read)) == (int(name[6:8]), records)
    home.stop_all()


def test_a_kana_name_the_file_cannot_carry_holds_its_file_and_stops_nothing(home: Home) -> None:
    got = setup(home)
    d = got["dead"].atena_no
    with home.bridge.sessions.begin() as s:
        s.execute(update(Atena).where(Atena.atena_no == d).values(name_kana="ヰノウエ　ハナコ"))
    home.start_worker("--routes", "nenkin.deliver")
    first = dict(home.cli_json("run", "nenkin.z1a", "--month", MONTH))
    assert (first["transfers"], first["held"], first["irai_stopped"]) == (3, 1, 0)
    held = next(f for f in first["files"] if f["state"] == "held")
    assert (held["batch"], held["withheld"]) == ("nenkin.z1a/00102/202611/41", [d])
    assert "ヰ" in held["problem"] and "kana_shimei" in held["problem"]
    delivered(home, "Z1A00201.DTA")
    home.stop_all()
    drop = home.config.partners["keiyu"].path
    assert drop is not None and not (drop / "Z1A00102.DTA").exists(), "a held file is not delivered"
    with home.bridge.sessions() as s:
        assert set(s.scalars(select(TokuchoIrai.status).where(TokuchoIrai.atena_no == d))) == {"accepted"}
