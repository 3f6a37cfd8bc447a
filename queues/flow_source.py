"""A batch flow's plug-in points: what ``run_flow`` (bridge/flows.py) needs from a partner.

A partner adapter registers a ``FlowSource`` per flow name (adapters/<partner>/flows.py): where the
records come from, what one run makes (``plan``), how records become the partner's file frame
(``encode``), what runs before and after. The adapter sees the running hub only through
``FlowContext`` — the stores and the configuration — so it never reaches up into the wiring that
calls it; bridge/flows.py gathers the registries and runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from mappings.charpolicy import CharPolicy
from mappings.layout import Layout
from queues.outbound import Record
from queues.payloads import PayloadStore
from settings import Config


class FlowContext(Protocol):
    """What a flow's plug-ins may use of the running hub (bridge.app.Bridge is one)."""

    @property
    def config(self) -> Config: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def read_sessions(self) -> sessionmaker[Session]: ...

    @property
    def payloads(self) -> PayloadStore: ...


def batch_key(name: str, nendo: int, edition: int) -> str:
    return f"{name}/{nendo}" + (f"#{edition}" if edition > 1 else "")


# What a run makes, from (hub, flow, period, edition): what ``after`` gets, and the (batch key,
# scope) of every file, the scope being what ``count`` and ``records`` take. It may write to the
# store first (e.g. decide what to send).
Plan = Callable[[FlowContext, str, int, int], tuple[Any, list[tuple[str, Any]]]]


def one_file(scope: Callable[[Session, str, int, int], tuple[str, Any]]) -> Plan:
    """The plan of a run of one file, whose (batch key, scope) ``scope`` takes from the store
    (e.g. a window derived from the batches already made, adapters/vendor/hihokenshasho.py);
    ``after`` gets the scope."""
    def plan(hub: FlowContext, name: str, period: int, edition: int) -> tuple[Any, list[tuple[str, Any]]]:
        with hub.read_sessions() as session:
            batch, what = scope(session, name, period, edition)
        return what, [(batch, what)]

    return plan


def per_nendo(_session: Session, name: str, nendo: int, edition: int) -> tuple[str, int]:
    """The default scope of a run: the 年度 itself, keyed "flow/2026" ("#2" for an edition)."""
    return batch_key(name, nendo, edition), nendo


ONE_PER_NENDO = one_file(per_nendo)


# Renders records through a CharPolicy: (records, policy) → encoded chunks.
Encode = Callable[[Iterable[Record], CharPolicy], Iterator[bytes]]


class Reading(Protocol):
    """Records and how many there are, read together (one snapshot); closed when the run is done."""

    count: int

    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass
class _CountThenRecords:
    count: int
    records: Iterator[dict[str, Any]]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.records

    def close(self) -> None:
        close = getattr(self.records, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class FlowSource:
    # How many records, then the records, in the run's read session (one transaction, so one
    # snapshot); or ``read``, both at once, for a source that reads elsewhere than in that
    # session (adapters/vendor/reader_process.py).
    count: Callable[[Session, Any], int] | None = None
    records: Callable[[Session, Any], Iterator[dict[str, Any]]] | None = None
    read: Callable[[Session, Any], Reading] | None = None
    # What one run makes (see Plan): one file per 年度 by default.
    plan: Plan = ONE_PER_NENDO
    period: str = "nendo"  # what a run is for: "nendo" (年度, --nendo) or "month" (YYYYMM, --month)
    # How the records become a file, from (hub, layout, scope); None: the layout's plain CSV.
    encode: Callable[[FlowContext, Layout, Any], Encode] | None = None
    # Runs before the plan and after the transfers exist (e.g. recording what was sent);
    # ``after`` returns extra summary entries.
    before: Callable[[FlowContext], Any] | None = None
    after: Callable[[FlowContext, Any], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if (self.read is None) == (self.count is None or self.records is None):
            raise ValueError("a flow source has count and records, or read")

    def open(self, session: Session, scope: Any) -> Reading:
        if self.read is not None:
            return self.read(session, scope)
        assert self.count is not None and self.records is not None
        return _CountThenRecords(self.count(session, scope), self.records(session, scope))
