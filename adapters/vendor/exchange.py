"""The print-vendor exchange as data: the manifest the ward writes, and the answers it reads.

The contract (adapters/vendor/HANDOVER.md): per transfer the ward puts ``<id>.csv.gpg``
(encrypted to the vendor, signed by the ward), ``<id>.manifest.json.asc`` and, last,
``<id>.manifest.json`` into ``inbox/``; the vendor answers in ``outbox/`` with signed ``<id>.receipt.json`` (受領証),
``<id>.returns.csv`` (返戻), ``<id>.deletion.json`` (削除証明書) or ``<id>.rejected.json``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

INBOX = "inbox"
OUTBOX = "outbox"
ANSWER = re.compile(r"(?P<tid>[0-9a-f-]{36})\.(?P<kind>receipt\.json|returns\.csv|deletion\.json|rejected\.json)")
RETURN_REASONS = {"01": "宛所不明", "02": "受取拒否", "03": "転居先不明", "99": "その他"}
MAX_ANSWER_BYTES = 20 << 20


class AnswerError(ValueError):
    """A vendor's answer that does not hold: named field, rule broken; never a crash. ``rule`` is
    one of HANDOVER.md's refusal rules (``format`` unless said otherwise)."""

    def __init__(self, message: str, rule: str = "format") -> None:
        super().__init__(message)
        self.rule = rule


def data_name(transfer_id: str) -> str:
    return f"{transfer_id}.csv.gpg"


def manifest_name(transfer_id: str) -> str:
    return f"{transfer_id}.manifest.json"


def manifest(*, transfer_id: str, flow: str, layout: str, layout_version: str, part_no: int, part_count: int,
             record_count: int, plaintext_sha256: str, plaintext_bytes: int, ciphertext_sha256: str,
             ciphertext_bytes: int, ward_key_fingerprint: str, encoding: str) -> bytes:
    """The manifest as canonical bytes (sorted keys): what is signed is what is sent."""
    body = {
        "transfer_id": transfer_id, "flow": flow, "layout": layout, "layout_version": layout_version,
        "file": data_name(transfer_id), "part": {"no": part_no, "of": part_count}, "record_count": record_count,
        "plaintext_sha256": plaintext_sha256, "plaintext_bytes": plaintext_bytes,
        "ciphertext_sha256": ciphertext_sha256, "ciphertext_bytes": ciphertext_bytes,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "ward_key_fingerprint": ward_key_fingerprint,
        "encoding": encoding,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1).encode()


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnswerError(f"{what}: not UTF-8 JSON ({exc})") from None
    if not isinstance(body, dict):
        raise AnswerError(f"{what}: not a JSON object")
    return body


def _field(body: dict[str, Any], what: str, name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AnswerError(f"{what}: field {name!r} missing or not a {kind.__name__}")
    return value


def _instant(body: dict[str, Any], what: str, name: str) -> datetime:
    text = _field(body, what, name, str)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise AnswerError(f"{what}: field {name!r} is not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise AnswerError(f"{what}: field {name!r} has no time zone")
    return value


@dataclass(frozen=True)
class Receipt:
    transfer_id: str
    plaintext_sha256: str
    ciphertext_sha256: str
    record_count: int
    received_at: datetime


@dataclass(frozen=True)
class Deletion:
    transfer_id: str
    plaintext_sha256: str
    ciphertext_sha256: str
    deleted_at: datetime
    method: str


@dataclass(frozen=True)
class Rejection:
    transfer_id: str
    check: str
    reason: str


@dataclass(frozen=True)
class Returned:
    notice_no: str
    atena_no: str
    reason_code: str
    returned_on: date


def parse_receipt(data: bytes, name: str) -> Receipt:
    body = _json(data, name)
    return Receipt(_field(body, name, "transfer_id", str), _field(body, name, "plaintext_sha256", str),
                   _field(body, name, "ciphertext_sha256", str), _field(body, name, "record_count", int),
                   _instant(body, name, "received_at"))


def parse_deletion(data: bytes, name: str) -> Deletion:
    body = _json(data, name)
    return Deletion(_field(body, name, "transfer_id", str), _field(body, name, "plaintext_sha256", str),
                    _field(body, name, "ciphertext_sha256", str), _instant(body, name, "deleted_at"),
                    _field(body, name, "method", str)[:100])


def parse_rejection(data: bytes, name: str) -> Rejection:
    body = _json(data, name)
    return Rejection(_field(body, name, "transfer_id", str), str(body.get("check", "")),
                     str(body.get("reason", ""))[:500])


def parse_returns(data: bytes, name: str) -> list[Returned]:
    """Every row checked; the first bad one is named by its line and field."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerError(f"{name}: not UTF-8 ({exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    header = ["notice_no", "atena_no", "reason_code", "returned_on"]
    if not rows or rows[0] != header:
        raise AnswerError(f"{name}: line 1: header must be {','.join(header)}")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 4:
            raise AnswerError(f"{name}: line {line}: 4 fields expected, got {len(row)}")
        notice_no, atena_no, reason, returned_on = row
        if not atena_no.isascii() or not atena_no.isdigit() or len(atena_no) != 15:
            raise AnswerError(f"{name}: line {line}: atena_no must be 15 digits")
        if reason not in RETURN_REASONS:
            raise AnswerError(f"{name}: line {line}: reason_code {reason!r} not in {sorted(RETURN_REASONS)}")
        try:
            day = date.fromisoformat(returned_on)
        except ValueError:
            raise AnswerError(f"{name}: line {line}: returned_on {returned_on!r} is not YYYY-MM-DD") from None
        out.append(Returned(notice_no, atena_no, reason, day))
    return out
