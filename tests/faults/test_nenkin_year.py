"""A full simulated 年度 of 特別徴収 for 5,000 people through a whole installation: Z11 in,
仮徴収 results for 期1–3, the July Z12 out (run nenkin.z12, delivered by a worker), the Z13
answer with refusals, 本徴収 results for 期4–6 with 停止 and 死亡 — each file received and
loaded by the worker. At the end the 収納 reconcile: what was asked, less what was refused or
stopped, computed here from the simulator's inputs and the 賦課, not from the loaders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from fixtures.nenkin import dta, keiyu, taisho
from fixtures.nenkin.dta import Dta
from fixtures.population import load
from store.models import Fuka, FukaKibetsu, Shuno, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.fuka import TOKUCHO
from tests.harness import Home, wait_until
from tests.integration.test_nenkin_load import settled, share

NENDO = 2026
PEOPLE = 5000


def deliver(home: Home, kind: str, files: list[Dta]) -> None:
    folder = share(home, kind)
    for f in files:
        dta.write(folder / f.name, f)
        (folder / f"{f.name}.end").write_bytes(b"")
    taken = home.cli_json("receive", f"nenkin.{kind.lower()}")
    assert len(taken) == len(files)
    for t in taken:
        assert settled(home, str(t["transfer"])) == "applied", home.worker_logs()[-2000:]


def delivered_z12(home: Home) -> list[Path]:
    top = home.config.var / "drop" / "keiyu"
    return sorted(p for p in top.glob("Z12*.DTA"))


def test_a_year_of_tokucho_reconciles(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=23, nendo=NENDO)
    with home.bridge.sessions() as s:
        people = taisho.pensioners(s, NENDO, seed=5, twists={"other_birth": 3, "unknown_kiso": 2})
        # 仮徴収 (期1–3) continues last year's: the 期別額 1–3 of this 年度's 特別徴収 賦課 [INF]
        kari: dict[str, dict[int, int]] = {}
        for atena, ki, amount in s.execute(select(Fuka.atena_no, FukaKibetsu.ki, FukaKibetsu.amount)
                                           .join(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
                                           .where(Fuka.nendo == NENDO, Fuka.choshu_kubun == TOKUCHO,
                                                  FukaKibetsu.ki <= 3)):
            kari.setdefault(atena, {})[ki] = amount
    straight = [p for p in people if p.twist is None and p.atena_no in kari]
    assert len(straight) > 500, "a population with pensioners enough"
    home.start_worker("--routes", "nenkin.load,nenkin.deliver")
    deliver(home, "Z11", taisho.z11(people, NENDO))
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(TokuchoTaisho)
                        .where(TokuchoTaisho.match_state == "matched")) == len([p for p in people if p.twist is None])

    sim = keiyu.Keiyu(NENDO, seed=9)
    kari_requests = [keiyu.Request(p.person, kari[p.atena_no]) for p in straight]
    for ki in (1, 2, 3):
        deliver(home, "Z14", sim.tenbiki(kari_requests, ki))

    run = home.cli_json("run", "nenkin.z12", "--nendo", str(NENDO))
    assert run["records"] > 0
    wait_until(lambda: len(delivered_z12(home)) == run["transfers"], 90, "the Z12 files delivered")
    honcho: list[keiyu.Request] = []
    refused = set()
    for path in delivered_z12(home):
        data = path.read_bytes()
        honcho += keiyu.requests_from_z12(data, path.name)
        z13 = sim.answer_z12(data, file=path.name, refuse=[r.person.kiso_nenkin_no for r in
                                                          keiyu.requests_from_z12(data, path.name)[:2]])
        refused |= {r.person.key for r in z13.records if r.shori_kekka != "00"}
        deliver(home, "Z13", [z13])
    assert len(refused) >= 2
    alive = [r for r in honcho if r.person.key not in refused]
    stop = {alive[0].person.kiso_nenkin_no: "02", alive[1].person.kiso_nenkin_no: "03"}
    die = {alive[2].person.kiso_nenkin_no: date(NENDO, 11, 20)}
    for ki in (4, 5, 6):
        deliver(home, "Z14", sim.tenbiki(honcho, ki, stop=stop if ki == 4 else None,
                                         die=die if ki == 5 else None))

    # what was asked, less what was refused or stopped (stops at 期4 for two, death at 期5 for one)
    stopped_from = {alive[0].person.key: 4, alive[1].person.key: 4, alive[2].person.key: 5}
    expected = sum(a for r in kari_requests for a in r.amounts.values())
    for r in honcho:
        if r.person.key in refused:
            continue
        expected += sum(a for ki, a in r.amounts.items() if ki < stopped_from.get(r.person.key, 7))
    with home.bridge.read_sessions() as s:
        collected = s.scalar(select(func.sum(Shuno.amount)).where(Shuno.nendo == NENDO)) or 0
        by_ki = {ki: n for ki, n in s.execute(select(Shuno.ki, func.count()).group_by(Shuno.ki))}
        status = {st: n for st, n in s.execute(select(TokuchoIrai.status, func.count())
                                               .group_by(TokuchoIrai.status))}
        asked = s.scalar(select(func.sum(TokuchoIrai.irai_amount))) or 0
        failed = s.scalar(select(func.sum(TokuchoIrai.irai_amount))
                          .where(TokuchoIrai.status.in_(("rejected", "stopped")))) or 0
        unanswered = s.scalar(select(func.count()).select_from(TokuchoKekka)
                              .where(TokuchoKekka.irai_id.is_(None), TokuchoKekka.ki >= 4))
    assert collected == expected
    # the store's own view agrees: 収納 of 本徴収 = 依頼 less the refused and stopped ones
    assert collected - sum(a for r in kari_requests for a in r.amounts.values()) == asked - failed
    assert by_ki[1] == by_ki[2] == by_ki[3] == len(straight)
    assert status["rejected"] == 3 * len(refused)
    assert status["stopped"] == 3 + 3 + 2
    assert unanswered == 0
    listed = home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))
    assert len(listed) == len(refused) + 3
