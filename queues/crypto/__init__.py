"""Envelope encryption: KEKs in a keyring, per-blob data keys, AES-256-GCM bound to transfer and flow."""

from .envelope import KeyBlock, key_id_of, parse_key_block, rewrap, seal, unseal
from .errors import IntegrityError, KeyringError, UnknownKeyError
from .keyring import Keyring

__all__ = [
    "IntegrityError",
    "KeyBlock",
    "Keyring",
    "KeyringError",
    "UnknownKeyError",
    "key_id_of",
    "parse_key_block",
    "rewrap",
    "seal",
    "unseal",
]
