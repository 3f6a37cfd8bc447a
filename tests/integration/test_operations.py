"""Operator-facing guarantees: custody verification through the CLI, two relays at once, key
rotation, and resuming an interrupted batch run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading

import pika
import pytest
from sqlalchemy import func, select

from fixtures.activity import change_shikaku
from fixtures.population import load
from queues.crypto import key_id_of
from store.models import Outbox, Transfer
from tests.harness import CLI, Home, wait_until


def custody_db(home: Home) -> sqlite3.Connection:
    return sqlite3.connect(home.config.custody_url.removeprefix("sqlite:///"))


def filled_log(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=61, nendo=2026)
    home.cli("run", "print.hokenryo", "--nendo", "2026")
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 40, seed=62)
    home.start_worker()
    wait_until(lambda: home.bridge.custody.count_by_event().get("sent") == 1, 60, "the file sent")
    wait_until(lambda: home.bridge.custody.count_by_event().get("applied") == 40, 60, "40 changes applied")
    home.stop_all()
    home.cli("custody", "checkpoint")
    assert "intact" in home.cli("custody", "verify").stdout


TAMPERING = {
    "edit": "UPDATE custody_entries SET record_count = record_count + 1 WHERE seq = 2",
    "delete": "DELETE FROM custody_entries WHERE seq = 5",
    "reorder": ("UPDATE custody_entries SET seq = CASE seq WHEN 3 THEN 4 WHEN 4 THEN 3 END "
                "WHERE seq IN (3, 4)"),
    "truncate": "DELETE FROM custody_entries WHERE seq > 30",
}
FIRST_BAD = {"edit": 2, "delete": 5, "reorder": 3, "truncate": 31}


@pytest.mark.parametrize("attack", sorted(TAMPERING))
def test_custody_verify_names_the_first_bad_entry(home: Home, attack: str) -> None:
    filled_log(home)
    with custody_db(home) as db:
        if attack == "reorder":  # seq is unique: move one row out of the way first
            db.execute("UPDATE custody_entries SET seq = -1 WHERE seq = 3")
            db.execute("UPDATE custody_entries SET seq = 3 WHERE seq = 4")
            db.execute("UPDATE custody_entries SET seq = 4 WHERE seq = -1")
        else:
            db.execute(TAMPERING[attack])
    result = home.cli("custody", "verify", "--json", check=False)
    assert result.returncode == 1, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_bad_seq"] == FIRST_BAD[attack], report


def test_two_relays_never_publish_an_event_twice(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=71, nendo=2026)
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 5000, seed=72)
    relays = [home.bridge.relay(), home.bridge.relay()]
    counts = [0, 0]

    def drain(i: int) -> None:
        counts[i] = relays[i].drain(limit=250)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for relay in relays:
        relay.close()
    assert sum(counts) == 5000 and min(counts) > 0, counts
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    try:
        depth = connection.channel().queue_declare("core.changes", passive=True).method.message_count
    finally:
        connection.close()
    assert depth == 5000
    with home.bridge.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "sent")) == 5000


def test_key_rotation_rewraps_and_nothing_becomes_unreadable(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=81, nendo=2026)
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026")  # queued in the broker
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 20, seed=82)  # pending in the outbox
    old_key = home.bridge.keyring.active_id
    stored = len(list(home.config.payloads_dir.rglob("*.kbp")))  # the print file, and its character report
    assert stored == 2
    out = " ".join(home.cli("keys", "rotate").stdout.split())
    assert f"re-wrapped {stored} payload(s) and 20 pending event(s)" in out
    home.reload()  # the rotation happened in another process
    new_key = home.bridge.keyring.active_id
    assert new_key != old_key
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, summary["transfer_ids"][0])
        assert transfer is not None
        bodies = list(s.scalars(select(Outbox.body).where(Outbox.status == "pending")))
    assert len(bodies) == 20 and {key_id_of(b) for b in bodies} == {new_key}
    assert home.bridge.payloads.key_id_of(transfer.payload_ref) == new_key
    home.start_worker()
    drop = home.config.partners["vendor-a"].path
    wait_until(lambda: (drop / f"{transfer.id}.csv").exists(), 60, "delivery after rotation")
    wait_until(lambda: home.bridge.custody.count_by_event().get("applied") == 20, 60, "20 changes applied")


def test_interrupted_batch_run_resumes_without_doubling(home: Home) -> None:
    home.edit_config("flows.toml", lambda t: t.replace("part_size = 50000", "part_size = 200"))
    load(home.bridge.sessions, home.bridge.mynumber, people=20_000, seed=91, nendo=2026)
    run = subprocess.Popen([*CLI, "run", "print.hokenryo", "--nendo", "2026", "--json"], env=home.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def parts() -> int:
        with home.bridge.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Transfer)) or 0)

    wait_until(lambda: parts() >= 2, 60, "some parts made", every=0.005)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    made_before = parts()
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026")
    with home.bridge.sessions() as s:
        part_count = s.scalar(select(Transfer.part_count).limit(1))
    assert made_before < part_count, "the run finished before the kill: nothing was tested"
    assert summary["resumed"] == made_before
    assert summary["transfers"] == len(set(summary["transfer_ids"])) == part_count
    refused = home.cli("run", "print.hokenryo", "--nendo", "2026", check=False)
    assert refused.returncode == 1 and "already run" in refused.stderr

    home.start_worker()
    drop = home.config.partners["vendor-a"].path
    wait_until(lambda: len(list(drop.glob("*.csv"))) == summary["transfers"], 120, "every part delivered")
    home.stop_all()
    notice_numbers = [line.split(b",", 1)[0] for f in drop.glob("*.csv") for line in f.read_bytes().splitlines()]
    with home.bridge.sessions() as s:
        expected = int(s.scalar(select(func.sum(Transfer.record_count))) or 0)
    assert len(notice_numbers) == len(set(notice_numbers)) == expected == summary["records"]
