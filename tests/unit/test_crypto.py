"""Envelope encryption and the keyring: round trips, tamper detection in every region, rotation."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from queues.crypto import (
    IntegrityError,
    Keyring,
    KeyringError,
    UnknownKeyError,
    key_id_of,
    rewrap,
    seal,
    unseal,
)

AAD = b"T-0001|kokuho.jukyusha"


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


def test_create_makes_private_dir_and_key(tmp_path: Path) -> None:
    ring = Keyring.create(tmp_path / "keys", secret_names=("mynumber-index",))
    assert re.fullmatch(r"kek-\d{8}-[0-9a-f]{4}", ring.active_id)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    key_file = tmp_path / "keys" / f"{ring.active_id}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32
    assert stat.S_IMODE((tmp_path / "keys" / "mynumber-index.secret").stat().st_mode) == 0o600
    assert Keyring.load(tmp_path / "keys").active_id == ring.active_id


def test_create_refuses_non_empty_dir(tmp_path: Path) -> None:
    Keyring.create(tmp_path / "keys")
    with pytest.raises(KeyringError, match="not empty"):
        Keyring.create(tmp_path / "keys")


def test_round_trip(ring: Keyring) -> None:
    for plaintext in (b"", b"x", os.urandom(1024), "介護保険 受給者".encode()):
        blob = seal(ring, plaintext, AAD)
        assert len(plaintext) < 16 or plaintext not in blob  # a short one may occur by chance
        assert unseal(ring, blob, AAD) == plaintext
        assert key_id_of(blob) == ring.active_id


def test_each_seal_uses_fresh_key_and_nonce(ring: Keyring) -> None:
    assert seal(ring, b"same", AAD) != seal(ring, b"same", AAD)


def _regions(ring: Keyring, blob: bytes) -> dict[str, range]:
    kid = len(ring.active_id)
    return {
        "version": range(0, 1),
        "key id length": range(1, 2),
        "key id": range(2, 2 + kid),
        "wrap nonce": range(2 + kid, 14 + kid),
        "wrapped key": range(14 + kid, 62 + kid),
        "payload nonce": range(62 + kid, 74 + kid),
        "ciphertext": range(74 + kid, len(blob) - 16),
        "tag": range(len(blob) - 16, len(blob)),
    }


def test_any_changed_byte_in_any_region_is_detected(ring: Keyring) -> None:
    plaintext = b"secret record data " * 20
    blob = seal(ring, plaintext, AAD)
    regions = _regions(ring, blob)
    assert sum(len(r) for r in regions.values()) == len(blob)
    for name, region in regions.items():
        for offset in sorted({region.start, (region.start + region.stop) // 2, region.stop - 1}):
            for flip in (0x01, 0x80, 0xFF):
                bad = bytearray(blob)
                bad[offset] ^= flip
                with pytest.raises(IntegrityError) as info:
                    unseal(ring, bytes(bad), AAD)
                assert "secret record" not in str(info.value), name


def test_failing_part_is_named(ring: Keyring) -> None:
    blob = bytearray(seal(ring, b"payload", AAD))
    regions = _regions(ring, bytes(blob))
    wrapped = bytearray(blob)
    wrapped[regions["wrapped key"].start] ^= 1
    with pytest.raises(IntegrityError, match="key unwrap failed"):
        unseal(ring, bytes(wrapped), AAD)
    body = bytearray(blob)
    body[regions["ciphertext"].start] ^= 1
    with pytest.raises(IntegrityError, match="payload authentication failed"):
        unseal(ring, bytes(body), AAD)


def test_wrong_aad_and_truncation(ring: Keyring) -> None:
    blob = seal(ring, b"payload", AAD)
    for aad in (b"T-0002|kokuho.jukyusha", b"T-0001|nenkin.tokucho", b""):
        with pytest.raises(IntegrityError, match="payload authentication failed"):
            unseal(ring, blob, aad)
    for cut in (0, 1, 5, 40, len(blob) - 17, len(blob) - 1):
        with pytest.raises(IntegrityError):
            unseal(ring, blob[:cut], AAD)
    with pytest.raises(IntegrityError):
        unseal(ring, blob + b"\x00", AAD)


def test_rotate_then_rewrap(ring: Keyring, tmp_path: Path) -> None:
    old_id = ring.active_id
    old_blob = seal(ring, b"before rotation", AAD)
    new_id = ring.rotate()
    assert new_id != old_id and ring.active_id == new_id
    assert unseal(ring, old_blob, AAD) == b"before rotation"
    new_blob = rewrap(ring, old_blob)
    assert key_id_of(new_blob) == new_id
    assert unseal(ring, new_blob, AAD) == b"before rotation"
    assert rewrap(ring, new_blob) == new_blob
    reloaded = Keyring.load(tmp_path / "keys")
    assert reloaded.active_id == new_id
    assert set(reloaded.key_ids) == {old_id, new_id}
    assert unseal(reloaded, old_blob, AAD) == unseal(reloaded, new_blob, AAD)


def test_rotation_by_another_process_is_picked_up(ring: Keyring, tmp_path: Path) -> None:
    other = Keyring.load(tmp_path / "keys")
    other.rotate()
    blob = seal(other, b"sealed with a key we have not loaded", AAD)
    assert unseal(ring, blob, AAD) == b"sealed with a key we have not loaded"


def test_rewrap_refuses_tampered_blob(ring: Keyring) -> None:
    blob = bytearray(seal(ring, b"x", AAD))
    ring.rotate()
    blob[_regions(ring, bytes(blob))["wrapped key"].start] ^= 1
    with pytest.raises(IntegrityError, match="key unwrap failed"):
        rewrap(ring, bytes(blob))


def test_key_file_readable_by_others_is_refused(ring: Keyring, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / f"{ring.active_id}.key"
    os.chmod(key_file, 0o644)
    with pytest.raises(KeyringError, match=re.escape(str(key_file)) + ".*0644.*0600"):
        Keyring.load(tmp_path / "keys")


def test_key_file_of_wrong_length_is_refused(ring: Keyring, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / f"{ring.active_id}.key"
    key_file.write_bytes(b"short")
    with pytest.raises(KeyringError, match="5 bytes"):
        Keyring.load(tmp_path / "keys")


def test_missing_active_key_and_dir(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        Keyring.load(tmp_path / "nowhere")
    ring = Keyring.create(tmp_path / "keys")
    (tmp_path / "keys" / f"{ring.active_id}.key").unlink()
    with pytest.raises(KeyringError, match=f"{ring.active_id}.key is missing"):
        Keyring.load(tmp_path / "keys")


def test_unknown_key_id_is_named(ring: Keyring) -> None:
    with pytest.raises(UnknownKeyError, match="kek-20990101-abcd"):
        ring.kek("kek-20990101-abcd")
    with pytest.raises(KeyError):
        ring.kek("../../etc/passwd")


def test_blob_under_removed_key_fails_cleanly(ring: Keyring, tmp_path: Path) -> None:
    blob = seal(ring, b"x", AAD)
    old_id = ring.active_id
    ring.rotate()
    (tmp_path / "keys" / f"{old_id}.key").unlink()
    fresh = Keyring.load(tmp_path / "keys")
    with pytest.raises(IntegrityError, match=f"key id '{old_id}' is not in the keyring"):
        unseal(fresh, blob, AAD)


def test_named_secrets(ring: Keyring, tmp_path: Path) -> None:
    with pytest.raises(UnknownKeyError, match="blind-index"):
        ring.secret("blind-index")
    made = ring.ensure_secret("blind-index")
    assert len(made) == 32
    assert ring.ensure_secret("blind-index") == made
    assert Keyring.load(tmp_path / "keys").secret("blind-index") == made
    assert ring.ensure_secret("mynumber-enc") != made
    os.chmod(tmp_path / "keys" / "blind-index.secret", 0o640)
    with pytest.raises(KeyringError, match=r"blind-index\.secret has mode 0640"):
        ring.secret("blind-index")
    with pytest.raises(ValueError, match="secret name"):
        ring.secret("../ACTIVE")
