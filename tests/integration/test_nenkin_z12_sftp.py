"""The 経由機関 share reached over SFTP (the real sshd, a pinned host key, no OpenPGP key): the
Z12 files of a nenkin.z12 run, delivered by a real worker, land as they are in the share's
inbox/ under their flows.toml names, one per 特別徴収義務者, and the 経由機関 reads them."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import pytest

from fixtures.nenkin import z12
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from settings.partners import with_partner
from tests.harness import Home, wait_until
from tests.integration.test_nenkin_z12 import NENDO, announce, expected, got, sent


@pytest.fixture
def tree(home: Home, sshd: SshdServer, sftp_tree: Callable[[str], SftpTree]) -> SftpTree:
    made = sftp_tree("default")
    home.edit_config("partners.toml", lambda t: with_partner(t, "keiyu", f"""
[partner.keiyu]
kind = "keiyu-kikan"
name = "経由機関 (synthetic SFTP share)"
channel = "sftp"
host = "127.0.0.1"
port = {made.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
"""))
    home.edit_config("flows.toml", lambda t: t.replace('folder = "in/z1', 'folder = "outbox/z1'))
    partner = home.config.partners["keiyu"]
    assert partner.sftp is not None and partner.openpgp_fingerprint is None
    return made


def test_the_worker_puts_each_z12_in_the_share_inbox(home: Home, tree: SftpTree) -> None:
    people = announce(home)
    want = expected(home, people)
    summary = home.cli_json("run", "nenkin.z12", "--nendo", str(NENDO))
    home.start_worker("--routes", "nenkin.deliver")
    for tid in summary["transfer_ids"]:
        wait_until(functools.partial(sent, home, tid), 60, "the transfer sent")
    home.stop_all()
    names = {f"Z12{g}01.DTA": g for g in want}
    assert sorted(p.name for p in tree.inbox.iterdir()) == sorted(names), "the files alone, no temporary names"
    assert list(tree.outbox.iterdir()) == [], "outbound never lands where inbound flows read"
    for (name, gimusha), tid in zip(sorted(names.items()), summary["transfer_ids"], strict=True):
        data = (tree.inbox / name).read_bytes()
        assert got(z12.read(data, name)) == want[gimusha]
        chain = home.cli_json("custody", "show", tid)
        sent_entry = [e for e in chain if e["event"] == "sent"]
        assert len(sent_entry) == 1 and sent_entry[0]["sha256"] == hashlib.sha256(data).hexdigest()
        assert sent_entry[0]["detail"] == f"sftp 127.0.0.1 inbox/{name}"
