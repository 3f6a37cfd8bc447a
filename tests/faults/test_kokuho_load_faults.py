"""The 給付実績 loader under failure: the worker killed, or the broker restarted, while a large
file is being judged and applied. Every 給付実績 is stored exactly once, the transfer is applied
once, the custody log has one ``applied`` entry for it and stays intact."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3

from sqlalchemy import func, select

from fixtures.kokuho import kyufu
from store.models import KyufuJisseki, KyufuMeisai, KyufuShukei
from tests.harness import Home, wait_until
from tests.integration.test_kokuho_kyufu import WARD, settled, setup

SHORI = "202611"
CLAIMS = 40_000  # 120,000 records: a file the loader needs several seconds for


def big_file(home: Home) -> tuple[str, int]:
    """Received (not loaded yet) and its number of 給付実績."""
    folder, _ = setup(home, people=400, seed=71)
    with home.bridge.sessions() as s:
        cared = kyufu.people_in_care(s, "202610")
    claims = kyufu.claims(cared, "202610", seed=71, per_person=-(-CLAIMS // len(cared)), lines=1)
    written = kyufu.write(folder / "KYUFU_BIG", itertools.islice(claims, CLAIMS), hokensha_no=WARD,
                          shori_ym=SHORI)
    (folder / "KYUFU_BIG.end").write_bytes(b"")
    taken = home.cli_json("receive", "kokuho.kyufu")
    assert [t["new"] for t in taken] == [True]
    return str(taken[0]["transfer"]), written.claims


def counts(home: Home) -> tuple[int, int, int]:
    with home.bridge.sessions() as s:
        return (int(s.scalar(select(func.count()).select_from(KyufuJisseki)) or 0),
                int(s.scalar(select(func.count()).select_from(KyufuMeisai)) or 0),
                int(s.scalar(select(func.count()).select_from(KyufuShukei)) or 0))


def assert_applied_once(home: Home, transfer_id: str, claims: int) -> None:
    assert settled(home, transfer_id) == "applied", home.worker_logs()
    assert counts(home) == (claims, claims, claims)  # one D1 and one T1 per 給付実績
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 60, "every queue empty")
    home.stop_all()
    events = [e["event"] for e in home.cli_json("custody", "show", transfer_id)]
    assert events.count("applied") == 1, events
    assert home.bridge.custody.verify().ok


def writing(home: Home) -> bool:
    """The loader holds the store's write lock (it is applying): another writer cannot begin."""
    path = home.bridge.config.store_url.removeprefix("sqlite:///")
    db = sqlite3.connect(path, timeout=0)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        db.close()


def test_worker_killed_while_loading(home: Home) -> None:
    transfer_id, claims = big_file(home)
    worker = home.start_worker("--routes", "kokuho.load")
    wait_until(lambda: writing(home), 60, "the loader applying the file")
    assert home.transfer_state(transfer_id) == "received", "loaded before the kill: nothing was tested"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert counts(home) == (0, 0, 0)  # the transaction died with it
    home.start_worker("--routes", "kokuho.load")
    assert_applied_once(home, transfer_id, claims)


def test_broker_restarted_while_loading(home: Home) -> None:
    transfer_id, claims = big_file(home)
    home.start_worker("--routes", "kokuho.load")
    wait_until(lambda: writing(home), 60, "the loader applying the file")
    assert home.transfer_state(transfer_id) == "received", "loaded before the restart: nothing was tested"
    home.rabbit.restart()
    assert_applied_once(home, transfer_id, claims)
