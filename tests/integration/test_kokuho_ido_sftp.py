"""The 国保連 share reached over SFTP (the real sshd, a pinned host key, no OpenPGP key): a
kokuho.ido run delivered by a real worker puts the 5311 file as it is in the share's inbox/,
under its flows.toml name, once; a server that is down at first is retried, then delivered to."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from fixtures.activity import set_futan_wariai
from fixtures.population import load
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from mappings import kokuho_frame
from mappings.records import ParsedRecord
from settings.partners import with_partner
from store.models import ChangeJournal, FutanWariai, Nintei, Transfer
from tests.harness import Home, wait_until

NAME = "10_531131128202611_01.csv"  # flows.toml: 10_531 + 保険者番号 + 処理対象年月 + _ファイル管理番号


@pytest.fixture
def tree(home: Home, sshd: SshdServer, sftp_tree: Callable[[str], SftpTree]) -> SftpTree:
    """The kokuho partner on the sshd's default tree; its inbound flow reads outbox/."""
    made = sftp_tree("default")
    home.edit_config("partners.toml", lambda t: with_partner(t, "kokuho", f"""
[partner.kokuho]
kind = "kokuhoren"
name = "国保連 (synthetic SFTP share)"
channel = "sftp"
host = "127.0.0.1"
port = {made.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
"""))
    home.edit_config("flows.toml", lambda t: t.replace('folder = "in/kyufu"', 'folder = "outbox/kyufu"')
                     .replace('folder = "in/totsugo"', 'folder = "outbox/totsugo"'))
    home.edit_config("routes.toml", lambda t: t.replace("retry_delays = [5, 30, 120, 600, 1800]",
                                                         "retry_delays = [1, 2, 4, 8, 16]"))
    partner = home.config.partners["kokuho"]
    assert partner.sftp is not None and partner.openpgp_fingerprint is None
    return made


def changes(home: Home, seed: int, n: int = 3) -> list[str]:
    """``n`` people with a level into 2027 given a 二割負担 period, journaled by a worker."""
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=seed, nendo=2026)
    with home.bridge.sessions() as s:
        keys = list(s.scalars(select(Nintei.hihokensha_no).where(
            Nintei.yokaigo_kubun != "01", Nintei.valid_to >= date(2027, 1, 1),
            Nintei.hihokensha_no.in_(select(FutanWariai.hihokensha_no))).order_by(Nintei.hihokensha_no).limit(n)))
    home.start_worker("--routes", "core.changes")
    for key in keys:
        set_futan_wariai(home.bridge.sessions, home.bridge.keyring, key, 2, date(2027, 8, 1), date(2028, 7, 31))

    def journaled() -> bool:
        with home.bridge.sessions() as s:
            return s.scalar(select(func.count()).select_from(ChangeJournal)) == len(keys)

    wait_until(journaled, 60, "the changes journaled")
    home.stop_all()
    return keys


def chain(home: Home, transfer_id: str) -> list[dict[str, object]]:
    return list(home.cli_json("custody", "show", transfer_id))


def test_the_worker_puts_the_file_in_the_share_inbox_once(home: Home, tree: SftpTree) -> None:
    keys = changes(home, seed=47)
    summary = home.cli_json("run", "kokuho.ido", "--month", "202611")
    assert summary["records"] == 3
    tid = summary["transfer_ids"][0]
    home.start_worker("--routes", "kokuho.deliver")
    wait_until(lambda: home.transfer_state(tid) == "sent", 60, "the transfer sent")
    home.stop_all()
    assert sorted(p.name for p in tree.inbox.iterdir()) == [NAME], "the file alone: no temporary name, no manifest"
    assert list(tree.outbox.iterdir()) == [], "outbound never lands where inbound flows read"
    data = (tree.inbox / NAME).read_bytes()
    parsed = list(kokuho_frame.parse(data, file=NAME))
    assert all(isinstance(p, ParsedRecord) for p in parsed), parsed
    control, *rows = [p for p in parsed if isinstance(p, ParsedRecord)]
    assert (control["data_type"], control["shori_ym"], control["record_count"]) == ("531", "202611", 3)
    assert [r["hihokensha_no"] for r in rows] == sorted(keys)
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, tid)
        assert transfer is not None
        sha, size = transfer.sha256, transfer.size
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha, size), "put as it is: no OpenPGP"
    sent = [e for e in chain(home, tid) if e["event"] == "sent"]
    assert len(sent) == 1 and (sent[0]["records"], sent[0]["sha256"], sent[0]["partner"]) == (3, sha, "kokuho")
    assert sent[0]["detail"] == f"sftp 127.0.0.1 inbox/{NAME}"


def test_server_down_at_first_is_retried_and_delivered_once(home: Home, tree: SftpTree, sshd: SshdServer) -> None:
    changes(home, seed=53)
    sshd.stop()
    try:
        tid = home.cli_json("run", "kokuho.ido", "--month", "202611")["transfer_ids"][0]
        home.start_worker("--routes", "kokuho.deliver")
        wait_until(lambda: "retried" in [e["event"] for e in chain(home, tid)], 60, "a retry while the server is down")
    finally:
        sshd.start()
    wait_until(lambda: home.transfer_state(tid) == "sent", 90, "delivery once the server is back")
    home.stop_all()
    events = [e["event"] for e in chain(home, tid)]
    assert events.count("sent") == 1 and "dead" not in events
    assert sorted(p.name for p in tree.inbox.iterdir()) == [NAME]
    parsed = list(kokuho_frame.parse((tree.inbox / NAME).read_bytes()))
    assert all(isinstance(p, ParsedRecord) for p in parsed) and len(parsed) == 4
