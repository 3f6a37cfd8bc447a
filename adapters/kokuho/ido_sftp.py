"""The 国保連 share over SFTP: a 5311 file put in place as it is (no OpenPGP — the 国保連 holds no
key of ours; the SSH transport encrypts it, and the host key is pinned).

The payload streams from the encrypted store straight into the upload (never in clear on local
disk), under a temporary name, checked for size and SHA-256 against the transfer, then renamed
(adapters/sftp.py). A file already there under the final name with the transfer's hash means an
earlier attempt got through: nothing is sent twice; the same name with other content is refused.

Wiring: adapters/delivery.py's DeliverHandler sends every SFTP partner through the print-vendor
hand-over (OpenPGP + manifest). A partner of kind ``kokuhoren`` on the sftp channel must go
through ``upload`` instead (``prepare``) and be recorded ``sent`` like a drop-folder delivery.
"""

from __future__ import annotations

import hashlib

from adapters.core.models import Transfer
from adapters.sftp import SftpClient, endpoint
from bridge.config import PartnerConfig
from queues.errors import PermanentError
from queues.payloads import PayloadStore

KIND = "kokuhoren"


def upload(transfer: Transfer, partner: PartnerConfig, payloads: PayloadStore, name: str) -> str:
    """Put ``transfer``'s file on the partner's share as ``name``; returns what was done (custody
    detail). Safe to call again after any failure."""
    with SftpClient(endpoint(partner)) as client:
        if client.exists(name):
            there = client.stat(name).size
            data = client.read_bytes(name, transfer.size + 1) if there == transfer.size else b""
            if there == transfer.size and hashlib.sha256(data).hexdigest() == transfer.sha256:
                return f"sftp {partner.sftp.host if partner.sftp else ''} {name} (already there)"
            raise PermanentError(f"sftp {partner.name}: {name} already exists with other content")
        client.upload(payloads.read(transfer.payload_ref, transfer.id, transfer.flow), name, transfer.size,
                      expected_sha256=transfer.sha256)
    return f"sftp {partner.sftp.host if partner.sftp else ''} {name}"
