"""What goes to and comes from the 中間サーバー, as plain values (adapters/chukan/wsdl/chukan.xsd).

Persons are named by 団体内統合宛名番号 / 宛名番号 only: there is no field for 個人番号. Item values
may be personal (an income, a 要介護状態区分), so no ``repr`` here shows one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One item of a data set: a value, or the 未設定事由 saying why it has none — never both."""

    no: str  # 項目番号
    value: str | None = field(default=None, repr=False)
    unset: str | None = None  # 未設定事由 (NotAcceptable, NotCovered, …)

    def __post_init__(self) -> None:
        if (self.value is None) == (self.unset is None):
            raise ValueError(f"item {self.no}: give a value or a 未設定事由, exactly one")


@dataclass(frozen=True, slots=True)
class ReplicaKey:
    """Which 副本: 特定個人情報名コード + data set + 版番号, of one person."""

    tm: str  # 特定個人情報名コード TM + 14 digits
    dataset: str  # データセット, e.g. 0101 被保険者
    version: str  # 版番号 of the データ標準レイアウト
    togo_atena_no: str  # 団体内統合宛名番号


@dataclass(frozen=True, slots=True)
class Replica:
    key: ReplicaKey
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """A 情報照会 (SKI SubmitQuery), field for field as the XSD has them."""

    numbering_system: str  # 番号体系
    atena_no: str  # 宛名番号
    togo_atena_no: str  # 統合宛名番号
    requested_at: datetime  # 照会依頼日時
    department: str  # 部署コード
    user_id: str  # ユーザーID
    querying_kikan: str  # 照会者機関コード
    non_disclosure: str  # 不開示コード
    jimu: str  # 事務コード JM…
    tetsuzuki: str  # 事務手続コード JT…
    provider_kikan: str  # 提供者機関コード
    tm: str  # 特定個人情報名コード
    condition: str  # 照会条件区分
    year_class: str  # 照会年度区分
    start: date  # 照会開始日
    end: date  # 照会終了日
    delegator_kikan: str | None = None  # 委任元機関コード
    delegator_tetsuzuki: str | None = None  # 委任元事務手続コード


@dataclass(frozen=True, slots=True)
class Ack:
    """The service's answer to a request: its idempotency key, whether it was a replay (the key
    was seen before and the first answer repeated), and what the operation returns besides."""

    key: str
    replayed: bool
    count: int | None = None  # replicas taken (DBM)
    query_id: str | None = None  # 照会番号 (SKI SubmitQuery)


@dataclass(frozen=True, slots=True)
class QueryResult:
    query_id: str
    tm: str
    version: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class ProvisionRequest:
    """A provision request the 中間サーバー holds for us to answer (TKY)."""

    id: str  # 提供依頼番号
    togo_atena_no: str
    querying_kikan: str  # 照会者 (the 提供先)
    tetsuzuki: str  # 事務手続コード
    tm: str  # 特定個人情報名コード
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One entry of the 情報提供等記録 (TKM): codes only, never item values."""

    togo_atena_no: str
    direction: str  # "Query" | "Provision"
    counterpart_kikan: str
    tetsuzuki: str
    tm: str
    at: datetime
