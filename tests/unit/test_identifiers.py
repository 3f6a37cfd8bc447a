"""Identifier rules. Every "valid" value below was worked out by hand from the rule (the working
is in the comment), never produced by the code under test."""

from __future__ import annotations

import re

import pytest

from store.identifiers import (
    InvalidIdentifier,
    InvalidKojinBango,
    hokensha_check_digit,
    is_valid_kojin_bango,
    jigyosho_check_digit,
    kojin_bango_check_digit,
    mask_kojin_bango,
    validate_atena_no,
    validate_hihokensha_no,
    validate_hokensha_no,
    validate_jigyosho_no,
    validate_kiso_nenkin_no,
    validate_kojin_bango,
    validate_nenkin_code,
)

# 個人番号: P(n) = n-th digit from the right of the 11-digit body, Q(n) = n+1 (n ≤ 6), n−5 (n ≥ 7).
KOJIN_VALID = [
    # body 12345678901: P(1..11) = 1,0,9,8,7,6,5,4,3,2,1; Q = 2,3,4,5,6,7,2,3,4,5,6
    # Σ = 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check = 11−3 = 8
    "123456789018",
    # body 11111111111: Σ Q = (2+3+4+5+6+7) + (2+3+4+5+6) = 47; 47 mod 11 = 3; check 8
    "111111111118",
    # body 00000000001: Σ = 1·2 = 2; check 11−2 = 9
    "000000000019",
    # body 00000000006: Σ = 6·2 = 12; 12 mod 11 = 1 ≤ 1 → check 0
    "000000000060",
    # body 00000000000: Σ = 0 → check 0
    "000000000000",
    # body 00000100000: P(6) = 1, Q(6) = 7 → 7; check 11−7 = 4
    "000001000004",
    # body 10000000000: P(11) = 1, Q(11) = 6 → 6; check 5
    "100000000005",
]


@pytest.mark.parametrize("number", KOJIN_VALID)
def test_kojin_bango_hand_computed_values_are_valid(number: str) -> None:
    assert validate_kojin_bango(number) == number
    assert is_valid_kojin_bango(number)
    assert kojin_bango_check_digit(number[:11]) == int(number[11])


KOJIN_INVALID = [
    "123456789019",  # wrong check digit (8 is right)
    "123456789010",
    "12345678901",  # 11 digits
    "1234567890188",  # 13 digits
    "１２３４５６７８９０１８",  # full-width digits are not silently accepted
    "1234 5678 9018",
    "1234-5678-9018",
    " 123456789018",
    "12345678901a",
    "",
]


@pytest.mark.parametrize("value", KOJIN_INVALID)
def test_kojin_bango_invalid_values_are_refused_without_echo(value: str) -> None:
    with pytest.raises(InvalidKojinBango) as info:
        validate_kojin_bango(value)
    message = str(info.value)
    assert "個人番号" in message
    # No run of 4+ digits of the input (ASCII or full-width) may appear in the message.
    digits = re.sub(r"\D", "", value.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    for start in range(max(0, len(digits) - 3)):
        assert digits[start : start + 4] not in message
    assert not is_valid_kojin_bango(value)


def test_kojin_bango_non_string_is_refused_without_echo() -> None:
    with pytest.raises(InvalidKojinBango) as info:
        validate_kojin_bango(123456789018)
    assert "123456789018" not in str(info.value)
    assert "9018" not in str(info.value)
    assert "int" in str(info.value)


def test_invalid_identifiers_are_value_errors_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="check digit"):
        validate_kojin_bango("123456789019")
    with pytest.raises(InvalidIdentifier, match="12 ASCII digits"):
        validate_kojin_bango("12345")


def test_kojin_bango_check_digit_needs_an_11_digit_body() -> None:
    with pytest.raises(InvalidKojinBango):
        kojin_bango_check_digit("1234567890")


# 保険者番号: weights 2,1,2,1,2 from the rightmost of the five data digits, digits of each product
# summed, check = (10 − sum mod 10) mod 10.
def test_setagaya_hokensha_no_validates() -> None:
    # 13112 → from the right: 2·2=4, 1·1=1, 1·2=2, 3·1=3, 1·2=2 → 12 → (10−2) mod 10 = 8
    assert validate_hokensha_no("131128") == "131128"
    assert hokensha_check_digit("13112") == 8


@pytest.mark.parametrize(
    "number",
    [
        "131011",  # 13101: 1·2=2, 0, 1·2=2, 3·1=3, 1·2=2 → 9 → check 1
        "141002",  # 14100: 0, 0, 1·2=2, 4·1=4, 1·2=2 → 8 → check 2
        "271007",  # 27100: 0, 0, 1·2=2, 7·1=7, 2·2=4 → 13 → check 7
        "019000",  # 01900: 0, 0, 9·2=18→1+8=9, 1·1=1, 0 → 10 → check 0
    ],
)
def test_hokensha_no_hand_computed(number: str) -> None:
    assert validate_hokensha_no(number) == number


@pytest.mark.parametrize("value", ["131121", "131129", "13112", "1311280", "13112８", "abcdef"])
def test_hokensha_no_invalid(value: str) -> None:
    with pytest.raises(InvalidIdentifier, match="保険者番号"):
        validate_hokensha_no(value)


def test_jigyosho_no_assumed_mod10() -> None:
    # 131234567 from the right: 7·2=14→5, 6·1=6, 5·2=10→1, 4·1=4, 3·2=6, 2·1=2, 1·2=2, 3·1=3,
    # 1·2=2 → 31 → (10−1) mod 10 = 9
    assert validate_jigyosho_no("1312345679") == "1312345679"
    assert jigyosho_check_digit("131234567") == 9
    with pytest.raises(InvalidIdentifier, match=r"事業所番号.*check digit"):
        validate_jigyosho_no("1312345670")
    with pytest.raises(InvalidIdentifier, match="10 ASCII digits"):
        validate_jigyosho_no("131234567")


@pytest.mark.parametrize(
    ("validator", "good", "bad", "kind"),
    [
        (validate_hihokensha_no, "0123456789", "012345678", "被保険者番号"),
        (validate_kiso_nenkin_no, "1234567890", "12345678901", "基礎年金番号"),
        (validate_nenkin_code, "1150", "115", "年金コード"),
        (validate_atena_no, "000000000012345", "00000000001234", "宛名番号"),
    ],
)
def test_length_only_identifiers(validator, good: str, bad: str, kind: str) -> None:
    assert validator(good) == good
    with pytest.raises(InvalidIdentifier, match=kind):
        validator(bad)
    with pytest.raises(InvalidIdentifier):
        validator(good[:-1] + "Ａ")
    with pytest.raises(InvalidIdentifier):
        validator(int(good))


def test_mask_shows_at_most_the_last_four() -> None:
    assert mask_kojin_bango("123456789018") == "********9018"
    assert mask_kojin_bango("000000000060") == "********0060"
    # Malformed input is masked whole: no partial number leaks.
    for value in ["12345678901", "1234567890189", "１２３４５６７８９０１８", "", None, 123456789018]:
        assert mask_kojin_bango(value) == "************"
