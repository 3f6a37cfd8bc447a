"""Z13 依頼処理結果 and Z14 天引結果 into the store (/work/notes semantics: DOMAIN.md §年金特徴,
LAYOUTS-EVIDENCE.md §4; the 処理結果 and 各種区分 meanings are mappings/codes/nenkin.toml).

- Z13 (通知内容コード 02) answers the Z12: per pension, 処理結果 00 accepts the 依頼 of 期4–6,
  anything else refuses them (the person pays those 期 by 普通徴収).
- Z14 (22) reports the 期 collected the month before the file: 各種区分 00 正常 — 金額1 was
  deducted and becomes one 収納; any other (失権, 差止, 不足, 他制度) — nothing was deducted and
  the 依頼 of this and every later 期 stop: the person pays the rest of the 年度 by 普通徴収
  (a stop within the 年度 is final for it: adapters/nenkin/stops.py, the rule and its source; a
  仮徴収 stop, which has no 依頼 to stop, keeps the person out of the July Z12 there).
- Z14 (32, 42, 62, 82) answers a Z1A: applied by adapters/nenkin/z1a_kekka.py.

Each result is one tokucho_kekka row per 期 (unique per notice, so a file applied twice changes
nothing) pointing at the 依頼 it answers, or at none: those are counted as ``unanswered`` and
listed for an operator — never guessed. A deducted amount whose 被保険者 cannot be found (no
依頼, no matched 対象者 or 宛名 with that pension) is not made a 収納 (``unattributed``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from adapters.judgement import Verdict
from adapters.nenkin.judge import NenkinContext, collected_ki, nendo_of, records
from adapters.nenkin.z1a_kekka import ANSWERED, Answers
from mappings.streams import Source
from store.inserts import insert_new
from store.models import Atena, Fuka, Shuno, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.tokucho import (
    IRAI_ACCEPTED,
    IRAI_DEDUCTED,
    IRAI_PENDING,
    IRAI_REJECTED,
    IRAI_STOPPED,
    MATCHED,
    SHUNO_TOKUCHO,
)

HONCHO_KI = (4, 5, 6)
ACCEPTED = "00"  # Z13 処理結果: 受付 [INF]
# Z14 各種区分 meaning the 期 was deducted [CODE: the check tool's table]: 22-00 正常 and 22-10
# 正常（75歳以上で国保特別徴収中） — both say 正常; the second only adds why the pension is also
# deducted for another scheme. Taking 22-10 as a stop would bill by 普通徴収 what was deducted.
DEDUCTED = frozenset({"00", "10"})
BATCH = 5000
Pension = tuple[str, str]  # (基礎年金番号, 年金コード)


class _Requests:
    """The 依頼 of a 年度 by pension and 期, and who a pension belongs to (for 収納)."""

    def __init__(self, session: Session, nendo: int) -> None:
        self.session, self.nendo = session, nendo
        self.irai: dict[tuple[Pension, int], tuple[int, str]] = {
            ((kiso, code), ki): (id_, hiho) for id_, kiso, code, ki, hiho in session.execute(
                select(TokuchoIrai.id, TokuchoIrai.kiso_nenkin_no, TokuchoIrai.nenkin_code, TokuchoIrai.ki,
                       TokuchoIrai.hihokensha_no).where(TokuchoIrai.nendo == nendo))}
        self._owners: dict[Pension, str] | None = None

    def owner(self, pension: Pension) -> str | None:
        """被保険者番号 of a pension with no 依頼 for the 期 (仮徴収): its matched 対象者, or the 宛名
        holding it, and that person's 賦課 of the 年度. Read once, when first needed."""
        if self._owners is None:
            fuka = {atena: hiho for atena, hiho in self.session.execute(
                select(Fuka.atena_no, Fuka.hihokensha_no).where(Fuka.nendo == self.nendo))}
            owners: dict[Pension, str] = {}
            held = self.session.execute(select(Atena.kiso_nenkin_no, Atena.nenkin_code, Atena.atena_no)
                                        .where(Atena.kiso_nenkin_no.is_not(None), Atena.nenkin_code.is_not(None)))
            matched = self.session.execute(
                select(TokuchoTaisho.kiso_nenkin_no, TokuchoTaisho.nenkin_code, TokuchoTaisho.atena_no)
                .where(TokuchoTaisho.nendo == self.nendo, TokuchoTaisho.match_state == MATCHED))
            for kiso, code, atena in [*held, *matched]:  # a Z11 match outranks the 宛名's own record
                if kiso is not None and code is not None and atena in fuka:
                    owners[(kiso, code)] = fuka[atena]
            self._owners = owners
        return self._owners.get(pension)


