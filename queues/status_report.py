"""``status`` as an operator reads it: every duty's health and what must be acted on, each
problem with its next step, times in JST. The facts are gathered by the caller (queues/status.py,
queues/health.py, the hand-over register); this module only judges them.

Three levels, and ``status --check``'s exit code follows the worst:
- 異常 (exit 1): the bridge itself is not working — a duty failing past its threshold, a process
  that stopped, the outbox not draining, the broker or the store unreachable.
- 要対応 (exit 3): it works, but something waits for an operator — dead letters, quarantined
  files, overdue hand-overs, vendors' answers refused and not made good.
- 注意 (exit 0): worth a look, resolves by itself — transfers in a retry queue, no worker running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from queues import health
from queues.status import Backlog, Retrying, RouteStatus

JST = timezone(timedelta(hours=9))
OUTBOX_LATE = 300.0  # seconds: an event pending longer means no relay is draining the outbox

ABNORMAL, TODO, NOTE = "異常", "要対応", "注意"
EXIT = {ABNORMAL: 1, TODO: 3}
ORDER = (ABNORMAL, TODO, NOTE)


def jst(at: datetime | str | None) -> str:
    if at is None:
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


@dataclass(frozen=True)
class Problem:
    level: str  # 異常 / 要対応 / 注意
    what: str
    next: str  # the operator's next step


@dataclass
class Facts:
    """What the caller could gather; an ``*_error`` instead of a value when it could not."""

    beats: list[dict[str, Any]]
    now: datetime
    backlog: Backlog | None = None
    store_error: str | None = None
    routes: list[RouteStatus] | None = None
    broker_error: str | None = None
    retrying: list[Retrying] = field(default_factory=list)
    custody_error: str | None = None
    quarantined: int = 0
    receipt_overdue: int = 0
    deletion_overdue: int = 0
    refused_answers: int = 0  # vendors' answers the ward refused, not made good nor settled


def duty_rows(facts: Facts) -> tuple[list[dict[str, Any]], list[Problem]]:
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for beat in facts.beats:
        process = f"{beat['role']} {beat['host']}:{beat['pid']}"
        alive = health.judge_process(beat, facts.now)
        if not alive.healthy:
            problems.append(Problem(ABNORMAL, f"{process}: {alive.reason}",
                                    f"プロセスを再起動してください (kaigo-bridge {beat['role']}); "
                                    "ログの最後の警告が原因を示します"))
        for name, duty in sorted(beat["duties"].items()):
            verdict = health.judge_duty(duty, beat["started"], facts.now) if alive.healthy else alive
            rows.append({"process": process, "duty": name,
                         "state": "正常" if verdict.healthy else ("停止" if not alive.healthy else "異常"),
                         "last_run": jst(duty.get("last_run")), "last_success": jst(duty.get("last_success")),
                         "failures": duty.get("failures", 0), "total_failures": duty.get("total_failures", 0),
                         "last_error": duty.get("last_error") or "", "last_error_at": jst(duty.get("last_error_at"))})
            if alive.healthy and not verdict.healthy:
                problems.append(Problem(ABNORMAL, f"{process} の {name}: {verdict.reason} (最後のエラー: "
                                        f"{duty.get('last_error') or 'なし'})", _duty_next(name)))
    if not any(health.judge_process(b, facts.now).healthy for b in facts.beats):
        problems.append(Problem(NOTE, "稼働中のワーカーがありません", "kaigo-bridge worker を起動してください"))
    return rows, problems


AUTO = "; 回復すれば自動で再開します"


def _duty_next(name: str) -> str:
    if name == "relay":
        return "ブローカー (RabbitMQ) とストアが使えるか確認してください" + AUTO
    if name.startswith(("inbound:", "answers:")):
        return "相手先の共有フォルダ/SFTP と設定 (kaigo-bridge config check) を確認してください" + AUTO
    if name.startswith("chukan."):
        return "中間サーバーへの接続 (chukan.toml [server]、証明書) を確認してください" + AUTO
    return "ストアとカストディログのディスク容量・権限を確認してください" + AUTO


def judge(facts: Facts) -> dict[str, Any]:
    duties, problems = duty_rows(facts)
    out: dict[str, Any] = {"checked_at": jst(facts.now), "duties": duties}
    if facts.store_error is not None:
        problems.append(Problem(ABNORMAL, f"ストアを読めません: {facts.store_error}",
                                "ストアのディスク容量・権限・接続先 (bridge.toml store.url) を確認してください"))
    if facts.backlog is not None:
        age = (facts.now - facts.backlog.oldest).total_seconds() if facts.backlog.oldest else 0.0
        out["outbox"] = {"pending": facts.backlog.pending, "oldest": jst(facts.backlog.oldest),
                         "oldest_age_seconds": int(age), "refused": facts.backlog.refused}
        if facts.backlog.pending and age > OUTBOX_LATE:
            problems.append(Problem(ABNORMAL,
                                    f"送信待ちイベント {facts.backlog.pending} 件、最古は {int(age)} 秒前のまま",
                                    "リレー (kaigo-bridge worker または relay) が動いているか、上の処理状況と"
                                    "ブローカーを確認してください"))
    if facts.broker_error is not None:
        problems.append(Problem(ABNORMAL, f"ブローカー管理 API に接続できません: {facts.broker_error}",
                                "RabbitMQ が動いているか、KAIGO_RABBIT_API を確認してください"))
    out["routes"] = [asdict(r) for r in facts.routes or []]  # empty when the broker could not be asked
    out["dead_letters"] = None if facts.routes is None else sum(r.dead for r in facts.routes)
    if facts.routes is not None:
        for route in (r for r in facts.routes if r.dead):
            problems.append(Problem(TODO, f"{route.route}: デッドレター {route.dead} 件",
                                    f"kaigo-bridge dead list {route.route} で理由を確認し、dead replay か dead drop"))
    if facts.custody_error is not None:
        problems.append(Problem(ABNORMAL, f"カストディログを読めません: {facts.custody_error}",
                                "カストディログのディスク容量・権限・接続先を確認してください"))
    out["retrying"] = [{"transfer": r.transfer, "at": jst(r.at), "last_error": r.last_error} for r in facts.retrying]
    if facts.retrying:
        problems.append(Problem(NOTE,
                                f"再試行待ちの転送 {len(facts.retrying)} 件 (最新: {facts.retrying[0].last_error})",
                                "自動で再試行されます; 同じエラーが続くなら kaigo-bridge custody show で経緯を確認"))
    if facts.quarantined:
        problems.append(Problem(TODO, f"隔離中の受信ファイル {facts.quarantined} 件",
                                "kaigo-bridge quarantine list で報告を確認し、release か reject"))
    overdue = facts.receipt_overdue + facts.deletion_overdue
    if overdue:
        problems.append(Problem(TODO, f"期限超過の引渡し {overdue} 件 (受領 {facts.receipt_overdue}、"
                                f"消去 {facts.deletion_overdue})",
                                "kaigo-bridge handovers --overdue で相手先を確認し、督促"))
    if facts.refused_answers:
        problems.append(Problem(TODO, f"委託先の回答を拒否 {facts.refused_answers} 件 (未解決)",
                                "kaigo-bridge vendors answers --refused で理由を確認; 委託先には受領確認で通知済み、"
                                "再送で解決しないものは対処後 vendors settle ID"))
    problems.sort(key=lambda p: ORDER.index(p.level))
    worst = problems[0].level if problems else None
    out["health"] = {ABNORMAL: "異常", TODO: "要対応"}.get(worst or "", "正常")
    out["exit"] = EXIT.get(worst or "", 0)
    out["problems"] = [asdict(p) for p in problems]
    return out
