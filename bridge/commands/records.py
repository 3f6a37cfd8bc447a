"""records person 宛名番号: the 情報提供等記録 of one person — what was exchanged, with whom, when,
under which 事務手続 and 特定個人情報, the outcome, by whom and on what basis. Codes and their
names only: the records hold no item value, and no 個人番号 is shown."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from adapters.chukan import kiroku
from adapters.chukan.permits import DIRECTION_NAMES
from bridge.context import state
from bridge.output import emit
from settings.chukan import ANY_KIKAN, Permission
from store.models.chukan import TeikyoKiroku

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


class Names:
    """Names for codes, from permissions.csv (a code no longer on the list shows without one)."""

    def __init__(self, permissions: tuple[Permission, ...]) -> None:
        self.jimu = {p.jimu: p.jimu_name for p in permissions}
        self.tetsuzuki = {p.tetsuzuki: p.tetsuzuki_name for p in permissions}
        self.tm = {p.tm: p.tm_name for p in permissions}
        self.kikan = {p.kikan: p.kikan_name for p in permissions if p.kikan != ANY_KIKAN}
        # A "*" row names the kind of 機関 (e.g. 市町村長(転入前住所地)) for a code not listed itself.
        self.kind = {(p.direction, p.tetsuzuki, p.tm): p.kikan_name for p in permissions if p.kikan == ANY_KIKAN}

    def kikan_of(self, r: TeikyoKiroku) -> str:
        return self.kikan.get(r.counterpart_kikan) or self.kind.get((r.direction, r.tetsuzuki, r.tm), "")


def _named(code: str | None, names: dict[str, str]) -> str | None:
    if code is None:
        return None
    name = names.get(code)
    return f"{code} {name}" if name else code


def row(r: TeikyoKiroku, names: Names) -> dict[str, Any]:
    return {"at": r.at, "direction": DIRECTION_NAMES.get(r.direction, r.direction), "outcome": r.outcome,
            "kikan": r.counterpart_kikan, "kikan_name": names.kikan_of(r), "jimu": _named(r.jimu, names.jimu),
            "tetsuzuki": _named(r.tetsuzuki, names.tetsuzuki), "tm": _named(r.tm, names.tm), "by": r.actor,
            "basis": r.basis, "reason": r.reason, "reference": r.reference, "atena_no": r.atena_no,
            "togo_atena_no": r.togo_atena_no, "keep_until": r.keep_until}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="情報提供等記録: what was exchanged about a person, with whom, when, why.")
    app.add_typer(group, name="records")

    @group.command("person")
    def person(ctx: typer.Context, atena_no: Annotated[str, typer.Argument(help="宛名番号")],
               json_out: JsonOpt = False) -> None:
        """Every record about the person (by 宛名番号 or the 統合宛名番号 the 宛名 carries), oldest first."""
        bridge = state(ctx).bridge
        names = Names(bridge.config.chukan.permissions)
        with bridge.read_sessions() as s:
            rows = [row(r, names) for r in kiroku.person(s, atena_no)]
        emit(rows, json_out, title=f"情報提供等記録: 宛名番号 {atena_no} ({len(rows)})", columns=None if json_out else
             ["at", "direction", "outcome", "kikan", "kikan_name", "tetsuzuki", "tm", "by", "basis", "reason"])
