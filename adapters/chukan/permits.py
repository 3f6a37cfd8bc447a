"""The 照会許可照会リスト as a decision: is this 情報照会 or 情報提供 permitted, and on what basis.

The PIA promises that a request not on the list is refused before anything is sent. Every caller
(the query helper before SKI SubmitQuery, the provision poller before TKY AnswerProvision) asks
here first and records the refusal itself. Codes are not personal, so a refusal names them all,
and which key found no row — an operator can tell a typo'd 事務手続 from a 機関 not on the list.
"""

from __future__ import annotations

from collections.abc import Sequence

from settings.chukan import ANY_KIKAN, KIKAN, ChukanConfig, Permission

DIRECTION_NAMES = {"query": "照会", "provision": "提供"}


class NotPermitted(Exception):
    """A request not on the permission list. ``key`` names the first key that matched no row
    (after the ones before it did); ``codes`` are the request's codes, in list order."""

    def __init__(self, direction: str, codes: Sequence[tuple[str, str]], key: str) -> None:
        self.direction = direction
        self.codes = tuple(codes)
        self.key = key
        shown = ", ".join(f"{name} {code}" for name, code in self.codes)
        before = [name for name, _ in self.codes[: [name for name, _ in self.codes].index(key)]]
        where = f" among the rows matching its {'/'.join(before)}" if before else ""
        super().__init__(f"{DIRECTION_NAMES[direction]} not on the permission list (permissions.csv): {shown}: "
                         f"no 区分 {DIRECTION_NAMES[direction]} row has this {key}{where}")


class Permits:
    """Decides with ``chukan.permissions``; ``chukan.no_auto_answer`` says which 特定個人情報名 wait
    for a second operator."""

    def __init__(self, chukan: ChukanConfig) -> None:
        self._rows: dict[str, tuple[Permission, ...]] = {
            direction: tuple(p for p in chukan.permissions if p.direction == direction)
            for direction in DIRECTION_NAMES}
        self._no_auto = chukan.no_auto_answer

    def query(self, jimu: str, tetsuzuki: str, tm: str, kikan: str) -> Permission:
        """The row permitting a 情報照会 of ``tm`` from ``kikan`` (the 照会先) for 事務/事務手続."""
        return self._find("query", (("事務", jimu), ("事務手続", tetsuzuki), ("特定個人情報名", tm)), kikan)

    def provision(self, tetsuzuki: str, tm: str, kikan: str) -> Permission:
        """The row permitting a 情報提供 of ``tm`` to ``kikan`` (the 照会者) for its 事務手続. A TKY
        request names no 事務 — the 事務手続 code belongs to exactly one."""
        return self._find("provision", (("事務手続", tetsuzuki), ("特定個人情報名", tm)), kikan)

    def auto_answer(self, tm: str) -> bool:
        """False for a 特定個人情報名 flagged 自動応答不可: answered only after a second operator approves."""
        return tm not in self._no_auto

    def _find(self, direction: str, keys: tuple[tuple[str, str], ...], kikan: str) -> Permission:
        attrs = {"事務": "jimu", "事務手続": "tetsuzuki", "特定個人情報名": "tm"}
        codes = (*keys, ("機関", kikan))
        rows = self._rows[direction]
        for name, code in keys:
            rows = tuple(p for p in rows if getattr(p, attrs[name]) == code)
            if not rows:
                raise NotPermitted(direction, codes, name)
        if not KIKAN.fullmatch(kikan):  # a request names one 機関; "*" is only the list's wildcard
            raise NotPermitted(direction, codes, "機関")
        # An exact 機関 row is the more specific basis; "*" stands for any 機関 of the kind named.
        for p in rows:
            if p.kikan == kikan:
                return p
        for p in rows:
            if p.kikan == ANY_KIKAN:
                return p
        raise NotPermitted(direction, codes, "機関")
