"""Handing a transfer to a print vendor: OpenPGP file, signed manifest, SFTP upload.

The encrypted file and the signed manifest are made once, into the spool, and reused by every
retry: a resend is then byte-identical and the vendor recognises it. Upload order is the
contract's (data, manifest signature, manifest last), each under a temporary name, size
checked, then renamed; a manifest already on the server with the same bytes means an earlier
attempt got through, and nothing is sent twice. The (notice number, 宛名番号) pairs the file
carries are taken as it streams to gpg and stored with the hand-over, for checking 返戻 against
(adapters/vendor/returns.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from adapters.pgp import Gpg
from adapters.sftp import SftpClient
from adapters.sftp_connect import endpoint
from adapters.vendor import exchange
from adapters.vendor.returns import Carried
from mappings.layout import Layout
from mappings.registry import LayoutRegistry
from queues.custody import CustodyEvent
from queues.errors import PermanentError
from queues.handover_log import record
from queues.payloads import PayloadStore
from settings import PartnerConfig
from store.models import Handover, Transfer

SENT = "sent"
# gpg's deflate level for print data. The default (6) runs at ≈ 35 MB/s on vendor CSV, level 1 at
# ≈ 95 MB/s for ~15 % more bytes: print files are read once by the vendor, and the hand-over is on
# the print run's critical path, so speed wins (bench print_run.200k).
COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class Upload:
    file_name: str
    ciphertext_sha256: str
    ciphertext_size: int
    manifest_sha256: str
    already: bool  # an earlier attempt had got through
    carried: Carried | None = None  # the file's notices, when it was encrypted by this attempt


class VendorHandover:
    def __init__(self, gpg: Gpg, ward_fingerprint: str, payloads: PayloadStore, spool: Path, actor: str) -> None:
        self.gpg = gpg
        self.ward_fingerprint = ward_fingerprint
        self.payloads = payloads
        self.spool = spool
        self.actor = actor

    def upload(self, transfer: Transfer, partner: PartnerConfig) -> Upload:
        """Encrypt (once, into the spool) and upload; the slow part, run outside any transaction."""
        if partner.openpgp_fingerprint is None:
            raise PermanentError(f"partner {partner.name}: no OpenPGP key configured; nothing leaves unencrypted")
        data, manifest, signature, carried = self._spooled(transfer, partner)
        with SftpClient(endpoint(partner)) as client:
            remote_manifest = f"{exchange.INBOX}/{manifest.name}"
            already = client.exists(remote_manifest) and \
                client.read_bytes(remote_manifest, 1 << 20) == manifest.read_bytes()
            if not already:
                mode = partner.file_mode
                client.upload(data, f"{exchange.INBOX}/{data.name}", data.stat().st_size, mode=mode)
                client.upload(signature, f"{exchange.INBOX}/{signature.name}", signature.stat().st_size, mode=mode)
                client.upload(manifest, remote_manifest, manifest.stat().st_size, mode=mode)
        # The manifest already states the encrypted file's hash and size: no second read of the file.
        body = manifest.read_bytes()
        stated = json.loads(body)
        return Upload(data.name, stated["ciphertext_sha256"], stated["ciphertext_bytes"],
                      hashlib.sha256(body).hexdigest(), already, carried)

    def record_sent(self, session: Session, transfer: Transfer, partner: PartnerConfig, started_by: str,
                    upload: Upload) -> None:
        now = datetime.now(UTC)
        handover = session.get(Handover, transfer.id)
        if handover is None:
            handover = Handover(transfer_id=transfer.id, partner=partner.name, file_name=upload.file_name,
                                ciphertext_sha256=upload.ciphertext_sha256, ciphertext_size=upload.ciphertext_size,
                                manifest_sha256=upload.manifest_sha256, started_by=started_by, returns=0)
            session.add(handover)
            session.flush()
            carried = upload.carried
            if carried is None:  # spooled by an earlier attempt: read the stored payload once more
                carried = Carried(_layout(transfer))
                for _chunk in carried.tap(self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)):
                    pass
            carried.store(session, transfer.id)
        handover.sent_at = now
        transfer.state = SENT
        transfer.updated_at = now
        record(session, CustodyEvent(
            transfer_id=transfer.id, event=SENT, actor=self.actor, partner=partner.name,
            record_count=transfer.record_count, sha256=transfer.sha256, key_id=partner.openpgp_fingerprint,
            detail=f"sftp {partner.sftp.host if partner.sftp else ''} {exchange.INBOX}/{upload.file_name}, "
                   f"OpenPGP sha256 {upload.ciphertext_sha256}" + (" (already there)" if upload.already else ""),
            dedup_key=f"{transfer.id}:sent"))

    def _spooled(self, transfer: Transfer, partner: PartnerConfig) -> tuple[Path, Path, Path, Carried | None]:
        """The encrypted file, its manifest and the manifest's signature, made once; with the
        notices the file carries when it was made now."""
        self.spool.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = self.spool / exchange.data_name(transfer.id)
        manifest = self.spool / exchange.manifest_name(transfer.id)
        signature = manifest.with_name(manifest.name + ".asc")
        if manifest.exists() and signature.exists() and data.exists():
            return data, manifest, signature, None
        assert partner.openpgp_fingerprint is not None
        layout = _layout(transfer)
        carried = Carried(layout)
        plaintext = carried.tap(self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow))
        info = self.gpg.encrypt_sign_stream(plaintext, data, partner.openpgp_fingerprint, self.ward_fingerprint,
                                            compress_level=COMPRESS_LEVEL)
        if info.plaintext_sha256 != transfer.sha256:
            data.unlink()
            raise PermanentError(f"transfer {transfer.id}: the stored payload no longer has the hash recorded at "
                                 "extraction; nothing was sent")
        encoding = layout.encoding
        body = exchange.manifest(
            transfer_id=transfer.id, flow=transfer.flow, layout=transfer.layout or "",
            layout_version=transfer.layout_version or "", part_no=transfer.part_no or 1,
            part_count=transfer.part_count or 1, record_count=transfer.record_count or 0,
            plaintext_sha256=info.plaintext_sha256, plaintext_bytes=info.plaintext_size,
            ciphertext_sha256=info.sha256, ciphertext_bytes=info.size, ward_key_fingerprint=self.ward_fingerprint,
            encoding=encoding)
        _write_atomic(signature, self.gpg.sign_detached(body, self.ward_fingerprint).encode())
        _write_atomic(manifest, body)  # last: its presence means the spool entry is complete
        return data, manifest, signature, carried

    def purge(self, transfer_id: str) -> int:
        """Delete the spooled files of a closed hand-over; returns how many were removed."""
        removed = 0
        for name in (exchange.data_name(transfer_id), exchange.manifest_name(transfer_id)):
            for path in (self.spool / name, self.spool / f"{name}.asc"):
                if path.exists():
                    path.unlink()
                    removed += 1
        return removed


def _layout(transfer: Transfer) -> Layout:
    layout_partner, layout_name = (transfer.layout or "/").split("/", 1)
    return LayoutRegistry().get(layout_partner, layout_name, transfer.layout_version)


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    temp.replace(path)
