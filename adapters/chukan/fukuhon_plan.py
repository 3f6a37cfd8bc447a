"""What a 副本 refresh sends: built replicas compared with fukuhon_state, and the payload lines.

Per 統合宛名番号 + TM + data set:
- built, no state row → register;
- built, the registered 版 differs → delete the old 版's key and register the new one (the
  中間サーバー keys a 副本 by 版, so a 版 change is not a replace);
- built, same 版, another SHA-256 of the items → replace;
- built, same hash → nothing;
- not built but registered, for a person looked at (or anyone, on --all) → delete.

A transfer's payload is JSON lines, one change each (items as [no, value, unset]); it lives only
encrypted in the payload store. ``parse`` reads it back for the chukan-dbm handler.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.chukan.fukuhon import Built, Slot, items_hash, items_json
from adapters.chukan.messages import Item, Replica, ReplicaKey
from store.models import FukuhonState

REGISTER, REPLACE, DELETE = "register", "replace", "delete"
OPS = (DELETE, REGISTER, REPLACE)  # the order a refresh makes its transfers in
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Change:
    op: str
    key: ReplicaKey
    items: tuple[Item, ...] = ()  # none for a delete
    sha256: str | None = None  # of the items; none for a delete
    # the items' JSON as hashed (fukuhon.items_json), kept for the payload line; none when not made
    canon: str | None = field(default=None, compare=False, repr=False)

    @property
    def slot(self) -> Slot:
        return (self.key.togo_atena_no, self.key.tm, self.key.dataset)

    def replica(self) -> Replica:
        return Replica(self.key, self.items)


def _states(session: Session, persons: set[str]) -> dict[Slot, FukuhonState]:
    found: dict[Slot, FukuhonState] = {}
    ordered = sorted(persons)
    for i in range(0, len(ordered), CHUNK):
        for r in session.scalars(select(FukuhonState).where(FukuhonState.togo_atena_no.in_(ordered[i:i + CHUNK]))):
            found[(r.togo_atena_no, r.tm, r.dataset)] = r
    return found


def plan(session: Session, built: Built) -> dict[str, list[Change]]:
    """The changes that bring the 中間サーバー to ``built`` for the persons it looked at, by
    operation (each list in slot order)."""
    states = _states(session, built.persons)
    out: dict[str, list[Change]] = {op: [] for op in OPS}
    for slot in sorted(built.replicas):
        replica = built.replicas[slot]
        canon = items_json(replica.items)  # once: hashed here, written into the payload line
        digest = items_hash(replica.items, canon)
        state = states.get(slot)
        if state is None:
            out[REGISTER].append(Change(REGISTER, replica.key, replica.items, digest, canon))
        elif state.version != replica.key.version:
            out[DELETE].append(Change(DELETE, _key(state)))
            out[REGISTER].append(Change(REGISTER, replica.key, replica.items, digest, canon))
        elif state.sha256 != digest:
            out[REPLACE].append(Change(REPLACE, replica.key, replica.items, digest, canon))
    for slot in sorted(states):
        if slot not in built.replicas:
            out[DELETE].append(Change(DELETE, _key(states[slot])))
    out[DELETE].sort(key=lambda c: c.slot)
    return out


def orphans(session: Session, seen: set[str]) -> Iterator[Change]:
    """Deletes for the registered 副本 of persons no longer in the store at all (gone from atena,
    or without their 統合宛名番号): what ``--all`` adds to the per-person plans."""
    query = select(FukuhonState).order_by(FukuhonState.togo_atena_no, FukuhonState.tm, FukuhonState.dataset)
    for state in session.scalars(query.execution_options(yield_per=2000)):
        if state.togo_atena_no not in seen:
            yield Change(DELETE, _key(state))


def _key(state: FukuhonState) -> ReplicaKey:
    return ReplicaKey(tm=state.tm, dataset=state.dataset, version=state.version, togo_atena_no=state.togo_atena_no)


def line(change: Change) -> dict[str, Any]:
    k = change.key
    out: dict[str, Any] = {"op": change.op, "tm": k.tm, "dataset": k.dataset, "version": k.version,
                           "togo": k.togo_atena_no}
    if change.op != DELETE:
        out["sha256"] = change.sha256
        out["items"] = ItemsJson(change.canon) if change.canon is not None else [[i.no, i.value, i.unset]
                                                                                 for i in change.items]
    return out


class ItemsJson(str):
    """Items already written as JSON (``Change.canon``): ``render`` puts them in as they are."""


def render(records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    for record in records:
        items = record.get("items")
        if isinstance(items, ItemsJson):  # the same text json.dumps gives for them, made once
            head = json.dumps({k: v for k, v in record.items() if k != "items"}, ensure_ascii=False,
                              separators=(",", ":"))
            yield f'{head[:-1]}{"," if len(head) > 2 else ""}"items":{items}}}'.encode() + b"\n"
        else:
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def parse(chunks: Iterable[bytes]) -> list[Change]:
    """A stored payload back to its changes (one operation per transfer)."""
    text = b"".join(chunks).decode()
    # "\n" only: json.dumps escapes it in a value, but not U+2028, U+0085 … that splitlines also splits at
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    try:
        records = json.loads("[" + ",".join(lines) + "]")  # one call for the batch, not one a line
    except ValueError:
        records = [json.loads(raw) for raw in lines]  # raises for the line at fault
    if len(records) != len(lines):  # a line holding two values: read line by line as ever
        records = [json.loads(raw) for raw in lines]
    made: dict[tuple[str, str | None, str | None], Item] = {}  # Items are immutable: equal ones shared
    changes = []
    for n, d in enumerate(records, start=1):
        if d.get("op") not in OPS:
            raise ValueError(f"payload line {n}: unknown operation")
        key = ReplicaKey(tm=d["tm"], dataset=d["dataset"], version=d["version"], togo_atena_no=d["togo"])
        items = []
        for no, v, u in d.get("items", ()):
            item = made.get((no, v, u))
            if item is None:
                item = made[(no, v, u)] = Item(no, value=v) if v is not None else Item(no, unset=u)
            items.append(item)
        changes.append(Change(d["op"], key, tuple(items), d.get("sha256")))
    if len({c.op for c in changes}) > 1:
        raise ValueError("payload mixes operations: one transfer is one DBM call")
    return changes

