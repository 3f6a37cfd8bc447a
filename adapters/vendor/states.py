"""The hand-over state machine of adapters/vendor/HANDOVER.md, as data.

``TABLE[kind][state]`` says what an answer of ``kind`` does to a hand-over in ``state``: move it
to another state, take it without change (a duplicate, or 返戻 which changes no state), or refuse
it with rule ``state`` and whether sending it again later can succeed. Every state check of the
answer reader is a look-up here; nothing else decides which answer is taken when.
"""

from __future__ import annotations

from dataclasses import dataclass

SENT = "sent"
RECEIPTED = "receipted"
CLOSED = "closed"
REJECTED = "rejected"
TERMINAL = frozenset({CLOSED, REJECTED})
KINDS = ("receipt", "returns", "deletion", "rejected")


@dataclass(frozen=True)
class Move:
    to: str | None = None  # the state after; None: no change
    refused: bool = False
    resend: bool = False  # refused for now: the same answer sent again later can be taken
    why: str = ""  # the refusal's reason (English, for the vendor's acknowledgement)


def _go(state: str) -> Move:
    return Move(to=state)


STAY = Move()


def _no(why: str, resend: bool = False) -> Move:
    return Move(refused=True, resend=resend, why=why)


_AFTER_RECEIPT = "resend it after the receipt is acknowledged"
TABLE: dict[str, dict[str, Move]] = {
    "receipt": {SENT: _go(RECEIPTED), RECEIPTED: STAY, CLOSED: STAY,
                REJECTED: _no("the hand-over was rejected by the vendor; a receipt cannot follow")},
    "deletion": {SENT: _no(f"a deletion certificate before the receipt; {_AFTER_RECEIPT}", resend=True),
                 RECEIPTED: _go(CLOSED), CLOSED: STAY,
                 REJECTED: _no("the hand-over was rejected by the vendor; nothing to certify as deleted")},
    "returns": {SENT: _no(f"returned mail before the receipt; {_AFTER_RECEIPT}", resend=True),
                RECEIPTED: STAY, CLOSED: STAY,
                REJECTED: _no("the hand-over was rejected by the vendor; nothing was mailed")},
    "rejected": {SENT: _go(REJECTED), RECEIPTED: _no("the delivery was already receipted; it cannot be rejected"),
                 CLOSED: _no("the hand-over is closed; a closed hand-over is never reopened"),
                 REJECTED: STAY},
}


def move(kind: str, state: str) -> Move:
    """What ``kind`` does in ``state``; a state outside the table (a transfer that was never
    sent) refuses every answer, not to be resent."""
    return TABLE[kind].get(state, _no(f"the hand-over is in state {state!r}, which takes no answer"))
