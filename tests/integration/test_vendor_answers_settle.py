"""A refused answer waits for an operator until it is made good: `status` asks for it (要対応),
and a refusal no later answer can make good (a stray file name, a transfer we never sent) is
closed by hand with `vendors settle`, who and why recorded beside it and in custody."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from queues.custody.schema import entries
from tests.harness import Home
from tests.integration.test_vendor_answers_states import Vendor, poll
from tests.integration.test_vendor_handover import (  # noqa: F401 (fixtures)
    sent_transfer,
    sftp_home,
    tree,
    vendor_home,
)

LINE = "委託先の回答を拒否"


def waiting(home: Home) -> list[tuple[str, str]]:
    """The 要対応 lines of `status` about vendors' answers."""
    result = home.cli("status", "--json", check=False)
    assert "Traceback" not in result.stderr, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return [(p["level"], p["what"]) for p in report["problems"] if LINE in p["what"]]


def settled_events(home: Home) -> list[tuple[str | None, str]]:
    home.bridge.flush_custody()
    with home.bridge.custody.engine.connect() as conn:
        rows = conn.execute(select(entries.c.actor, entries.c.detail, entries.c.transfer_id)
                            .where(entries.c.event == "answer_settled")).all()
    return [(r.transfer_id, f"{r.actor}: {r.detail}") for r in rows]


def test_a_refusal_nothing_can_make_good_is_asked_for_by_status_until_an_operator_settles_it(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    (tree.outbox / "hello.txt").write_bytes(b"not an answer")
    vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))
    code, polled, _ = poll(home)
    assert code == 1 and polled["unknown"] == ["hello.txt"] and polled["applied"] == {"receipt": 1}, polled
    assert waiting(home) == [("要対応", "委託先の回答を拒否 1 件 (未解決)")]

    answers = home.cli_json("vendors", "answers", "--refused")
    assert [(a["name"], a["rule"]) for a in answers] == [("hello.txt", "name")]
    stray = answers[0]["id"]
    taken = [a["id"] for a in home.cli_json("vendors", "answers") if a["outcome"] == "accepted"]
    assert len(taken) == 1

    for args, cause in [((str(taken[0]),), "was taken, not refused"), (("99999",), "no vendor answer 99999"),
                        ((str(stray), "--note", "  "), "say why")]:
        note = () if "--note" in args else ("--note", "x")
        refused = home.cli("vendors", "settle", *args, *note, "--by", "suzuki", check=False)
        assert refused.returncode == 1 and cause in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert waiting(home) == [("要対応", "委託先の回答を拒否 1 件 (未解決)")]
    assert settled_events(home) == []

    done = home.cli("vendors", "settle", str(stray), "--by", "suzuki", "--note", "業者に電話で確認、誤配置のファイル")
    assert "解決済み" in done.stdout
    assert waiting(home) == []
    assert home.cli_json("vendors", "answers", "--refused") == []
    row = next(a for a in home.cli_json("vendors", "answers") if a["id"] == stray)
    assert (row["resolved_by"], row["resolution"]) == ("suzuki", "業者に電話で確認、誤配置のファイル")
    assert settled_events(home) == [
        (None, "operator:suzuki: refusal of answer hello.txt (name) settled: 業者に電話で確認、誤配置のファイル")]

    again = home.cli("vendors", "settle", str(stray), "--by", "tanaka", "--note", "x", check=False)
    assert again.returncode == 1 and "already closed (settled by suzuki)" in again.stderr, again.stderr
    assert len(settled_events(home)) == 1


def test_settling_a_refusal_of_a_handover_clears_its_problem_but_not_another_open_one(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    early = vendor.deletion(transfer_id)
    vendor.put(f"{transfer_id}.deletion.json", early)  # before the receipt: refused for its turn
    code, _polled, _ = poll(home)
    assert code == 1
    vendor.put(f"{transfer_id}.receipt.json", b"{not json")  # refused: format
    code, _polled, _ = poll(home)
    assert code == 1
    assert waiting(home) == [("要対応", "委託先の回答を拒否 2 件 (未解決)")]
    refused = {a["kind"]: a["id"] for a in home.cli_json("vendors", "answers", "--refused")}
    assert set(refused) == {"deletion", "receipt"}
    assert home.cli_json("handovers")[0]["problem"].startswith("receipt refused (format)")

    home.cli("vendors", "settle", str(refused["receipt"]), "--by", "suzuki", "--note", "業者が正しい受領証を再送予定")
    assert home.cli_json("handovers")[0]["problem"].startswith("deletion refused (state)")  # the other, still open
    assert waiting(home) == [("要対応", "委託先の回答を拒否 1 件 (未解決)")]
    assert [t for t, _ in settled_events(home)] == [transfer_id]
