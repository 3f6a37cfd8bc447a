"""Reading a print vendor's answers from its ``outbox/``: 受領証, 返戻, 削除証明書, rejections.

The rules are adapters/vendor/HANDOVER.md's. A file is read only when its signature file is
there too and its size held still across two listings. Each is judged (adapters/vendor/
verdicts.py: signature by the vendor's pinned key, hashes and counts against the hand-over, the
state table) and recorded (adapters/vendor/answer_log.py) in one store transaction, with its
signed acknowledgement made there too; a taken answer is applied in that same transaction. Only
then is the acknowledgement written into the vendor's ``inbox/`` (signature first) and the answer
removed from the server, and the judgement marked done. A poll stopped in between finds the
judgement unfinished when it reads the same file again and completes it: the same
acknowledgement, nothing applied twice, no second judgement. A refused answer is kept locally in
quarantine and recorded (custody ``answer_refused``); it is not remembered as seen, so the same
answer sent again later is judged afresh (an early deletion certificate, sent again after the
receipt, closes the hand-over).

What the vendor controls never stops the poll: an answer over ``MAX_ANSWER_BYTES`` or one that
cannot be read is refused unread (left on the server, judged once for its size and mtime), a
name that is no answer's is refused (rule ``name``) and left alone, and the others are read on.
Names and the vendor's reasons reach custody and logs masked (queues/partner_names.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from adapters.pgp import Gpg
from adapters.sftp import RemoteFile, SftpClient
from adapters.sftp_connect import endpoint
from adapters.sftp_errors import RemoteNotFoundError, SftpError
from adapters.vendor import acks, answer_log, exchange, verdicts
from adapters.vendor.answer_log import ACCEPTED, REFUSED, Logged
from queues.errors import TransientError
from queues.partner_names import shown
from queues.quarantine import AnswerQuarantine
from settings import PartnerConfig
from store.models import Transfer, VendorAnswer

log = logging.getLogger(__name__)

ORDER = {"receipt.json": 0, "rejected.json": 1, "returns.csv": 2, "deletion.json": 3}
MAX_SIGNATURE_BYTES = 1 << 16


class TooLarge(SftpError):
    """An answer (or its signature) bigger than the cap: refused unread (rule ``too_large``)."""


@dataclass
class PollResult:
    applied: dict[str, int] = field(default_factory=dict)  # receipt, returns, closed, vendor-rejected
    refused: list[str] = field(default_factory=list)  # judged and refused now (names as shown)
    duplicate: int = 0  # taken again, already applied
    unknown: list[str] = field(default_factory=list)  # names that are no answer's, refused now (rule name)
    rules: list[str] = field(default_factory=list)  # the rule of each refusal above, for the operator's line


class AnswerReader:
    def __init__(self, sessions: sessionmaker[Session], gpg: Gpg, quarantine: AnswerQuarantine, actor: str,
                 on_closed: Callable[[Transfer], None], ward_fingerprint: str) -> None:
        self.sessions = sessions
        self.gpg = gpg
        self.quarantine = quarantine
        self.actor = actor
        self.on_closed = on_closed  # deletes what the ward still holds of a closed hand-over
        self.ward_fingerprint = ward_fingerprint  # signs the acknowledgements

    def poll(self, partner: PartnerConfig, settle: float = 1.0) -> PollResult:
        result = PollResult()
        with SftpClient(endpoint(partner)) as client:
            files = {f.name: f for f in client.stable_listing(exchange.OUTBOX, wait=settle)}
            answers = [(m, m.string) for m in map(exchange.ANSWER.fullmatch, files) if m is not None]
            answer_names = {name for _m, name in answers}
            for f in files.values():
                if f.name not in answer_names and f.name.removesuffix(".asc") not in answer_names:
                    if self._unread(client, partner, f, None, None, "name",
                                    "matches no answer name (<transfer id>.<kind>, the id lower-case); left on the "
                                    "server"):
                        result.unknown.append(shown(f.name))
                        result.rules.append("name")
            # A receipt before the deletion certificate that needs it, whatever the names sort as.
            for match, name in sorted(answers, key=lambda a: (ORDER[a[0]["kind"]], a[1])):
                if f"{name}.asc" not in files:
                    continue  # its signature is not there yet
                tid, kind = match["tid"], verdicts.KIND[match["kind"]]
                try:
                    data, signature = self._read(client, files[name], files[f"{name}.asc"])
                except RemoteNotFoundError:
                    continue  # taken by another poller since the listing
                except SftpError as exc:  # too large, unreadable: refused unread, the others go on
                    rule = "too_large" if isinstance(exc, TooLarge) else "unreadable"
                    reason = f"not read: {str(exc).replace(name, shown(name))}; left on the server"
                    if self._unread(client, partner, files[name], tid, kind, rule, reason):
                        result.refused.append(shown(name))
                        result.rules.append(rule)
                    continue
                try:
                    logged, verdict = self._judged(partner, name, tid, match["kind"], data, signature)
                except (TransientError, SQLAlchemyError):
                    raise  # the server or the store: the whole poll is retried
                except Exception as exc:
                    log.error("vendor %s: answer %s not judged (%s), left for the next poll", partner.name,
                              shown(name), type(exc).__name__)
                    log.debug("the cause, for a developer (-v)", exc_info=True)
                    continue
                if logged.closes is not None:  # again after a stop: deleting twice deletes nothing more
                    self._closed(logged.closes)
                self._finish(client, partner, name, logged, remove=True)
                if verdict is None:
                    continue  # a judgement of an earlier poll, completed now: counted then
                if not verdict.accepted:
                    result.refused.append(shown(name))
                    result.rules.append(verdict.rule or "")
                elif verdict.duplicate:
                    result.duplicate += 1
                elif verdict.applied is not None:
                    result.applied[verdict.applied] = result.applied.get(verdict.applied, 0) + 1
        return result

    @staticmethod
    def _read(client: SftpClient, answer: RemoteFile, signature: RemoteFile) -> tuple[bytes, bytes]:
        """Both files, refused by the listed size before a byte is read (TooLarge)."""
        for f, cap in ((answer, exchange.MAX_ANSWER_BYTES), (signature, MAX_SIGNATURE_BYTES)):
            if f.size > cap:
                raise TooLarge(f"{f.name}: {f.size} bytes is more than the {cap} allowed")
        return (client.read_bytes(f"{exchange.OUTBOX}/{answer.name}", exchange.MAX_ANSWER_BYTES),
                client.read_bytes(f"{exchange.OUTBOX}/{signature.name}", MAX_SIGNATURE_BYTES))

    def _judged(self, partner: PartnerConfig, name: str, tid: str, suffix: str, data: bytes,
                signature: bytes) -> tuple[Logged, verdicts.Verdict | None]:
        """The judgement of this answer, made and recorded now, or (verdict None) the unfinished
        one an earlier poll made of the very same bytes."""
        key = answer_log.read_key(name, data)
        with self.sessions.begin() as s:
            earlier = answer_log.pending(s, partner.name, key)
            if earlier is not None:
                return earlier, None
            verdict = verdicts.judge(s, self.gpg, partner, self.actor, name, tid, suffix, data, signature)
            held = None if verdict.accepted else self.quarantine.keep(partner.name, name, data)
            judgement = acks.Judgement(
                answer=name, answer_sha256=hashlib.sha256(data).hexdigest(), transfer_id=tid, kind=verdict.kind,
                outcome=ACCEPTED if verdict.accepted else REFUSED, duplicate=verdict.duplicate, rule=verdict.rule,
                reason=verdict.reason, resend=verdict.resend, handover_state=verdict.state)
            logged = answer_log.write(s, self.gpg, self.ward_fingerprint, partner, self.actor, key, judgement, held)
        return logged, verdict

    def _closed(self, transfer_id: str) -> None:
        with self.sessions() as s:
            transfer = s.get(Transfer, transfer_id)
        if transfer is not None:
            self.on_closed(transfer)

    def _unread(self, client: SftpClient, partner: PartnerConfig, f: RemoteFile, tid: str | None, kind: str | None,
                rule: str, reason: str) -> bool:
        """Refuse a file left on the server, once for its name, size and mtime (a changed file is
        judged again): True if refused now, False if it was already."""
        key = answer_log.unread_key(f.name, f.size, f.mtime)
        with self.sessions.begin() as s:
            logged = answer_log.pending(s, partner.name, key, unfinished_only=False)
            new = logged is None
            if logged is None:
                transfer, _handover = verdicts.ours(s, tid, partner) if tid else (None, None)
                judgement = acks.Judgement(
                    answer=f.name, answer_sha256=None, transfer_id=tid, kind=kind, outcome=REFUSED, duplicate=False,
                    rule=rule, reason=f"{exchange.OUTBOX}/{f.name} ({f.size} bytes): {reason}", resend=False,
                    handover_state=transfer.state if transfer is not None else None)
                logged = answer_log.write(s, self.gpg, self.ward_fingerprint, partner, self.actor, key, judgement)
        self._finish(client, partner, f.name, logged, remove=False)
        return new

    def _finish(self, client: SftpClient, partner: PartnerConfig, name: str, logged: Logged, remove: bool) -> None:
        """Acknowledge (signature first), remove the answer when it was read, mark the judgement done."""
        if logged.ack is not None and logged.signature is not None:
            with self.sessions() as s:
                done = s.get(VendorAnswer, logged.id)
                if done is not None and done.done_at is not None:
                    return
            acks.write(client, name, logged.ack, logged.signature, partner.file_mode)
        if remove:
            for remote in (f"{exchange.OUTBOX}/{name}.asc", f"{exchange.OUTBOX}/{name}"):
                with contextlib.suppress(RemoteNotFoundError):  # another poller was quicker
                    client.remove(remote)
        with self.sessions.begin() as s:
            answer_log.done(s, logged.id)
