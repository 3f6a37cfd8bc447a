"""Our plain messages (messages.py) to zeep's request fields and zeep's answers back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from adapters.chukan.errors import ChukanRequestInvalid
from adapters.chukan.messages import (
    Ack,
    ExchangeRecord,
    Item,
    ProvisionRequest,
    Query,
    QueryResult,
    Replica,
    ReplicaKey,
)


def date8(day: date) -> str:
    return day.strftime("%Y%m%d")


def stamp17(at: datetime) -> str:
    """照会依頼日時 as YYYYMMDDhhmmssfff (milliseconds)."""
    return at.strftime("%Y%m%d%H%M%S") + f"{at.microsecond // 1000:03d}"


def parse_stamp17(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S%f")  # %f takes the three millisecond digits


def items_out(items: Iterable[Item], operation: str) -> list[dict[str, str]]:
    out = []
    for i in items:
        if i.value == "":
            # zeep leaves an empty choice out (the request would then carry neither): an item
            # without a value needs its 未設定事由.
            raise ChukanRequestInvalid(f"中間サーバー {operation}: item {i.no} has an empty value; "
                                       "give a 未設定事由 instead", operation=operation)
        out.append({"ItemNo": i.no, "Value": i.value} if i.value is not None
                   else {"ItemNo": i.no, "UnsetReason": i.unset or ""})
    return out


def key_out(key: ReplicaKey) -> dict[str, str]:
    return {"TokuteiJohoMeiCode": key.tm, "DataSetCode": key.dataset, "LayoutVersion": key.version,
            "TogoAtenaNo": key.togo_atena_no}


def replica_out(replica: Replica, operation: str) -> dict[str, Any]:
    return {**key_out(replica.key), "Item": items_out(replica.items, operation)}


def query_out(query: Query) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "NumberingSystem": query.numbering_system, "AtenaNo": query.atena_no,
        "TogoAtenaNo": query.togo_atena_no, "RequestedAt": stamp17(query.requested_at),
        "DepartmentCode": query.department, "UserId": query.user_id,
        "QueryingKikanCode": query.querying_kikan, "NonDisclosureCode": query.non_disclosure,
        "JimuCode": query.jimu, "JimuTetsuzukiCode": query.tetsuzuki,
    }
    if query.delegator_kikan is not None:
        fields["DelegatorKikanCode"] = query.delegator_kikan
    if query.delegator_tetsuzuki is not None:
        fields["DelegatorJimuTetsuzukiCode"] = query.delegator_tetsuzuki
    fields.update({
        "ProviderKikanCode": query.provider_kikan, "TokuteiJohoMeiCode": query.tm,
        "ConditionClass": query.condition, "YearClass": query.year_class,
        "StartDate": date8(query.start), "EndDate": date8(query.end),
    })
    return fields


def _list(answer: Any, name: str) -> list[Any]:
    # zeep unwraps a response whose only child repeats: it hands back the list (or None), not
    # the wrapper; keep both shapes working.
    if answer is None:
        return []
    if isinstance(answer, list):
        return answer
    found = getattr(answer, name, None)
    return list(found or [])


def ack_in(answer: Any) -> Ack:
    return Ack(key=str(answer.IdempotencyKey), replayed=bool(answer.Replayed),
               count=int(answer.Count) if getattr(answer, "Count", None) is not None else None,
               query_id=str(answer.QueryId) if getattr(answer, "QueryId", None) is not None else None)


def items_in(nodes: Sequence[Any] | None) -> tuple[Item, ...]:
    items = []
    for n in nodes or ():
        if n.UnsetReason is not None:
            items.append(Item(str(n.ItemNo), unset=str(n.UnsetReason)))
        else:
            # zeep reads an empty <Value/> as None; the schema's choice says one was there
            items.append(Item(str(n.ItemNo), value="" if n.Value is None else str(n.Value)))
    return tuple(items)


def result_in(answer: Any) -> QueryResult:
    return QueryResult(query_id=str(answer.QueryId), tm=str(answer.TokuteiJohoMeiCode),
                       version=str(answer.LayoutVersion), items=items_in(answer.Item))


def provisions_in(answer: Any) -> list[ProvisionRequest]:
    """Each request once, in the order first listed (a service may repeat an entry)."""
    seen: dict[str, ProvisionRequest] = {}
    for n in _list(answer, "ProvisionRequest"):
        if str(n.ProvisionRequestId) not in seen:
            seen[str(n.ProvisionRequestId)] = ProvisionRequest(
                id=str(n.ProvisionRequestId), togo_atena_no=str(n.TogoAtenaNo),
                querying_kikan=str(n.QueryingKikanCode), tetsuzuki=str(n.JimuTetsuzukiCode),
                tm=str(n.TokuteiJohoMeiCode), requested_at=parse_stamp17(str(n.RequestedAt)))
    return list(seen.values())


def records_in(answer: Any) -> list[ExchangeRecord]:
    return [ExchangeRecord(togo_atena_no=str(n.TogoAtenaNo), direction=str(n.Direction),
                           counterpart_kikan=str(n.CounterpartKikanCode), tetsuzuki=str(n.JimuTetsuzukiCode),
                           tm=str(n.TokuteiJohoMeiCode), at=parse_stamp17(str(n.At)))
            for n in _list(answer, "Record")]
