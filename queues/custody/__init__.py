"""The custody log: who handed what to whom, when, hash-chained and checkpoint-signed."""

from .entry import CustodyEvent, Entry
from .log import Checkpoint, CustodyError, CustodyLog, CustodyTamperError
from .signing import SigningKeyError
from .verify import VerifyReport

__all__ = [
    "Checkpoint",
    "CustodyError",
    "CustodyEvent",
    "CustodyLog",
    "CustodyTamperError",
    "Entry",
    "SigningKeyError",
    "VerifyReport",
]
