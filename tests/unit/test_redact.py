"""The 個人番号 shape in free text, and the bridge's own ids that must not be mistaken for one."""

from __future__ import annotations

import hashlib
import uuid

from queues.redact import looks_like_kojin_bango, mask

NUMBER = "123456789018"  # check digit 8 by the 番号法施行令 formula, computed by hand


def test_the_shapes_of_a_number_are_found_and_masked() -> None:
    for text in (f"person {NUMBER} moved", "1234 5678 9018", "1234-5678-9018", "１２３４５６７８９０１８"):
        assert looks_like_kojin_bango(text), text
    assert mask(f"id={NUMBER};") == "id=********9018;"
    assert mask("1234-5678-9018") == "********9018"


def test_longer_or_shorter_digit_runs_are_not_numbers() -> None:
    for text in ("12345678901", "1234567890123", "transfer 2600000106", "20261126T075612"):
        assert not looks_like_kojin_bango(text), text


def test_own_ids_with_digit_runs_are_left_alone() -> None:
    uid = str(uuid.UUID("8f1c2d3e-4b5a-4c6d-8e7f-123456789012"))
    digest = hashlib.sha256(b"x").hexdigest()[:40] + "123456789012" + "abcdef012345"[:12]
    assert len(digest) == 64
    for text in (f"dropdir {uid}.csv", f"OpenPGP sha256 {digest}", f"message {uid} -> retry"):
        assert not looks_like_kojin_bango(text), text
        assert mask(text) == text
    assert mask(f"{uid} and {NUMBER}") == f"{uid} and ********9018"
    # 4-4-4 across a UUID's groups is part of the id, not a number
    assert not looks_like_kojin_bango("abcd1234-5678-9012-3456-abcdefabcdef")