def apply_kekka(session: Session, transfer_id: str, source: Source, file: str, ctx: NenkinContext,
                second: Verdict) -> Counter[str]:
    counts: Counter[str] = Counter()
    requests: _Requests | None = None
    kekka: list[dict[str, Any]] = []
    shuno: list[dict[str, Any]] = []
    answers = Answers(session, transfer_id)
    status: dict[str, set[int]] = {IRAI_ACCEPTED: set(), IRAI_REJECTED: set(), IRAI_DEDUCTED: set(),
                                   IRAI_STOPPED: set()}
    for rec in records(source, file, ctx, second):
        v = rec.values
        made: dt.date = v["sakusei_ymd"]
        nendo = nendo_of(made)
        if requests is None or requests.nendo != nendo:
            requests = _Requests(session, nendo)
        pension = (v["kiso_nenkin_no"], v["nenkin_code"])
        base = {"nendo": nendo, "kiso_nenkin_no": pension[0], "nenkin_code": pension[1],
                "file_kind": ctx.kind, "tsuchi_naiyo_code": v["tsuchi_naiyo_code"], "shori_kekka": v["shori_kekka"],
                "transfer_id": transfer_id}
        if ctx.kind == "Z13":
            state = IRAI_ACCEPTED if v["shori_kekka"] == ACCEPTED else IRAI_REJECTED
            counts[state] += 1
            for honcho in HONCHO_KI:
                found = requests.irai.get((pension, honcho))
                counts["unanswered"] += found is None
                if found is not None:
                    status[state].add(found[0])
                kekka.append({**base, "ki": honcho, "irai_id": found and found[0], "tenbiki_amount": None,
                              "teishi_jiyu": None, "teishi_date": None})
            kekka = _flush(session, TokuchoKekka, kekka)
            continue
        if v["tsuchi_naiyo_code"] in ANSWERED:
            answers.add(v, counts)
            continue
        ki = collected_ki(ctx, made)
        assert ki is not None  # the judgement refused a 天引結果 of a month that collects nothing
        found = requests.irai.get((pension, ki))
        counts["unanswered"] += found is None
        deducted = v["kakushu_kubun"] in DEDUCTED
        kekka.append({**base, "ki": ki, "irai_id": found and found[0],
                      "tenbiki_amount": v["kingaku1"] if deducted else 0,
                      "teishi_jiyu": None if deducted else v["kakushu_kubun"],
                      "teishi_date": None if deducted else v["kakushu_ymd"]})
        if deducted:
            counts["deducted"] += 1
            if found is not None:
                status[IRAI_DEDUCTED].add(found[0])
            owner = found[1] if found is not None else requests.owner(pension)
            if owner is None:
                counts["unattributed"] += 1
                continue
            shuno.append({"hihokensha_no": owner, "nendo": nendo, "ki": ki, "amount": v["kingaku1"],
                          "shuno_date": v["kakushu_ymd"] or made, "source": SHUNO_TOKUCHO,
                          "source_key": f"tokucho:{nendo}:{ki}:{pension[0]}:{pension[1]}",
                          "transfer_id": transfer_id})
            shuno = _flush(session, Shuno, shuno)
        else:
            counts["stopped"] += 1
            status[IRAI_STOPPED].update(requests.irai[(pension, k)][0] for k in range(ki, 7)
                                        if (pension, k) in requests.irai)
        kekka = _flush(session, TokuchoKekka, kekka)
    _flush(session, TokuchoKekka, kekka, at=1)
    _flush(session, Shuno, shuno, at=1)
    answers.finish()
    for state, ids in status.items():
        _set_status(session, state, ids)
    counts["shuno"] = int(session.scalar(select(func.count()).select_from(Shuno)
                                         .where(Shuno.transfer_id == transfer_id)) or 0)
    return counts


def _flush(session: Session, model: Any, rows: list[dict[str, Any]], at: int = BATCH) -> list[dict[str, Any]]:
    """Rows written once ``at`` of them are waiting (memory stays flat); the list to go on with."""
    if len(rows) < at:
        return rows
    session.execute(insert_new(session, model), rows)
    return []


def _set_status(session: Session, state: str, ids: Iterable[int]) -> None:
    # A 依頼 still pending (decided, its file not made or held) was never sent: a stop leaves it
    # pending — the store allows past-pending only with the file it went in — and the next Z12
    # run withdraws it (irai.py: a stop within the 年度 is final for it).
    unsent = (TokuchoIrai.status != IRAI_PENDING,) if state == IRAI_STOPPED else ()
    ordered = sorted(ids)
    for i in range(0, len(ordered), BATCH):
        session.execute(update(TokuchoIrai).where(TokuchoIrai.id.in_(ordered[i:i + BATCH]), *unsent)
                        .values(status=state, updated_at=dt.datetime.now(dt.UTC)))
