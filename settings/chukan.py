"""chukan.toml and permissions.csv: the 中間サーバー, the ward on it, and the rules the PIA promises.

permissions.csv is the 照会許可照会リスト as the ward keeps it: one row per permitted 情報照会
(区分 照会) or 情報提供 (区分 提供), keyed by 事務, 事務手続, 特定個人情報名 and the other 機関,
with the legal basis (番号法第19条第8号 and the 主務省令's item) and the former 別表第2 項番 as an
alias. It is read here as data; adapters/chukan/permits.py decides with it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settings.reader import Reader

FILE = "chukan.toml"
PERMISSIONS = "permissions.csv"
COLUMNS = ("区分", "事務コード", "事務名", "事務手続コード", "事務手続名", "特定個人情報名コード", "特定個人情報名",
           "機関コード", "機関名", "根拠", "主務省令項番", "旧別表第2項番")
DIRECTIONS = {"照会": "query", "提供": "provision"}
NAMED = ("事務名", "事務手続名", "特定個人情報名", "機関名", "根拠", "主務省令項番")  # must not be empty
ANY_KIKAN = "*"  # any 機関 of the kind named (e.g. every 市町村長 for a 転入者's previous municipality)
PATTERNS = {
    "事務コード": re.compile(r"JM[0-9]{14}"),
    "事務手続コード": re.compile(r"JT[0-9]{14}"),
    "特定個人情報名コード": re.compile(r"TM[0-9]{14}"),
    "機関コード": re.compile(r"[0-9]{16}|\*"),
    "旧別表第2項番": re.compile(r"[0-9]{1,3}(の[0-9]{1,2})?"),
}
TM = PATTERNS["特定個人情報名コード"]
KIKAN = re.compile(r"[0-9]{16}")
ONE_DIGIT = re.compile(r"[0-9]")
DEPARTMENT = re.compile(r"[0-9A-Za-z]{1,20}")


@dataclass(frozen=True)
class Permission:
    """One row of the 照会許可照会リスト."""

    line: int  # line in permissions.csv (1 = the header)
    direction: str  # "query" | "provision"
    jimu: str
    jimu_name: str
    tetsuzuki: str
    tetsuzuki_name: str
    tm: str
    tm_name: str
    kikan: str  # the other 機関 (照会先 for a query, 提供先 for a provision), or ANY_KIKAN
    kikan_name: str
    law: str  # 根拠: 番号法第19条第8号
    ordinance_item: str  # 主務省令 item
    beppyo2: str  # the former 別表第2 項番 (alias)

    @property
    def basis(self) -> str:
        """The legal basis as records and the custody log carry it."""
        return f"{self.law} {self.ordinance_item} (旧別表第2 第{self.beppyo2}項)"


@dataclass(frozen=True)
class ServerConfig:
    url: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    timeout: float
    attempts: int


@dataclass(frozen=True)
class QueryConfig:
    """A kind of 情報照会 the bridge makes by itself (e.g. ``income`` for 転入者)."""

    name: str
    jimu: str
    tetsuzuki: str
    tm: str
    condition: str
    year_class: str
    non_disclosure: str


@dataclass(frozen=True)
class ScheduleConfig:
    """What a worker does unasked (bridge/chukan_duties.py); 0 turns a duty off."""

    refresh_seconds: int  # the 副本 of what changed
    poll_seconds: int  # provision requests, income queries and their results
    retention_hours: int  # the retention run
    income_days: int  # 転入者 whose 資格 began this many days back or less are queried


@dataclass(frozen=True)
class ChukanConfig:
    server: ServerConfig
    kikan_code: str  # the ward's 機関コード
    department: str
    numbering_system: str
    no_auto_answer: frozenset[str]  # 特定個人情報名コード never answered automatically
    refusal_reason: str
    records_years: int
    query_results_days: int
    fukuhon_batch_size: int
    schedule: ScheduleConfig
    queries: dict[str, QueryConfig]
    permissions: tuple[Permission, ...]


def chukan_config(r: Reader, raw: dict[str, Any]) -> ChukanConfig:
    f = FILE
    server = ServerConfig(
        url=r.get(raw, f, "server.url", str),
        ca_file=r.path(raw, f, "server.ca_file"),
        cert_file=r.path(raw, f, "server.cert_file"),
        key_file=r.path(raw, f, "server.key_file"),
        timeout=float(r.get(raw, f, "server.timeout", int)),
        attempts=r.get(raw, f, "server.attempts", int),
    )
    r.check(server.url.startswith("https://"), f, "server.url", "must be https:// (TLS always)")
    r.check(server.timeout > 0, f, "server.timeout", "must be positive")
    r.check(server.attempts >= 1, f, "server.attempts", "must be at least 1")
    no_auto = r.get(raw, f, "provision.no_auto_answer", list)
    r.check(all(isinstance(tm, str) and TM.fullmatch(tm) for tm in no_auto), f, "provision.no_auto_answer",
            "every entry must be a 特定個人情報名コード (TM + 14 digits)")
    config = ChukanConfig(
        server=server,
        kikan_code=r.get(raw, f, "ward.kikan_code", str),
        department=r.get(raw, f, "ward.department", str),
        numbering_system=r.get(raw, f, "ward.numbering_system", str),
        no_auto_answer=frozenset(str(tm) for tm in no_auto),
        refusal_reason=r.get(raw, f, "provision.refusal_reason", str),
        records_years=r.get(raw, f, "retention.records_years", int),
        query_results_days=r.get(raw, f, "retention.query_results_days", int),
        fukuhon_batch_size=r.get(raw, f, "fukuhon.batch_size", int),
        schedule=ScheduleConfig(refresh_seconds=r.get(raw, f, "schedule.refresh_seconds", int),
                                poll_seconds=r.get(raw, f, "schedule.poll_seconds", int),
                                retention_hours=r.get(raw, f, "schedule.retention_hours", int),
                                income_days=r.get(raw, f, "schedule.income_days", int)),
        queries=_queries(r, raw.get("query", {})),
        permissions=permissions(r, r.config_dir / PERMISSIONS),
    )
    r.check(bool(KIKAN.fullmatch(config.kikan_code)), f, "ward.kikan_code", "must be 16 digits")
    r.check(bool(DEPARTMENT.fullmatch(config.department)), f, "ward.department", "must be 1–20 letters or digits")
    r.check(bool(ONE_DIGIT.fullmatch(config.numbering_system)), f, "ward.numbering_system", "must be one digit")
    r.check(bool(re.fullmatch(r"[0-9]{2}", config.refusal_reason)), f, "provision.refusal_reason",
            "must be two digits")
    r.check(config.records_years >= 1, f, "retention.records_years", "must be at least 1")
    r.check(config.query_results_days >= 1, f, "retention.query_results_days", "must be at least 1")
    r.check(config.fukuhon_batch_size >= 1, f, "fukuhon.batch_size", "must be at least 1")
    for key in ("refresh_seconds", "poll_seconds", "retention_hours", "income_days"):
        r.check(getattr(config.schedule, key) >= 0, f, f"schedule.{key}", "must be 0 (off) or more")
    return config


def _queries(r: Reader, table: Any) -> dict[str, QueryConfig]:
    f = FILE
    if not isinstance(table, dict):
        r.problems.append(f"{f}: query: expected a table")
        return {}
    queries: dict[str, QueryConfig] = {}
    for name, t in table.items():
        where = f"query.{name}."
        if not isinstance(t, dict):
            r.problems.append(f"{f}: query.{name}: expected a table")
            continue
        q = QueryConfig(name=name, jimu=r.get(t, f, "jimu", str, where=where),
                        tetsuzuki=r.get(t, f, "tetsuzuki", str, where=where), tm=r.get(t, f, "tm", str, where=where),
                        condition=r.get(t, f, "condition", str, where=where),
                        year_class=r.get(t, f, "year_class", str, where=where),
                        non_disclosure=r.get(t, f, "non_disclosure", str, where=where))
        for key, pattern in (("jimu", PATTERNS["事務コード"]), ("tetsuzuki", PATTERNS["事務手続コード"]), ("tm", TM),
                             ("condition", ONE_DIGIT), ("year_class", ONE_DIGIT), ("non_disclosure", ONE_DIGIT)):
            r.check(bool(pattern.fullmatch(getattr(q, key))), f, f"{where}{key}", f"must match {pattern.pattern}")
        queries[name] = q
    return queries


def permissions(r: Reader, path: Path) -> tuple[Permission, ...]:
    """Every row of permissions.csv, each problem named by line and column; a list with problems
    is no list (the loader refuses the whole configuration)."""
    f = PERMISSIONS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        r.problems.append(f"{f}: file not found in {path.parent}")
        return ()
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(rows[0]) != COLUMNS:
        r.problems.append(f"{f}: line 1: the header must be exactly {','.join(COLUMNS)}")
        return ()
    found: list[Permission] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(COLUMNS):
            r.problems.append(f"{f}: line {line}: {len(row)} columns, expected {len(COLUMNS)}")
            continue
        cells = dict(zip(COLUMNS, (cell.strip() for cell in row), strict=True))
        bad = [f"{f}: line {line}: column {name}: must match {pattern.pattern}"
               for name, pattern in PATTERNS.items() if not pattern.fullmatch(cells[name])]
        bad += [f"{f}: line {line}: column {name}: must not be empty" for name in NAMED if not cells[name]]
        if cells["区分"] not in DIRECTIONS:
            bad.append(f"{f}: line {line}: column 区分: must be one of {', '.join(DIRECTIONS)}")
        if bad:
            r.problems.extend(bad)
            continue
        permission = Permission(
            line=line, direction=DIRECTIONS[cells["区分"]], jimu=cells["事務コード"], jimu_name=cells["事務名"],
            tetsuzuki=cells["事務手続コード"], tetsuzuki_name=cells["事務手続名"], tm=cells["特定個人情報名コード"],
            tm_name=cells["特定個人情報名"], kikan=cells["機関コード"], kikan_name=cells["機関名"], law=cells["根拠"],
            ordinance_item=cells["主務省令項番"], beppyo2=cells["旧別表第2項番"])
        key = (permission.direction, permission.jimu, permission.tetsuzuki, permission.tm, permission.kikan)
        if key in seen:
            r.problems.append(f"{f}: line {line}: the same 区分, 事務, 事務手続, 特定個人情報名 and 機関 "
                              f"as line {seen[key]}")
            continue
        seen[key] = line
        found.append(permission)
    return tuple(found)
