"""`kaigo-bridge approvals …` and `records person` as an operator runs them, against the simulator
over TLS: fetch, four eyes, approve/reject (sent at once), send after a lost answer, masked
screens, and the person's records. Every screen and the wire are scanned for 個人番号 and values."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import settings as config_module
from bridge.app import Bridge
from bridge.cli import app
from fixtures.chukan.sim import ChukanSim, Pki
from fixtures.population import Person, generate, load
from queues.custody import CustodyLog
from store import schema
from store.mynumber import MyNumberCipher

REPO = Path(__file__).resolve().parents[2]
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
AUTO = ("2000000000000001", "JT00000000000101", "TM00000000000101")
FLAGGED = ("2000000000000017", "JT00000000001701", "TM00000000000102")
OFF_LIST = ("2000000000000099", "JT00000000000101", "TM00000000000101")
Cli = Callable[..., Result]


@pytest.fixture
def people() -> list[Person]:
    return list(generate(5, seed=21, nendo=2025))


@pytest.fixture
def cli(tmp_path: Path, chukan_sim: ChukanSim, chukan_pki: Pki, people: list[Person],
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """An installation whose chukan.toml points at the simulator; runs the real CLI in-process."""
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config", config_dir)
    toml = config_dir / "chukan.toml"
    text = toml.read_text(encoding="utf-8")
    for key, value in (("url", chukan_sim.url), ("ca_file", chukan_pki.ca_cert),
                       ("cert_file", chukan_pki.client_cert), ("key_file", chukan_pki.client_key)):
        text = re.sub(rf'^{key} = ".*"$', f'{key} = "{value}"', text, count=1, flags=re.MULTILINE)
    toml.write_text(text, encoding="utf-8")
    monkeypatch.setenv("KAIGO_CONFIG", str(config_dir))
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    config = config_module.load(config_dir)
    assert config.chukan.server.url == chukan_sim.url
    config.var.mkdir(parents=True, exist_ok=True)
    schema.upgrade(config.store_url)
    config.custody_signing_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    CustodyLog.create_signing_key(config.custody_signing_key)
    bridge = Bridge(config)
    bridge.custody.create_schema()
    load(bridge.sessions, CIPHER, len(people), seed=21, nendo=2025)
    bridge.sessions.kw["bind"].dispose()
    runner = CliRunner()
    outputs: list[str] = []

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
        outputs.append(result.output)
        assert result.exit_code == code, (args, result.exit_code, result.output, result.exception)
        return result

    yield run
    # Nothing any screen showed may carry a 個人番号 or an item value (the 被保険者番号 sent).
    screens = "\n".join(outputs)
    for p in people:
        assert p.kojin_bango not in screens and p.hihokensha_no not in screens
    wire = b"".join(e.request_head + e.request_body + e.response_body for e in chukan_sim.wire)
    assert all(p.kojin_bango.encode() not in wire for p in people)


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_fetch_four_eyes_approve_reject_and_records(cli: Cli, chukan_sim: ChukanSim, people: list[Person]) -> None:
    auto = chukan_sim.hold_provision(people[0].togo_atena_no, *AUTO)
    off = chukan_sim.hold_provision(people[0].togo_atena_no, *OFF_LIST)
    one = chukan_sim.hold_provision(people[0].togo_atena_no, *FLAGGED)
    two = chukan_sim.hold_provision(people[1].togo_atena_no, *FLAGGED)
    fetched = cli("approvals", "fetch", "--by", "op-a")
    assert "listed 4, new 4, held 2, answered 1, refused 1" in fetched.output
    assert (chukan_sim.provision(auto.id).state, chukan_sim.provision(off.id).state) == ("answered", "refused")

    held = as_json(cli("approvals", "list", "--json"))
    assert [(h["request"], h["state"], h["held_by"], h["atena_no"]) for h in held] == [
        (one.id, "held", "op-a", people[0].atena_no), (two.id, "held", "op-a", people[1].atena_no)]
    first, second = held[0]["id"], held[1]["id"]

    shown = as_json(cli("approvals", "show", str(first), "--json"))
    assert shown["request"] == one.id and shown["tm"] == FLAGGED[2] and "旧別表第2 第17項" in shown["basis"]
    # Labels from mappings/layouts/chukan/kaigo-fukuhon-v1.toml, data set 0300 (TM00000000000102).
    # Labels from mappings/layouts/chukan/kaigo-fukuhon-v1.toml, data set 0300 (TM00000000000102); the
    # store has no 給付実績 for anyone, so every item says why it has no value.
    assert [(i["no"], i["label"]) for i in shown["items"][:2]] == [
        ("1", "0300 給付 被保険者番号"), ("2", "0300 給付 サービス提供年月 (直近)")]
    assert {i["value"] for i in shown["items"]} <= {"未設定 (NotApplicable)", "未設定 (NotCovered)"}
    table = cli("approvals", "show", str(first)).output
    assert "NotApplicable" in table and "被保険者番号" in table and one.id in table

    refused = cli("approvals", "approve", str(first), "--by", "op-a", code=1)
    assert "op-a held this request and may not decide it" in refused.output
    cli("approvals", "reject", str(second), "--by", "op-b", code=2)  # --reason is required
    assert chukan_sim.provision(one.id).state == "held"

    approved = cli("approvals", "approve", str(first), "--by", "op-b", "--reason", "照会者確認済み")
    assert f"approval {first} ({one.id}) approved by op-b" in approved.output and "answered 1" in approved.output
    rejected = cli("approvals", "reject", str(second), "--by", "op-c", "--reason", "事務の範囲外")
    assert "refused 1" in rejected.output
    assert chukan_sim.provision(one.id).state == "answered"
    assert (chukan_sim.provision(two.id).state, chukan_sim.provision(two.id).reason) == ("refused", "01")
    assert as_json(cli("approvals", "list", "--json")) == []
    everything = as_json(cli("approvals", "list", "--all", "--json"))
    assert [(h["state"], h["decided_by"]) for h in everything] == [("answered", "op-b"), ("refused", "op-c")]
    cli("approvals", "approve", str(first), "--by", "op-c", code=1)  # decided once only

    records = as_json(cli("records", "person", people[0].atena_no, "--json"))
    got = [(r["direction"], r["outcome"], r["kikan"], r["by"], r["reference"]) for r in records]
    assert sorted(got) == sorted([
        ("提供", "answered", AUTO[0], "op-a", auto.id), ("提供", "refused", OFF_LIST[0], "op-a", off.id),
        ("提供", "held", FLAGGED[0], "op-a", one.id), ("提供", "approved", FLAGGED[0], "op-b", one.id),
        ("提供", "answered", FLAGGED[0], "op-b", one.id)])
    answered = next(r for r in records if r["reference"] == one.id and r["outcome"] == "answered")
    assert answered["kikan_name"] == "提供先09 (旧別表第2 第17項の情報照会者)"  # permissions.csv line 14
    assert answered["tm"] == "TM00000000000102 介護保険給付等関係情報(給付)"
    assert answered["tetsuzuki"] == "JT00000000001701 旧別表第2 第17項の事務手続"
    assert "番号法第19条第8号" in answered["basis"]
    off_record = next(r for r in records if r["reference"] == off.id)
    assert off_record["basis"] is None and "2000000000000099" in off_record["reason"]
    table = cli("records", "person", people[0].atena_no).output
    assert "提供先09" in table and "held" in table
    assert as_json(cli("records", "person", people[1].atena_no, "--json"))[-1]["outcome"] == "refused"


def test_send_resends_an_approved_answer_lost_on_the_way(cli: Cli, chukan_sim: ChukanSim,
                                                         people: list[Person]) -> None:
    one = chukan_sim.hold_provision(people[2].togo_atena_no, *FLAGGED)
    cli("approvals", "fetch", "--by", "op-a")
    approval_id = as_json(cli("approvals", "list", "--json"))[0]["id"]
    chukan_sim.misbehave("AnswerProvision", "drop_after", times=3)  # every attempt: applied, no answer
    lost = cli("approvals", "approve", str(approval_id), "--by", "op-b", code=1)
    assert "not sent (will be resent by `approvals send`)" in lost.output
    assert as_json(cli("approvals", "list", "--json"))[0]["state"] == "approved"
    sent = cli("approvals", "send", "--by", "op-b")
    assert "answered 1" in sent.output
    assert chukan_sim.effects["AnswerProvision"] == 1 and chukan_sim.provision(one.id).state == "answered"
    assert as_json(cli("approvals", "list", "--all", "--json"))[0]["state"] == "answered"


def test_bad_operator_and_unknown_approval_are_refused(cli: Cli) -> None:
    assert "an operator id is 1-20" in cli("approvals", "fetch", "--by", "op a", code=2).output
    assert "no such approval" in cli("approvals", "show", "99", code=1).output
    assert "no such approval" in cli("approvals", "approve", "99", "--by", "op-b", code=1).output
    assert as_json(cli("records", "person", "000000000000000", "--json")) == []


def test_answers_are_what_the_fukuhon_builder_makes(cli: Cli, chukan_sim: ChukanSim,
                                                    people: list[Person]) -> None:
    """The CLI answers with adapters.chukan.fukuhon.answer_items: what was answered is what that builds
    from the store; the held one's screen shows its item numbers and labels, values masked."""
    auto = chukan_sim.hold_provision(people[3].togo_atena_no, *AUTO)
    flagged = chukan_sim.hold_provision(people[3].togo_atena_no, *FLAGGED)
    assert "answered 1" in cli("approvals", "fetch", "--by", "op-a").output
    answered = chukan_sim.provision(auto.id)
    assert answered.state == "answered"
    # 0101 item 1 is the 被保険者番号 (mappings/layouts/chukan/kaigo-fukuhon-v1.toml).
    assert next(i.value for i in answered.items if i.no == "1") == people[3].hihokensha_no
    approval_id = as_json(cli("approvals", "list", "--json"))[0]["id"]
    shown = as_json(cli("approvals", "show", str(approval_id), "--json"))
    assert shown["request"] == flagged.id and shown["items"]
    assert {i["value"] for i in shown["items"]} <= {"(値あり)"} | {f"未設定 ({r})" for r in (
        "NotAcceptable", "NotCovered", "NotApplicable", "NotYetDetermined")}
    assert next(i for i in shown["items"] if i["no"] == "1")["label"] == "0300 給付 被保険者番号"
    cli("approvals", "approve", str(approval_id), "--by", "op-b")
    assert chukan_sim.provision(flagged.id).state == "answered"


def test_fetch_when_the_service_is_down_says_so(cli: Cli, chukan_sim: ChukanSim, people: list[Person]) -> None:
    chukan_sim.hold_provision(people[0].togo_atena_no, *AUTO)
    chukan_sim.misbehave("ListProvisionRequests", "http503", times=3)
    down = cli("approvals", "fetch", "--by", "op-a", code=3)  # a service unreachable (README: exit codes)
    assert "ListProvisionRequests: unavailable after 3 attempt(s)" in down.output
    assert "answered 1" in cli("approvals", "fetch", "--by", "op-a").output
