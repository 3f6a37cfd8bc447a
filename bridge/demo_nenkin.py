"""The demo's 年金特徴: the year's first files with the simulated 経由機関.

Run while a worker is up (``bridge/demo.py``), for the demo's 年度: the 経由機関 drops the May
Z11 (the 4月1日 対象者, a few of them deliberately unlike any 宛名) and the May Z14 (the April
仮徴収 results, about 1% of them 停止), which ``receive`` takes and the worker loads — 対象者
matched, deductions made 収納, the stopped listed by ``nenkin list stopped``; then the July
``nenkin.z12`` run asks for the 本徴収 of all but the stopped (adapters/nenkin/stops.py: a stop
within the 年度 is final for it) and the worker delivers its files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from adapters.nenkin.lists import stopped
from bridge.app import Bridge
from bridge.flows import run_flow
from fixtures.nenkin import dta, keiyu, taisho
from store.models import Fuka, FukaKibetsu, Shuno, TokuchoTaisho, Transfer
from store.models.fuka import TOKUCHO

Wait = Callable[[Callable[[], bool], str], None]


def _receive(bridge: Bridge, kind: str, files: list[dta.Dta], wait: Wait) -> list[str]:
    flow = bridge.config.flow(f"nenkin.{kind.lower()}")
    partner = bridge.config.partners[flow.partner]
    assert partner.path is not None, "the shipped 経由機関 partner is a drop folder"
    share = partner.path / flow.folder
    share.mkdir(parents=True, exist_ok=True)
    for f in files:
        dta.write(share / f.name, f)
        (share / f"{f.name}{flow.done_marker}").write_bytes(b"")
    ids = [transfer_id for _name, transfer_id, _new in bridge.receive(flow.name)]
    wait(lambda: all(_state(bridge, t) in ("applied", "quarantined") for t in ids), f"{kind} file(s) loaded")
    return ids


def _state(bridge: Bridge, transfer_id: str) -> str:
    with bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        return "" if transfer is None else transfer.state


def z11_in(bridge: Bridge, nendo: int, facts: dict[str, Any], wait: Wait) -> str:
    with bridge.sessions() as s:
        people = taisho.pensioners(s, nendo, seed=7, twists={"other_birth": 2, "unknown_kiso": 1})
    facts["nenkin_people"] = people
    _receive(bridge, "Z11", taisho.z11(people, nendo), wait)
    with bridge.sessions() as s:
        states = {st: n for st, n in s.execute(select(TokuchoTaisho.match_state, func.count())
                                                .group_by(TokuchoTaisho.match_state))}
    return (f"{len(people):,} 対象者 in: {states.get('matched', 0):,} matched, {states.get('unmatched', 0)} "
            f"unmatched, {states.get('ambiguous', 0)} ambiguous (`kaigo-bridge nenkin list unmatched`)")


def z14_kari_in(bridge: Bridge, nendo: int, facts: dict[str, Any], wait: Wait) -> str:
    people: list[taisho.Pensioner] = facts["nenkin_people"]
    with bridge.sessions() as s:
        first = {atena: amount for atena, amount in s.execute(
            select(Fuka.atena_no, FukaKibetsu.amount).join(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
            .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO, FukaKibetsu.ki == 1))}
    requests = [keiyu.Request(p.person, {1: first[p.atena_no]}) for p in people if p.atena_no in first]
    _receive(bridge, "Z14", keiyu.Keiyu(nendo, seed=7, stop_rate=0.01).tenbiki(requests, 1), wait)
    with bridge.sessions() as s:
        count, total = s.execute(select(func.count(), func.sum(Shuno.amount)).where(Shuno.ki == 1)).one()
        stops = len(stopped(s, nendo))
    return (f"April 仮徴収 results of {len(requests):,} pensions: {count:,} 収納, {total or 0:,} yen; "
            f"{stops} persons stopped: 普通徴収 for the rest of the 年度 (`kaigo-bridge nenkin list stopped`)")


def z12_out(bridge: Bridge, nendo: int, wait: Wait) -> str:
    result = run_flow(bridge, "nenkin.z12", nendo=nendo, progress=False)
    ids: list[str] = result["transfer_ids"]
    wait(lambda: all(_state(bridge, t) == "sent" for t in ids), "Z12 file(s) delivered")
    left = sum("特別徴収 stopped in the 年度" in x["reason"] for x in result["listed"])
    return (f"{result['records']:,} 本徴収 依頼 in {len(ids)} Z12 file(s) (one per 特別徴収義務者), delivered; "
            f"{result['held']} held; 賦課 not asked (listed with the reason): {len(result['listed'])}, "
            f"{left} of them stopped in 仮徴収")
