"""`kaigo-bridge queries run|poll|list|show|ask` and `retention run` as an operator runs them: the real
CLI in its own process, a whole installation (tests/harness.py), the TLS simulator as the
中間サーバー, real RabbitMQ and `kaigo-bridge worker` processes applying the results (one killed
before the poll: the results wait on chukan.shokai for the next). Every screen is scanned for
個人番号 and result values."""

from __future__ import annotations

import json
import re
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import pytest
from sqlalchemy import func, select, update

from fixtures import population
from fixtures.chukan.sim import ChukanSim, Pki
from queues import topology
from store.models import Shokai, Shotoku
from tests.harness import Home, wait_until, wire_chukan

PEOPLE, SEED, NENDO = 80, 63, 2026
TM_NENKIN = "TM00000000000202"


@pytest.fixture
def ward(home: Home, chukan_sim: ChukanSim, chukan_pki: Pki) -> Home:
    """The installation wired to the simulator; the worker's own 中間サーバー schedule off (this test
    runs the commands)."""
    wire_chukan(home, chukan_sim.url, chukan_pki, ("poll_seconds = 60", "poll_seconds = 0"),
                ("retention_hours = 24", "retention_hours = 0"))
    population.load(home.bridge.sessions, home.bridge.mynumber, PEOPLE, seed=SEED, nendo=NENDO)
    return home


def test_an_operator_runs_polls_lists_shows_asks_and_purges(ward: Home, chukan_sim: ChukanSim) -> None:
    people = list(population.generate(PEOPLE, SEED, NENDO))
    movers = [p for p in people if p.hihokensha_kubun == "1" and p.shutoku_jiyu == "01"]
    screens: list[str] = []

    def cli(*args: str, code: int = 0) -> str:
        result = ward.cli(*args, check=False)
        screens.append(result.stdout + result.stderr)
        assert result.returncode == code, result.stdout + result.stderr
        return result.stdout

    def cli_json(*args: str) -> Any:
        return json.loads(cli(*args, "--json"))

    cli("queries", "run", "income", "--by", "op1", "--nendo", str(NENDO))
    assert chukan_sim.effects["SubmitQuery"] == len(movers)
    # a worker that dies (SIGKILL) before the results come: nothing is lost, the next one applies them
    crashed = ward.start_worker("--routes", "chukan.shokai")
    wait_until(lambda: "worker consuming chukan.shokai" in ward.worker_logs(), 60, "the first worker consuming")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=30)
    assert cli_json("queries", "poll", "--by", "op2") == {
        "sent": 0, "waiting": 0, "received": len(movers), "failed": 0, "unreachable": 0, "published": len(movers)}
    assert waiting(ward) == len(movers) and applied(ward) == 0
    assert {r["state"] for r in cli_json("queries", "list")} == {"completed"}
    ward.start_worker("--routes", "chukan.shokai")
    wait_until(lambda: applied(ward) == len(movers), 90, "every result applied by the second worker")
    assert waiting(ward) == 0
    assert cli_json("queries", "poll", "--by", "op2")["received"] == 0  # fetched once
    listed = cli_json("queries", "list")
    assert sorted(r["atena_no"] for r in listed) == sorted(p.atena_no for p in movers)
    assert {r["state"] for r in listed} == {"applied"}
    cli("queries", "list")
    first = listed[0]["id"]
    shown = cli_json("queries", "show", str(first))
    assert re.fullmatch(r"1:●●●, 2:●●●, 3:(●●●|NotCovered)", shown["result_items"])
    assert shown["shotoku"] == f"年度 {NENDO} (values masked)" and shown["basis"].startswith("番号法第19条第8号")
    cli("queries", "show", str(first))

    # one refused query: 年金 asked of a municipality, for the 賦課 事務 — refused, recorded, never sent
    wire_before = len(chukan_sim.wire)
    refused = cli("queries", "ask", "--atena", movers[0].atena_no, "--tm", TM_NENKIN, "--kikan",
                  str(movers[0].zenjusho_kikan_code), "--by", "op1", code=1)
    assert "refused" in refused and len(chukan_sim.wire) == wire_before
    assert [r["state"] for r in cli_json("queries", "list", "--state", "refused")] == ["refused"]

    # retention: nothing is due yet; once the results are 31 days old, they go
    assert cli_json("retention", "run", "--by", "op9", "--dry-run")["query_results"] == 0
    with ward.bridge.sessions.begin() as s:
        s.execute(update(Shokai).where(Shokai.result_at.is_not(None))
                  .values(result_at=datetime.now(UTC) - timedelta(days=31)))
    purged = cli_json("retention", "run", "--by", "op9")
    assert (purged["query_results"], purged["payloads_deleted"], purged["problems"]) == (len(movers), len(movers), "")
    assert cli_json("retention", "run", "--by", "op9")["query_results"] == 0
    assert cli_json("queries", "show", str(first))["result_items"] == "(deleted)"
    cli("retention", "run", "--by", "op9")

    with ward.bridge.sessions() as s:
        amounts = {str(v) for row in s.scalars(select(Shotoku))
                   for v in (row.gokei_shotoku, row.nenkin_shunyu) if v is not None and abs(v) >= 1000}
    assert amounts
    text = "\n".join(screens)
    assert not [p.kojin_bango for p in people if p.kojin_bango in text]
    assert not [a for a in amounts if re.search(rf"(?<![0-9]){a}(?![0-9])", text)]


def applied(home: Home) -> int:
    with home.bridge.read_sessions() as s:
        return s.scalar(select(func.count()).select_from(Shotoku)) or 0


def waiting(home: Home) -> int:
    """Messages ready on chukan.shokai (the broker's own count)."""
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    try:
        return connection.channel().queue_declare(topology.work_queue("chukan.shokai"),
                                                  passive=True).method.message_count
    finally:
        connection.close()
