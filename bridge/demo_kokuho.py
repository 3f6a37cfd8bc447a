"""The demo's 国保連 month: 受給者異動連絡票 out, 給付実績 back from the simulated 国保連.

Run while a worker is up (``bridge/demo.py``). The month is the current one: the ``kokuho.ido``
run gathers the changes made earlier in the demo; the simulated 国保連 then drops two files on
the share — the month's 給付実績 of everyone in care, and one naming a person the ward does not
insure — which ``receive`` takes and the worker loads: the first applied, the second held whole.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from adapters.delivery import file_name
from bridge.app import Bridge
from bridge.flows import run_flow
from fixtures.kokuho import kyufu
from mappings import kokuho_frame
from mappings.records import ParsedRecord
from store.models import KyufuJisseki, Quarantine, Transfer

Wait = Callable[[Callable[[], bool], str], None]


def _month() -> tuple[int, str]:
    """(処理対象年月 of this run, the サービス提供年月 its 給付実績 are for: the month before)."""
    today = date.today()
    service = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    return today.year * 100 + today.month, f"{service.year}{service.month:02d}"


def _state(bridge: Bridge, transfer_id: str) -> str:
    with bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        return "" if transfer is None else transfer.state


def ido_out(bridge: Bridge, facts: dict[str, Any], wait: Wait) -> str:
    shori, _ = _month()
    result = run_flow(bridge, "kokuho.ido", month=shori, progress=False)
    facts["ido"] = result
    ids: list[str] = result["transfer_ids"]
    wait(lambda: all(_state(bridge, t) == "sent" for t in ids), "受給者異動 file(s) delivered")
    partner = bridge.config.partners["kokuho"]
    assert partner.path is not None, "the shipped 国保連 partner is a drop folder"
    names = []
    records = 0
    with bridge.sessions() as s:
        for transfer_id in result["transfer_ids"]:
            transfer = s.get(Transfer, transfer_id)
            assert transfer is not None
            names.append(file_name(transfer, bridge.config.flow("kokuho.ido").file_name, bridge.config.hokensha_no))
    for name in names:  # read back as the 国保連 would: the frame checked, every record parsed
        parsed = list(kokuho_frame.parse((partner.path / name).read_bytes(), file=name))
        if not all(isinstance(p, ParsedRecord) for p in parsed):
            raise SystemExit(f"{name}: the delivered 受給者異動 file does not parse back")
        records += len(parsed) - 1
    return (f"{result['records']:,} 異動 records for {shori} in {', '.join(names)} ({result['held']} held), "
            f"read back: {records:,} records")


def kyufu_in(bridge: Bridge, facts: dict[str, Any], wait: Wait) -> str:
    shori, service = _month()
    flow = bridge.config.flow("kokuho.kyufu")
    partner = bridge.config.partners[flow.partner]
    assert partner.path is not None
    share = partner.path / flow.folder
    share.mkdir(parents=True, exist_ok=True)
    with bridge.sessions() as s:
        cared = kyufu.people_in_care(s, service)
    claims = list(kyufu.claims(cared, service, seed=5, lines=2))
    good = kyufu.write(share / f"KYUFU{shori}", claims, hokensha_no=bridge.config.hokensha_no, shori_ym=str(shori))
    kyufu.write(share / f"KYUFU{shori}B", claims[:50], hokensha_no=bridge.config.hokensha_no, shori_ym=str(shori),
                file_no=2, faults=("unknown_person", "negative"))
    for name in (f"KYUFU{shori}", f"KYUFU{shori}B"):
        (share / f"{name}{flow.done_marker}").write_bytes(b"")
    taken = bridge.receive(flow.name)
    ids = [transfer_id for _name, transfer_id, _new in taken]
    wait(lambda: all(_state(bridge, t) in ("applied", "quarantined") for t in ids), "給付実績 files loaded")
    with bridge.sessions() as s:
        stored = s.scalar(select(func.count()).select_from(KyufuJisseki)) or 0
        held = s.scalars(select(Quarantine).where(Quarantine.transfer_id.in_(ids))).all()
    facts["kyufu"] = {"records": good.records, "stored": stored, "held": len(held),
                      "held_ids": [q.transfer_id for q in held]}
    problems = ", ".join(f"{q.file_name}: {q.errors} problem(s)" for q in held)
    return (f"{good.records:,} records ({good.claims:,} 給付実績 of {len(cared):,} people in care, {service}) "
            f"applied, {stored:,} stored; quarantined whole: {problems or 'none'}")
