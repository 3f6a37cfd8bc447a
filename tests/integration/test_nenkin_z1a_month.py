"""A month's Z1A with all four notices through a whole installation, and the 経由機関's answers:
a generated population, then by hand a 追加候補者 (31), a death (41), a 仮徴収 the 賦課 changes (61)
and a 住所地特例 begun and one ended (81); `kaigo-bridge run nenkin.z1a --month 202605` in its own
process, a worker delivering the files, read by the 経由機関's own reader; its Z14 answers (32/42/
62/82, two refused) received and loaded by the worker, sent again a day later (nothing changes),
a malformed one quarantined first (nothing applied); the operator's lists. Expected records come
from plain queries and typed-in values, never from the code under test."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from fixtures import population
from fixtures.nenkin import keiyu, taisho, z1a
from store.models import Shikaku, TokuchoIrai, TokuchoKekka, TokuchoTaisho, Transfer
from store.models.tokucho import JushochiTokurei, TokuchoTsuchi
from tests.harness import Home, wait_until
from tests.integration.test_nenkin_load import deliver, settled
from tests.integration.test_nenkin_z1a import tokucho_fuka

NENDO, SEED, PEOPLE = 2026, 41, 160
MONTH = "202605"
ANSWERED_ON = date(2026, 6, 10)


def setup(home: Home) -> dict[str, Any]:
    """Five 特別徴収 persons of 義務者 001, each given what makes one notice."""
    population.load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=SEED, nendo=NENDO)
    with home.bridge.sessions.begin() as s:
        kibetsu, hiho_of = tokucho_fuka(s, NENDO)
        people = [p for p in taisho.pensioners(s, NENDO, seed=SEED) if p.person.gimusha_code == "001"
                  and p.atena_no in kibetsu and kibetsu[p.atena_no][2] == kibetsu[p.atena_no][3]]
        kouho, dead, kari, gaito, kaijo = people[:5]
        for tid, flow in (("t-z11", "nenkin.z11"), ("t-z12", "nenkin.z12")):
            s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction="in" if flow.endswith("z11") else "out",
                           sha256="0" * 64, size=1, key_id="k", payload_ref="p", state="applied",
                           batch=f"{flow}/001/{NENDO - 1}"))
        s.flush()
        for p, nendo, hosoku in ((kouho, NENDO - 1, "12"), (dead, NENDO, "04"), (gaito, NENDO, "04"),
                                 (kaijo, NENDO, "04")):
            s.add(TokuchoTaisho(nendo=nendo, hosoku_month=hosoku, tsuchi_naiyo_code="30" if hosoku == "12" else "00",
                                gimusha_code="001", kiso_nenkin_no=p.person.kiso_nenkin_no,
                                nenkin_code=p.person.nenkin_code, birth_date=p.person.birth, sex=p.person.sex,
                                name_kana=p.person.kana, kingaku1=30000, kingaku2=0, kingaku3=0, atena_no=p.atena_no,
                                match_state="matched", transfer_id="t-z11"))
        # Last February's 依頼, deducted: 仮徴収 goes on at 300 yen less than this 賦課's 期2/期3.
        s.add(TokuchoIrai(nendo=NENDO - 1, ki=6, atena_no=kari.atena_no, hihokensha_no=hiho_of[kari.atena_no],
                          gimusha_code="001", kiso_nenkin_no=kari.person.kiso_nenkin_no,
                          nenkin_code=kari.person.nenkin_code, irai_amount=kibetsu[kari.atena_no][2] - 300,
                          tsuchi_naiyo_code="01", status="deducted", transfer_id="t-z12"))
        s.execute(update(Shikaku).where(Shikaku.atena_no == dead.atena_no)
                  .values(soshitsu_date=date(2026, 5, 12), soshitsu_jiyu="02"))
        s.add_all([JushochiTokurei(atena_no=gaito.atena_no, tekiyo_date=date(2026, 5, 1), tekiyo_jiyu="05",
                                   shisetsu_hokensha_no="132019"),
                   JushochiTokurei(atena_no=kaijo.atena_no, tekiyo_date=date(2019, 10, 1), tekiyo_jiyu="05",
                                   kaijo_date=date(2026, 4, 20), kaijo_jiyu="72", shisetsu_hokensha_no="132019")])
    return {"kouho": kouho, "dead": dead, "kari": kari, "gaito": gaito, "kaijo": kaijo, "kibetsu": kibetsu}


def delivered(home: Home, name: str) -> bytes:
    drop = home.config.partners["keiyu"].path
    assert drop is not None
    wait_until((drop / name).exists, 60, f"the delivered {name}")
    return (drop / name).read_bytes()


def store(home: Home) -> dict[str, Any]:
    with home.bridge.read_sessions() as s:
        return {"irai": sorted((a, ki, st, n) for a, ki, st, n in s.execute(
                    select(TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.status, TokuchoIrai.tsuchi_naiyo_code)
                    .where(TokuchoIrai.nendo == NENDO))),
                "tsuchi": sorted((a, n, k, st) for a, n, k, st in s.execute(
                    select(TokuchoTsuchi.atena_no, TokuchoTsuchi.tsuchi_naiyo_code, TokuchoTsuchi.kakushu_kubun,
                           TokuchoTsuchi.status))),
                "kekka": s.scalar(select(func.count()).select_from(TokuchoKekka))}


def test_a_month_of_all_four_notices_answered_refused_and_listed(home: Home) -> None:
    got = setup(home)
    kouho, dead, kari, gaito, kaijo = (got[k] for k in ("kouho", "dead", "kari", "gaito", "kaijo"))
    new_kari = got["kibetsu"][kari.atena_no][2]
    home.start_worker("--routes", "nenkin.deliver,nenkin.load")
    run = dict(home.cli_json("run", "nenkin.z1a", "--month", MONTH))
    assert run["batch"] == ("nenkin.z1a/00101/202605/31 nenkin.z1a/00102/202605/41 nenkin.z1a/00103/202605/61 "
                            "nenkin.z1a/00104/202605/81")
    assert (run["decided"], run["kari_decided"], run["held"], run["left_out"]) == (2, 2, 0, [])
    assert (run["irai_sent"], run["notices_kept"]) == (4, 3)
    assert not any(p.person.kiso_nenkin_no in str(run) for p in (kouho, dead, kari, gaito, kaijo))
    k = got["kibetsu"]
    want = {  # (基礎年金番号, 各種区分, 各種年月日, 金額1) per file
        "Z1A00101.DTA": ("31", [(kouho.person.kiso_nenkin_no, "01", None, k[kouho.atena_no][2])]),
        "Z1A00102.DTA": ("41", [(dead.person.kiso_nenkin_no, "01", date(2026, 5, 12), 0)]),
        "Z1A00103.DTA": ("61", [(kari.person.kiso_nenkin_no, "00", None, new_kari)]),
        "Z1A00104.DTA": ("81", sorted([(gaito.person.kiso_nenkin_no, "01", date(2026, 5, 1), 0),
                                       (kaijo.person.kiso_nenkin_no, "02", date(2026, 4, 20), 0)]))}
    raws: dict[str, bytes] = {}
    for (name, (naiyo, records)), tid in zip(want.items(), run["transfer_ids"], strict=True):
        raws[name] = delivered(home, name)
        read = z1a.read(raws[name], name)
        assert (read.tsuchi_naiyo_code, read.baitai_tsuban) == (naiyo, int(name[6:8]))
        assert [(r.person.kiso_nenkin_no, r.kakushu_kubun, r.kakushu_ymd, r.kingaku1) for r in read.records] == records
        wait_until(functools.partial(lambda t: home.transfer_state(t) == "sent", tid), 60, "sent")

    sim = keiyu.Keiyu(NENDO)
    refuse = [kouho.person.kiso_nenkin_no, kaijo.person.kiso_nenkin_no]
    answers = [sim.answer_z1a(raw, file=name, refuse=refuse, sakusei=ANSWERED_ON) for name, raw in raws.items()]
    assert [(a.name, a.tsuchi_naiyo_code) for a in answers] == [
        ("Z1400131.DTA", "32"), ("Z1400142.DTA", "42"), ("Z1400163.DTA", "62"), ("Z1400184.DTA", "82")]
    before = store(home)
    bad = replace(answers[0], tail="39").with_faults("trailer_total")
    (bad_id,) = deliver(home, "Z14", [bad])
    assert settled(home, bad_id) == "quarantined"
    assert "trailer_total" in {p["rule"] for p in home.cli_json("quarantine", "show", bad_id)}
    assert store(home) == before, "a quarantined answer applies nothing"

    for t in deliver(home, "Z14", answers):
        assert settled(home, t) == "applied", home.worker_logs()[-2000:]
    after = store(home)
    a = {p: got[p].atena_no for p in ("kouho", "dead", "kari", "gaito", "kaijo")}
    assert after["irai"] == sorted([(a["kouho"], 2, "rejected", "31"), (a["kouho"], 3, "rejected", "31"),
                                    (a["kari"], 2, "accepted", "61"), (a["kari"], 3, "accepted", "61")])
    assert after["tsuchi"] == sorted([(a["dead"], "41", "01", "accepted"), (a["gaito"], "81", "01", "accepted"),
                                      (a["kaijo"], "81", "02", "rejected")])
    assert after["kekka"] == 2 + 1 + 2 + 2  # per 依頼 answered (31: 期2–3, 61: 期2–3), per notice
    # The same answers sent again (another day, other names: the receiver takes identical bytes once).
    again = [replace(x, tail=f"{x.tsuchi_naiyo_code[0]}9", sakusei=date(2026, 6, 11)) for x in answers]
    for t in deliver(home, "Z14", again):
        assert settled(home, t) == "applied"
    assert store(home) == after

    refused = home.cli_json("nenkin", "list", "refused", "--nendo", str(NENDO))
    assert sorted((r["atena_no"], r["answer"][:2], r["ki"], r["amount"]) for r in refused) == sorted([
        (a["kouho"], "32", [2, 3], 2 * k[kouho.atena_no][2]), (a["kaijo"], "82", [2], 0)])  # 解除 4月20日: from 期2
    stopped = home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))
    assert [(p["atena_no"], p["ki"], p["reason"]) for p in stopped] == [
        (a["kouho"], [2, 3], "Z14 32 追加依頼不能 (処理結果 01)")]
    assert home.cli_json("nenkin", "list", "unanswered", "--nendo", str(NENDO)) == []
    shown = home.cli("nenkin", "list", "refused", "--nendo", str(NENDO)).stdout
    assert not any(p.person.kiso_nenkin_no in shown for p in (kouho, kaijo))
    home.stop_all()
