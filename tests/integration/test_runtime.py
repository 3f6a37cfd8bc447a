"""The transfer runtime against a real RabbitMQ: outbox → confirmed publish → worker → inbox."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select, update

from adapters.core.journal import announce
from fixtures.activity import change_shikaku
from fixtures.population import load
from queues.publisher import PublishError
from store.models import Atena, ChangeJournal, Fuka, Inbox, Outbox, Transfer
from tests.harness import Home, wait_until


def journal_count(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ChangeJournal)) or 0)


def test_change_events_take_effect_once_with_custody(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=7, nendo=2026)
    events = change_shikaku(home.bridge.sessions, home.bridge.keyring, 1500, seed=3)
    home.start_worker()
    wait_until(lambda: journal_count(home) == 1500, 60, "1500 journal rows")
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 30, "empty queues")
    home.stop_all()

    with home.bridge.sessions() as s:
        applied = set(s.scalars(select(ChangeJournal.event_id)))
        assert applied == set(events)
        assert s.scalar(select(func.count()).select_from(Inbox)) == 1500
        assert set(s.scalars(select(Outbox.status))) == {"sent"}
    home.bridge.flush_custody()
    counts = home.bridge.custody.count_by_event()
    assert counts.get("applied") == 1500
    assert home.bridge.custody.verify().ok
    # A message id is a transfer id in custody; one chain per event, one 'applied' each.
    chain = home.bridge.custody.chain(events[0])
    assert [e.event for e in chain] == ["applied"]


def test_two_workers_share_the_work(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=1, nendo=2026)
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 6000, seed=5)
    home.start_worker("--routes", "core.changes")
    home.start_worker("--routes", "core.changes", "--no-relay")
    wait_until(lambda: journal_count(home) == 6000, 90, "6000 journal rows")
    home.stop_all()
    home.bridge.flush_custody()
    actors = {e.actor for e in _applied_entries(home)}
    assert len(actors) == 2, f"expected both workers to apply events, got actors {actors}"


def _applied_entries(home: Home) -> list:  # type: ignore[type-arg]
    with home.bridge.custody.engine.connect() as conn:
        from queues.custody.schema import entries

        rows = conn.execute(select(entries.c.actor).where(entries.c.event == "applied")).all()
    return rows


def test_unroutable_publish_raises_and_keeps_the_row_pending(home: Home) -> None:
    with home.bridge.sessions.begin() as s:
        event_id = announce(s, home.bridge.keyring, "shikaku", "0000000001", "changed", route="no.such.route")
    relay = home.bridge.relay()
    try:
        with pytest.raises(PublishError) as raised:
            relay.run_once()
    finally:
        relay.close()
    assert event_id in raised.value.failures
    assert "unroutable" in raised.value.failures[event_id]
    with home.bridge.sessions() as s:
        row = s.get(Outbox, event_id)
        assert row is not None
        assert row.status == "pending"
        assert row.attempts == 1
        assert "unroutable" in (row.last_error or "")


def test_print_flow_delivers_one_whole_file_with_custody_chain(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=1500, seed=11, nendo=2026)
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026")
    assert summary["transfers"] == 1 and summary["held"] == 0, summary
    transfer_id = summary["transfer_ids"][0]
    home.start_worker()
    drop = home.config.partners["vendor-a"].path
    wait_until(lambda: (drop / f"{transfer_id}.csv").exists(), 60, "the delivered file")
    home.stop_all()

    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None and transfer.state == "sent"
        data = (drop / f"{transfer_id}.csv").read_bytes()
        assert hashlib.sha256(data).hexdigest() == transfer.sha256
        assert data.count(b"\r\n") == transfer.record_count == summary["records"]
    assert sorted(p.name for p in drop.iterdir()) == [f"{transfer_id}.csv"]
    chain = home.cli_json("custody", "show", transfer_id)
    assert [e["event"] for e in chain] == ["extracted", "encrypted", "queued", "sent"]
    verify = home.cli("custody", "verify")
    assert "intact" in verify.stdout


def test_unmapped_character_holds_the_transfer_with_a_report(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=13, nendo=2026)
    with home.bridge.sessions.begin() as s:
        first, second = s.scalars(select(Fuka.atena_no).order_by(Fuka.id).limit(2)).all()
        s.execute(update(Atena).where(Atena.atena_no == first).values(name_kanji="𩸽野花子"))
        s.execute(update(Atena).where(Atena.atena_no == second).values(name_kanji="\u9ad9橋次郎"))
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026")
    assert summary["held"] == 1, summary
    report = home.cli_json("transfers", "chars", summary["transfer_ids"][0])
    unmapped = [r for r in report if r["replacement"] is None]
    assert [(r["field"], r["char"], r["codepoint"]) for r in unmapped] == [("name_kanji", "𩸽", "U+29E3D")]
    assert unmapped[0]["key"].endswith("0000001")  # the notice number of the first 賦課, never 個人番号
    assert {("name_kanji", "\u9ad9", "高")} <= {(r["field"], r["char"], r["replacement"]) for r in report}
    with home.bridge.sessions() as s:
        assert s.get(Transfer, summary["transfer_ids"][0]).state == "held"  # type: ignore[union-attr]
