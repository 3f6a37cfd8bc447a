"""個人番号 cipher: AES-256-GCM round trip, blind index, key ids and rotation."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.identifiers import InvalidKojinBango
from store.mynumber import KojinBangoDecryptError, MyNumberCipher

ENC = bytes(range(32))
IDX = bytes(range(100, 132))
NUMBER = "123456789018"  # check digit worked out by hand in test_identifiers


def cipher(enc: bytes = ENC, idx: bytes = IDX, key_id: int = 1) -> MyNumberCipher:
    return MyNumberCipher(enc, idx, key_id)


def test_round_trip_and_layout() -> None:
    c = cipher()
    blob = c.encrypt(NUMBER)
    assert c.decrypt(blob) == NUMBER
    assert blob[0] == 1  # key id prefix
    assert len(blob) == 1 + 12 + 12 + 16  # id + nonce + ciphertext + GCM tag
    assert NUMBER.encode() not in blob


def test_blob_decrypts_with_plain_aesgcm_and_the_documented_aad() -> None:
    blob = cipher().encrypt(NUMBER)
    assert AESGCM(ENC).decrypt(blob[1:13], blob[13:], b"kojin-bango") == NUMBER.encode()


def test_nonce_is_fresh_every_time() -> None:
    c = cipher()
    assert c.encrypt(NUMBER) != c.encrypt(NUMBER)


def test_blind_index_is_hmac_sha256_hex_and_stable() -> None:
    expected = hmac.new(IDX, NUMBER.encode(), hashlib.sha256).hexdigest()
    assert cipher().blind_index(NUMBER) == expected
    # Stable across instances and independent of the encryption key and key id.
    assert cipher(enc=bytes(32 * [7]), key_id=9).blind_index(NUMBER) == expected
    assert cipher(idx=bytes(32 * [8])).blind_index(NUMBER) != expected
    assert cipher().blind_index("111111111118") != expected


def test_seal_gives_both_columns() -> None:
    enc, index = cipher().seal(NUMBER)
    assert cipher().decrypt(enc) == NUMBER
    assert index == cipher().blind_index(NUMBER)


def test_wrong_key_fails_without_revealing() -> None:
    blob = cipher().encrypt(NUMBER)
    with pytest.raises(KojinBangoDecryptError, match="failed authentication") as info:
        cipher(enc=bytes(32 * [5])).decrypt(blob)
    assert "9018" not in str(info.value)


def test_other_key_id_is_named_in_the_error() -> None:
    blob = cipher(key_id=1).encrypt(NUMBER)
    with pytest.raises(KojinBangoDecryptError, match=r"key id 1.*key id 2"):
        cipher(key_id=2).decrypt(blob)


def test_altered_blob_fails() -> None:
    blob = bytearray(cipher().encrypt(NUMBER))
    blob[20] ^= 0x01
    with pytest.raises(KojinBangoDecryptError):
        cipher().decrypt(bytes(blob))
    with pytest.raises(KojinBangoDecryptError, match="too short"):
        cipher().decrypt(bytes(blob[:20]))


def test_other_associated_data_fails() -> None:
    nonce = bytes(12)
    forged = b"\x01" + nonce + AESGCM(ENC).encrypt(nonce, NUMBER.encode(), b"something-else")
    with pytest.raises(KojinBangoDecryptError):
        cipher().decrypt(forged)


def test_invalid_number_is_refused_before_storing() -> None:
    with pytest.raises(InvalidKojinBango) as info:
        cipher().encrypt("123456789019")
    assert "123456789019" not in str(info.value)
    with pytest.raises(InvalidKojinBango):
        cipher().blind_index("12345678901")


def test_reencrypt_moves_to_the_new_key() -> None:
    old, new = cipher(key_id=1), cipher(enc=bytes(32 * [3]), key_id=2)
    blob = old.encrypt(NUMBER)
    moved = old.reencrypt(blob, new)
    assert MyNumberCipher.key_id_of(moved) == 2
    assert new.decrypt(moved) == NUMBER
    with pytest.raises(KojinBangoDecryptError):
        old.decrypt(moved)


@pytest.mark.parametrize(
    ("enc", "idx", "key_id", "match"),
    [
        (bytes(16), IDX, 1, "32 bytes"),
        (ENC, bytes(16), 1, "at least 32"),
        (ENC, ENC, 1, "must differ"),
        (ENC, IDX, 256, "one byte"),
    ],
)
def test_bad_keys_are_refused(enc: bytes, idx: bytes, key_id: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MyNumberCipher(enc, idx, key_id)


def test_repr_holds_no_key() -> None:
    assert repr(cipher()) == "MyNumberCipher(key_id=1)"
