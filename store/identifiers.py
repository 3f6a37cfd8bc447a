"""Identifiers of the 介護保険 world: check digits, validators and masking.

Every validator takes the value as a ``str`` of ASCII digits and returns it unchanged when valid;
nothing is normalised (full-width digits, spaces, hyphens are rejected, never fixed silently).
A failure raises :class:`InvalidIdentifier` (a ``ValueError``) whose message names the identifier
and the rule. For 個人番号 the message never contains the value, not even in part: exception
messages end up in logs.

Sources (see shared/DOMAIN.md "Identifiers"):
- 個人番号: check digit per 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 [DOC].
- 保険者番号: 2,1,2,… weights from the rightmost data digit, digits of each product summed,
  check = (10 − sum mod 10) mod 10 [DOC for 健保/国保; INF for 介護, verified: 131128 世田谷区].
- 事業所番号: the same weighted mod-10 scheme is ASSUMED [INF]: the 介護 事業所番号 check rule is
  not public; if a partner rejects numbers we accept, replace ``jigyosho_check_digit`` only.
- 被保険者番号 (10), 基礎年金番号 (10), 年金コード (4), 宛名番号 (15): length and digits only; no
  public check-digit rule is known [NF].
"""

from __future__ import annotations

import re

KOJIN_BANGO = "個人番号"
HOKENSHA_NO = "保険者番号"
HIHOKENSHA_NO = "被保険者番号"
JIGYOSHO_NO = "事業所番号"
KISO_NENKIN_NO = "基礎年金番号"
NENKIN_CODE = "年金コード"
ATENA_NO = "宛名番号"


class InvalidIdentifier(ValueError):
    """An identifier failed its rule. ``kind`` names the identifier, ``rule`` what was broken."""

    def __init__(self, kind: str, rule: str) -> None:
        self.kind = kind
        self.rule = rule
        super().__init__(f"invalid {kind}: {rule}")


class InvalidKojinBango(InvalidIdentifier):
    """A 個人番号 failed its rule. The message never contains the number."""

    def __init__(self, rule: str) -> None:
        super().__init__(KOJIN_BANGO, rule)


def _digit_run(n: int) -> re.Pattern[str]:
    # re.ASCII keeps full-width and other Unicode digits out: they are bad input, not digits.
    return re.compile(rf"[0-9]{{{n}}}", re.ASCII)


_DIGITS = {n: _digit_run(n) for n in (4, 5, 6, 9, 10, 11, 12, 15)}


def _shape_problem(value: object, n: int) -> str | None:
    """The rule a value breaks by its shape, described without echoing it, or None."""
    if not isinstance(value, str):
        return f"must be a str of {n} ASCII digits (got {type(value).__name__})"
    if _DIGITS[n].fullmatch(value) is None:
        return f"must be exactly {n} ASCII digits (got {len(value)} characters)"
    return None


def _require_digits(kind: str, value: object, n: int) -> str:
    problem = _shape_problem(value, n)
    if problem is not None:
        raise InvalidIdentifier(kind, f"{problem}: {value!r}")
    assert isinstance(value, str)
    return value


# --- 個人番号 -----------------------------------------------------------------------------------


def kojin_bango_check_digit(body: str) -> int:
    """Check digit for the 11 leading digits of a 個人番号.

    P(n) is the n-th digit from the right (n = 1..11), Q(n) = n+1 for n ≤ 6 and n−5 for n ≥ 7;
    r = Σ P(n)·Q(n) mod 11; check = 0 if r ≤ 1 else 11 − r.
    """
    problem = _shape_problem(body, 11)
    if problem is not None:
        raise InvalidKojinBango(f"body {problem}")
    total = 0
    for n, ch in enumerate(reversed(body), start=1):
        total += int(ch) * (n + 1 if n <= 6 else n - 5)
    r = total % 11
    return 0 if r <= 1 else 11 - r


def validate_kojin_bango(value: object) -> str:
    problem = _shape_problem(value, 12)
    if problem is not None:
        raise InvalidKojinBango(problem)
    assert isinstance(value, str)
    if kojin_bango_check_digit(value[:11]) != int(value[11]):
        raise InvalidKojinBango("check digit does not match (番号法施行令 mod-11 rule)")
    return value


def is_valid_kojin_bango(value: object) -> bool:
    try:
        validate_kojin_bango(value)
    except InvalidIdentifier:
        return False
    return True


def mask_kojin_bango(value: object) -> str:
    """``********1234`` for operator screens: at most the last four digits are shown.

    Anything that is not a well-formed 12-digit string is masked whole: a mistyped number is
    still somebody's number.
    """
    if isinstance(value, str) and _DIGITS[12].fullmatch(value):
        return "*" * 8 + value[-4:]
    return "*" * 12


# --- weighted mod-10 (保険者番号, 事業所番号) --------------------------------------------------------


def _weighted_mod10(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def hokensha_check_digit(body: str) -> int:
    """Check digit for the 5 leading digits (都道府県 2 + 保険者 3) of a 保険者番号."""
    return _weighted_mod10(_require_digits(HOKENSHA_NO + " body", body, 5))


def validate_hokensha_no(value: object) -> str:
    v = _require_digits(HOKENSHA_NO, value, 6)
    if hokensha_check_digit(v[:5]) != int(v[5]):
        raise InvalidIdentifier(HOKENSHA_NO, f"check digit does not match (weights 2,1,2,… mod 10): {v!r}")
    return v


def jigyosho_check_digit(body: str) -> int:
    """Check digit for the 9 leading digits of a 事業所番号 (ASSUMED rule, see module doc)."""
    return _weighted_mod10(_require_digits(JIGYOSHO_NO + " body", body, 9))


def validate_jigyosho_no(value: object) -> str:
    v = _require_digits(JIGYOSHO_NO, value, 10)
    if jigyosho_check_digit(v[:9]) != int(v[9]):
        raise InvalidIdentifier(
            JIGYOSHO_NO, f"check digit does not match (assumed weights 2,1,2,… mod 10): {v!r}"
        )
    return v


# --- length-only identifiers -------------------------------------------------------------------


def validate_hihokensha_no(value: object) -> str:
    return _require_digits(HIHOKENSHA_NO, value, 10)


def validate_kiso_nenkin_no(value: object) -> str:
    return _require_digits(KISO_NENKIN_NO, value, 10)


def validate_nenkin_code(value: object) -> str:
    return _require_digits(NENKIN_CODE, value, 4)


def validate_atena_no(value: object) -> str:
    return _require_digits(ATENA_NO, value, 15)
