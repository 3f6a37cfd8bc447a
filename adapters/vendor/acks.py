"""Acknowledgements to a print vendor (the MDN of adapters/vendor/HANDOVER.md).

For every answer judged, ``<answer name>.ack.json`` and its detached ward signature
``<answer name>.ack.json.asc`` go into the vendor's ``inbox/``, the signature first, so a vendor
that sees the ``.ack.json`` finds its signature already there. The bytes are canonical JSON
(UTF-8, keys sorted, no spaces, no trailing newline): made and signed once, inside the store
transaction of the judgement, and stored with it, so a poll that crashed before writing them
writes the same bytes again, never a second acknowledgement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.pgp import Gpg
from adapters.sftp import SftpClient
from adapters.vendor import exchange
from queues.partner_names import shown

SUFFIX = ".ack.json"
# A vendor's file name longer than this cannot carry an acknowledgement beside it (the server's
# name limit with the suffix): recorded and left, but not answered.
MAX_NAME = 200


@dataclass(frozen=True)
class Judgement:
    answer: str  # the file name in the vendor's outbox/, as read
    answer_sha256: str | None  # of the bytes read; None when left unread (too large, unreadable)
    transfer_id: str | None
    kind: str | None  # receipt, returns, deletion, rejected; None when the name is no answer's
    outcome: str  # accepted / refused
    duplicate: bool
    rule: str | None
    reason: str | None
    resend: bool
    handover_state: str | None


def body(j: Judgement, ward_fingerprint: str, at: datetime | None = None) -> bytes:
    """The acknowledgement's canonical bytes."""
    doc = {
        "answer": j.answer, "answer_sha256": j.answer_sha256, "transfer_id": j.transfer_id, "kind": j.kind,
        "outcome": j.outcome, "duplicate": j.duplicate, "rule": j.rule, "reason": j.reason, "resend": j.resend,
        "handover_state": j.handover_state,
        "acknowledged_at": (at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "ward_key_fingerprint": ward_fingerprint,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def can_answer(name: str) -> bool:
    """A name to write beside: short enough, no path, not hidden, and one shown as it is (a name
    that looks like it holds a 個人番号 is never written back)."""
    return len(name) <= MAX_NAME and "/" not in name and not name.startswith(".") and shown(name) == name


def make(gpg: Gpg, ward_fingerprint: str, j: Judgement) -> tuple[str, str] | None:
    """(JSON text, armoured signature), or None for a name no acknowledgement can sit beside."""
    if not can_answer(j.answer):
        return None
    data = body(j, ward_fingerprint)
    return data.decode("utf-8"), gpg.sign_detached(data, ward_fingerprint)


def write(client: SftpClient, answer: str, ack: str, signature: str, mode: int | None) -> None:
    """Into the vendor's inbox/: the signature, then the acknowledgement (replacing an earlier
    write of the same bytes by a poll that crashed before it was recorded as done)."""
    data, sig = ack.encode("utf-8"), signature.encode("ascii")
    target = f"{exchange.INBOX}/{answer}{SUFFIX}"
    client.upload([sig], f"{target}.asc", len(sig), mode=mode)
    client.upload([data], target, len(data), mode=mode)
