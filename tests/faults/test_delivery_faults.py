"""Delivery faults: a target that stays broken (dead letter, replay), one that comes back
(retry with backoff), and an operator's view of both."""

from __future__ import annotations

import hashlib
import shutil
import time

from sqlalchemy import select

from fixtures.population import load
from store.models import Transfer
from tests.harness import Home, wait_until


def short_retries(home: Home, delays: str) -> None:
    home.edit_config("routes.toml", lambda text: text.replace("retry_delays = [2, 10, 60, 300, 900]",
                                                               f"retry_delays = {delays}"))


def route_status(home: Home, route: str) -> dict[str, int]:
    return next(r for r in home.cli_json("status")["routes"] if r["route"] == route)


def one_transfer(home: Home) -> str:
    load(home.bridge.sessions, home.bridge.mynumber, people=400, seed=51, nendo=2026)
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026")
    assert summary["transfers"] == 1 and summary["held"] == 0, summary
    return str(summary["transfer_ids"][0])


def test_poison_goes_dead_after_its_budget_and_replay_delivers_once_fixed(home: Home) -> None:
    short_retries(home, "[1, 1]")
    transfer_id = one_transfer(home)
    drop = home.config.partners["vendor-a"].path
    shutil.rmtree(drop)
    drop.write_text("not a folder")  # the cause: the drop target is broken

    home.start_worker()
    wait_until(lambda: route_status(home, "print.deliver")["dead"] == 1, 60, "the message in print.deliver.dead")
    dead = home.cli_json("dead", "list", "print.deliver")
    assert len(dead) == 1
    assert dead[0]["attempts"] == 3  # first try + one per retry delay
    assert "not available" in dead[0]["reason"]
    assert dead[0]["transfer"] == transfer_id
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "queued"  # type: ignore[union-attr]

    drop.unlink()  # the cause fixed
    drop.mkdir()
    out = home.cli("dead", "replay", "print.deliver", "--by", "operator-7").stdout
    assert "replayed 1" in out
    wait_until(lambda: (drop / f"{transfer_id}.csv").exists(), 60, "the delivered file")
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 30, "every queue empty")
    home.stop_all()

    chain = home.cli_json("custody", "show", transfer_id)
    events = [e["event"] for e in chain]
    assert events == ["extracted", "encrypted", "queued", "retried", "retried", "dead", "replayed", "sent"]
    assert chain[events.index("replayed")]["actor"] == "operator:operator-7"


def test_target_unavailable_for_a_while_is_retried_not_dead(home: Home) -> None:
    short_retries(home, "[1, 2, 4, 8, 16]")
    transfer_id = one_transfer(home)
    drop = home.config.partners["vendor-a"].path
    shutil.rmtree(drop)

    home.start_worker()
    wait_until(lambda: route_status(home, "print.deliver")["retrying"] == 1, 30, "the message waiting to retry")
    time.sleep(3)
    drop.mkdir()
    wait_until(lambda: (drop / f"{transfer_id}.csv").exists(), 60, "the delivered file")
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 30, "every queue empty")
    home.stop_all()

    with home.bridge.sessions() as s:
        transfer = s.scalars(select(Transfer)).one()
    assert transfer.state == "sent"
    assert hashlib.sha256((drop / f"{transfer_id}.csv").read_bytes()).hexdigest() == transfer.sha256
    events = [e["event"] for e in home.cli_json("custody", "show", transfer_id)]
    assert "dead" not in events
    assert events[-1] == "sent" and events.count("retried") >= 2


def test_dead_drop_removes_only_the_named_message_and_records_who(home: Home) -> None:
    short_retries(home, "[1]")
    transfer_id = one_transfer(home)
    drop = home.config.partners["vendor-a"].path
    shutil.rmtree(drop)
    drop.write_text("broken")
    home.start_worker()
    wait_until(lambda: route_status(home, "print.deliver")["dead"] == 1, 60, "the dead message")
    message_id = home.cli_json("dead", "list", "print.deliver")[0]["id"]

    home.cli("dead", "drop", "print.deliver", "--by", "operator-2", "--id", "no-such-id", "--reason", "typo")
    assert [d["id"] for d in home.cli_json("dead", "list", "print.deliver")] == [message_id]
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "queued"
    home.cli("dead", "drop", "print.deliver", "--by", "operator-2", "--id", message_id,
             "--reason", "re-issued by hand")
    assert home.cli_json("dead", "list", "print.deliver") == []
    chain = home.cli_json("custody", "show", transfer_id)
    assert chain[-1]["event"] == "dropped" and chain[-1]["actor"] == "operator:operator-2"
    with home.bridge.sessions() as s:  # nothing will move it any more: not left "queued" for ever
        transfer = s.get(Transfer, transfer_id)
        assert transfer.state == "dropped" and "operator-2" in (transfer.last_error or "")
