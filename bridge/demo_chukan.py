"""The demo's 中間サーバー: 副本 refresh, one permitted query, one refused, one provision approved.

The simulator runs as its own process (TLS on loopback, the test CA and the ward's client
certificate written where chukan.toml looks: {var}/chukan/). Every step is what an operator types
(`kaigo-bridge …` in a subprocess, the screens shown as they are), with a running worker sending
the 副本 batches (chukan.fukuhon) and applying the query result (chukan.shokai). The worker's own
rounds with the 中間サーバー are turned off here (schedule refresh_seconds and poll_seconds = 0) so
each step is the operator's; retention stays on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.chukan.fukuhon_refresh import FLOW, RECEIPTED, REJECTED
from adapters.chukan.messages import Item
from bridge.app import Bridge
from fixtures.chukan.sim.process import SimProcess
from store.models import Shokai, Transfer
from store.models.shokai import APPLIED

Wait = Callable[[Callable[[], bool], str], None]
CLERK, SUPERVISOR = "clerk-1", "supervisor-1"
# A provision the list permits (旧別表第2 第17項) of 給付 information, which is 自動応答不可.
PROVISION = ("2000000000000017", "JT00000000001701", "TM00000000000102")
# A query nobody permitted: 生活保護関係情報 from a 機関 on no row of permissions.csv.
REFUSED = ("TM00000000000203", "9999999999999999")
# What the simulated previous municipality answers (地方税関係情報, chiho-zei-v1: 合計所得金額,
# 課税区分, 公的年金等収入額): synthetic amounts.
INCOME = ("1", (Item("1", value="1830000"), Item("2", value="1"), Item("3", value="1650000")))


def start(state: Path, config_dir: Path) -> SimProcess:
    """The simulator process, and the demo's chukan.toml pointed at it."""
    sim = SimProcess(state / "chukan").start()
    path = config_dir / "chukan.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^url = ".*"$', f'url = "{sim.url}/"', text, count=1, flags=re.MULTILINE)
    for key in ("refresh_seconds", "poll_seconds"):
        text = re.sub(rf"^{key} = \d+$", f"{key} = 0", text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")
    return sim


def cli(*args: str, code: int = 0, show: bool = False) -> str:
    done = subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})  # the screens as wide as a terminal
    if done.returncode != code:
        raise SystemExit(f"kaigo-bridge {' '.join(args)}: exit {done.returncode}, expected {code}\n"
                         f"{done.stdout}{done.stderr}")
    if show:
        print(done.stdout, end="")
    return done.stdout + done.stderr


def fukuhon(bridge: Bridge, sim: SimProcess, wait: Wait) -> str:
    outcome = json.loads(cli("chukan", "refresh", "--all", "--by", CLERK, "--json"))
    ids = [t for transfers in outcome["transfers"].values() for t in transfers]

    def done() -> bool:
        with bridge.sessions() as s:
            return not s.scalar(select(func.count()).select_from(Transfer).where(
                Transfer.flow == FLOW, Transfer.id.in_(ids), Transfer.state.not_in((RECEIPTED, REJECTED))))

    wait(done, "副本 batches acknowledged by the 中間サーバー")
    with sim.control() as control:
        held = control.stats()["replicas"]
    counts = ", ".join(f"{op} {n:,}" for op, n in outcome["counts"].items() if n)
    return (f"{outcome['persons']:,} persons, 版 {outcome['version']}: {counts} in {len(ids)} batch(es); "
            f"the 中間サーバー holds {held:,} 副本; not built: {', '.join(outcome['not_built']) or 'none'}")


def income_query(bridge: Bridge, sim: SimProcess, facts: dict[str, Any], wait: Wait) -> str:
    with sim.control() as control:
        control.set_answer(bridge.config.chukan.queries["income"].tm, *INCOME)
    [row] = json.loads(cli("queries", "run", "income", "--by", CLERK, "--limit", "1", "--json"))
    facts["queried"] = row["atena_no"]

    def applied() -> bool:
        cli("queries", "poll", "--by", CLERK)
        with bridge.sessions() as s:
            return s.scalar(select(Shokai.state).where(Shokai.id == row["id"])) == APPLIED

    wait(applied, "the income result applied by the worker")
    cli("queries", "show", str(row["id"]), show=True)
    return (f"転入者 宛名番号 {row['atena_no']}: 地方税関係情報 asked of {row['kikan']} (permitted), result "
            f"kept encrypted and applied to the 賦課 input; deleted after the retention period")


def refused_query(facts: dict[str, Any], sim: SimProcess) -> str:
    with sim.control() as control:
        before = sum(control.stats()["requests"].values())
        tm, kikan = REFUSED
        out = cli("queries", "ask", "--atena", facts["queried"], "--tm", tm, "--kikan", kikan, "--by", CLERK,
                  code=1)
        after = sum(control.stats()["requests"].values())
    if after != before:
        raise SystemExit("a refused query reached the 中間サーバー")
    reason = next((line.strip() for line in out.splitlines() if "not permitted" in line or "refused" in line), "")
    return f"{tm} from {kikan}: refused before sending, recorded ({reason[:90]})"


def provision(bridge: Bridge, sim: SimProcess, facts: dict[str, Any]) -> str:
    with bridge.sessions() as s:
        togo = s.scalar(select(Shokai.togo_atena_no).where(Shokai.atena_no == facts["queried"]))
    assert togo is not None
    with sim.control() as control:
        request = control.hold_provision(togo, *PROVISION)
    cli("approvals", "fetch", "--by", CLERK)
    [held] = [h for h in json.loads(cli("approvals", "list", "--json")) if h["request"] == request.id]
    cli("approvals", "show", str(held["id"]), show=True)
    four_eyes = cli("approvals", "approve", str(held["id"]), "--by", CLERK, code=1)
    cli("approvals", "approve", str(held["id"]), "--by", SUPERVISOR, "--reason", "確認済")
    with sim.control() as control:
        answered = control.stats()["effects"].get("AnswerProvision", 0)
    cli("records", "person", facts["queried"], show=True)
    refusal = "refused" if "may not decide" in four_eyes else "?"
    return (f"提供依頼 {request.id} ({PROVISION[2]}, 自動応答不可) held; {CLERK} approving it {refusal} "
            f"(four eyes); approved by {SUPERVISOR} and answered ({answered} answer on the 中間サーバー)")
