"""The 5311 file of a kokuho.ido run put on a 国保連 share reached over SFTP (the real sshd, a
pinned host key): as it is, hash-checked, once; the same name with other content is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from adapters.core.models import ChangeJournal, FutanWariai, Nintei, Transfer
from adapters.delivery import file_name
from adapters.kokuho import ido_sftp
from fixtures.activity import set_futan_wariai
from fixtures.population import load
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from mappings import kokuho_frame
from mappings.records import ParsedRecord
from queues.errors import PermanentError
from tests.harness import Home, wait_until


def test_the_file_goes_to_the_share_once(home: Home, sshd: SshdServer,
                                         sftp_tree: Callable[[str], SftpTree]) -> None:
    tree = sftp_tree("default")
    home.edit_config("partners.toml", lambda t: t[:t.index("[partner.kokuho]")] + f"""[partner.kokuho]
kind = "kokuhoren"
name = "国保連 (synthetic SFTP share)"
channel = "sftp"
host = "127.0.0.1"
port = {tree.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
root = "/inbox"
""")
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=47, nendo=2026)
    with home.bridge.sessions() as s:
        keys = list(s.scalars(select(Nintei.hihokensha_no).where(Nintei.valid_to >= date(2027, 1, 1),
                              Nintei.hihokensha_no.in_(select(FutanWariai.hihokensha_no)))
                              .order_by(Nintei.hihokensha_no).limit(3)))
    home.start_worker("--routes", "core.changes")
    for key in keys:
        set_futan_wariai(home.bridge.sessions, home.bridge.keyring, key, 2, date(2027, 8, 1), date(2028, 7, 31))

    def journaled() -> bool:
        with home.bridge.sessions() as s:
            return s.scalar(select(func.count()).select_from(ChangeJournal)) == len(keys)

    wait_until(journaled, 60, "the changes journaled")
    home.stop_all()
    summary = home.cli_json("run", "kokuho.ido", "--month", "202611")
    assert summary["records"] == len(keys) == 3
    partner = home.config.partners["kokuho"]
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, summary["transfer_ids"][0])
        assert transfer is not None
    name = file_name(transfer)

    done = ido_sftp.upload(transfer, partner, home.bridge.payloads, name)
    assert done == f"sftp 127.0.0.1 {name}"
    data = (tree.inbox / name).read_bytes()
    parsed = [p for p in kokuho_frame.parse(data) if isinstance(p, ParsedRecord)]
    assert [p["hihokensha_no"] for p in parsed[1:]] == sorted(keys) and parsed[0]["record_count"] == 3
    assert [p.name for p in tree.inbox.iterdir()] == [name], "no temporary file left behind"
    # Again (a redelivered message): recognised, not sent twice.
    assert ido_sftp.upload(transfer, partner, home.bridge.payloads, name).endswith("(already there)")
    (tree.inbox / name).write_bytes(data.replace(b"202611", b"202610", 1))
    with pytest.raises(PermanentError, match="already exists with other content"):
        ido_sftp.upload(transfer, partner, home.bridge.payloads, name)
