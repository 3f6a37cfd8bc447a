"""The message as it travels: a small, encrypted body and a few non-personal headers.

Bodies are sealed (AES-GCM envelope) with associated data binding them to the message id and
route, so a body moved under another id or route fails to open. Headers carry only ids, kinds
and counters: never personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pika
import uuid6

from queues.crypto import Keyring, seal, unseal

KIND = "x-kaigo-kind"
TRANSFER = "x-kaigo-transfer"
ATTEMPT = "x-kaigo-attempt"
REASON = "x-kaigo-reason"


def new_id() -> str:
    """A new message, transfer or custody id: a UUID of version 7 (RFC 9562), its first 48 bits
    the time in milliseconds and 74 random bits after. Ids made one after another sort together,
    so the store's indexes on them (outbox, inbox, change journal, custody) grow at their end;
    with random (version 4) ids every insert touched another page of every index, and each
    commit of a batch rewrote and checkpointed a large part of them."""
    return str(uuid6.uuid7())


@dataclass(frozen=True)
class Message:
    id: str
    route: str
    kind: str
    body: bytes
    attempt: int = 0
    reason: str | None = None
    transfer_id: str | None = None  # None: the event is its own transfer

    @property
    def transfer(self) -> str:
        """The transfer this message moves: custody entries about the message go on its chain."""
        return self.transfer_id or self.id

    def properties(self) -> pika.BasicProperties:
        headers: dict[str, Any] = {KIND: self.kind, ATTEMPT: self.attempt, TRANSFER: self.transfer}
        if self.reason:
            headers[REASON] = self.reason
        return pika.BasicProperties(message_id=self.id, delivery_mode=2,
                                    content_type="application/octet-stream", headers=headers)

    def retried(self, reason: str) -> Message:
        return replace(self, attempt=self.attempt + 1, reason=reason)

    @classmethod
    def from_delivery(cls, route: str, props: pika.BasicProperties, body: bytes) -> Message:
        headers = props.headers or {}
        message_id = str(props.message_id or "")
        transfer = _text(headers.get(TRANSFER))
        return cls(id=message_id, route=route, kind=str(headers.get(KIND, "")), body=body,
                   attempt=int(headers.get(ATTEMPT, 0)), reason=_text(headers.get(REASON)),
                   transfer_id=transfer if transfer and transfer != message_id else None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _aad(message_id: str, route: str) -> bytes:
    return f"{message_id}|{route}".encode()


def seal_body(keyring: Keyring, message_id: str, route: str, content: dict[str, Any]) -> bytes:
    return seal(keyring, json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode(),
                _aad(message_id, route))


def open_body(keyring: Keyring, message: Message) -> dict[str, Any]:
    content = json.loads(unseal(keyring, message.body, _aad(message.id, message.route)))
    if not isinstance(content, dict):
        raise ValueError(f"message {message.id}: body is not a JSON object")
    return content
