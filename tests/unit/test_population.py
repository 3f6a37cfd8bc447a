"""Synthetic population: determinism, uniqueness, distributions, households, 賦課 arithmetic.

Oracles are independent of the generator: the 個人番号 check digit is recomputed here from the
番号法施行令 formula, JIS X 0208 membership comes from Python's iso2022_jp codec, ages from the
legal rule written out below.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from itertools import islice

import pytest

from fixtures.data import fuka_table, towns
from fixtures.population import Person, generate, nengaku_of, split_kibetsu

NENDO = 2025
REF = date(NENDO, 4, 1)


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(generate(20_000, seed=2025, nendo=NENDO))


def check_digit(body: str) -> int:
    total = sum(int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(body), start=1))
    return 0 if total % 11 <= 1 else 11 - total % 11


def age_on(birth: date, day: date) -> int:
    # 年齢計算ニ関スル法律: the age increases at the end of the day before the birthday, so on
    # `day` a person is as old as someone would be on `day + 1` by the common birthday count.
    d = day + timedelta(days=1)
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def in_jis_x_0208(text: str) -> bool:
    try:
        text.encode("iso2022_jp")  # ASCII + JIS X 0208 exactly
    except UnicodeEncodeError:
        return False
    return True


def test_same_seed_same_people() -> None:
    assert list(generate(3000, seed=7, nendo=NENDO)) == list(generate(3000, seed=7, nendo=NENDO))


def test_other_seed_other_people() -> None:
    a = list(generate(3000, seed=7, nendo=NENDO))
    b = list(generate(3000, seed=8, nendo=NENDO))
    assert len({p.kojin_bango for p in a} & {p.kojin_bango for p in b}) < 10
    assert sum(x.name_kanji == y.name_kanji for x, y in zip(a, b, strict=True)) < 300


def test_generate_streams() -> None:
    # Ten million people are never built: the first ten arrive at once.
    first = list(islice(generate(10_000_000, seed=1, nendo=NENDO), 10))
    assert len(first) == 10


def test_person_repr_hides_the_kojin_bango() -> None:
    p = next(iter(generate(1, seed=1, nendo=NENDO)))
    assert p.kojin_bango not in repr(p)


def test_identifiers_are_valid_and_unique(people: list[Person]) -> None:
    numbers = [p.kojin_bango for p in people]
    assert all(re.fullmatch(r"[0-9]{12}", n) and check_digit(n[:11]) == int(n[11]) for n in numbers)
    assert len(set(numbers)) == len(people)
    for attr, digits in [("atena_no", 15), ("hihokensha_no", 10)]:
        values = [getattr(p, attr) for p in people]
        assert all(re.fullmatch(rf"[0-9]{{{digits}}}", v) for v in values), attr
        assert len(set(values)) == len(people), attr
    kiso = [p.kiso_nenkin_no for p in people if p.kiso_nenkin_no is not None]
    assert all(re.fullmatch(r"[0-9]{10}", k) for k in kiso)
    assert len(set(kiso)) == len(kiso)
    assert all(re.fullmatch(r"[0-9]{4}", p.nenkin_code) for p in people if p.nenkin_code)
    assert {p.hokensha_no for p in people} == {"131128"}
    assert all(re.fullmatch(r"[0-9]{15}", p.setai_no) for p in people)


def test_ages_and_kubun(people: list[Person]) -> None:
    ichigo = [p for p in people if p.hihokensha_kubun == "1"]
    nigo = [p for p in people if p.hihokensha_kubun == "2"]
    assert len(ichigo) + len(nigo) == len(people)
    assert 0.82 <= len(ichigo) / len(people) <= 0.88
    assert all(age_on(p.birth_date, REF) >= 65 for p in ichigo)
    assert all(40 <= age_on(p.birth_date, REF) <= 64 for p in nigo)
    assert sum(age_on(p.birth_date, REF) >= 85 for p in ichigo) > 0.1 * len(ichigo)
    assert {p.sex for p in people} == {"1", "2"}
    assert all(p.shutoku_date <= REF for p in people)
    assert {p.shutoku_jiyu for p in people} == {"01", "02"}


def test_out_of_jis_share_is_about_one_percent_and_real(people: list[Person]) -> None:
    flagged = [p for p in people if p.out_of_jis]
    assert 0.006 <= len(flagged) / len(people) <= 0.014
    # The flag tells the truth, checked with the codec rather than the generator's tables.
    assert all(not in_jis_x_0208(p.name_kanji) for p in flagged)
    assert all(in_jis_x_0208(p.name_kanji) for p in people if not p.out_of_jis)
    # Both kinds appear: some that cp932's extensions still hold (髙, 﨑) and some that nothing
    # legacy holds (𠮷, IVS).
    cp932_ok = sum(1 for p in flagged if _encodes(p.name_kanji, "cp932"))
    assert 0 < cp932_ok < len(flagged)


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def test_out_of_jis_rate_is_controlled_by_the_caller() -> None:
    assert not any(p.out_of_jis for p in generate(2000, seed=3, nendo=NENDO, out_of_jis_rate=0.0))
    assert all(p.out_of_jis for p in generate(200, seed=3, nendo=NENDO, out_of_jis_rate=1.0))


def test_names_have_kana_readings(people: list[Person]) -> None:
    katakana = re.compile(r"[ァ-ヶー]+\u3000[ァ-ヶー]+")
    assert all(katakana.fullmatch(p.name_kana) for p in people)
    assert all(p.name_kanji.count("\u3000") == 1 for p in people)
    # One kanji surname, one reading: the pairs stay consistent across the population.
    reading: dict[str, set[str]] = defaultdict(set)
    for p in people:
        reading[p.name_kanji.split("\u3000")[0]].add(p.name_kana.split("\u3000")[0])
    assert all(len(kana) == 1 for kana in reading.values())


def test_addresses_are_setagaya(people: list[Person]) -> None:
    postal = {t.name: t.postal_code for t in towns()}
    pattern = re.compile(r"東京都世田谷区(\D+?)(?:[一二三四五六七八九]丁目)?[０-９]+番[０-９]+号")
    for p in people:
        m = pattern.fullmatch(p.address)
        assert m, p.address
        assert postal[m.group(1)] == p.postal_code
        assert p.postal_code[:3] in {"154", "155", "156", "157", "158"}
    assert len({p.postal_code for p in people}) > 40
    sofu = [p for p in people if p.sofu_address]
    assert 0 < len(sofu) < 0.1 * len(people)
    assert all(p.sofu_name and p.sofu_postal_code for p in sofu)


def test_households_share_surname_and_address(people: list[Person]) -> None:
    households: dict[str, list[Person]] = defaultdict(list)
    for p in people:
        households[p.setai_no].append(p)
    assert all(1 <= len(h) <= 3 for h in households.values())
    for members in households.values():
        assert len({(m.address, m.postal_code) for m in members}) == 1
        assert len({m.name_kanji.split("\u3000")[0] for m in members}) == 1
    shared = sum(len(h) for h in households.values() if len(h) > 1)
    assert 0.3 <= shared / len(people) <= 0.8


def test_premiums(people: list[Person]) -> None:
    table = fuka_table()
    for p in people:
        if p.hihokensha_kubun == "2":
            assert p.premium is None and p.kiso_nenkin_no is None
            continue
        assert p.premium is not None
        prem = p.premium
        assert sum(prem.kibetsu) == prem.nengaku
        tokucho = p.nenkin_nengaku is not None and p.nenkin_nengaku >= 180_000
        assert prem.choshu_kubun == ("tokucho" if tokucho else "futsucho")
        assert len(prem.kibetsu) == (6 if tokucho else 10)
        assert max(prem.kibetsu[1:]) == min(prem.kibetsu[1:]) <= prem.kibetsu[0]
        assert prem.kibetsu[0] - prem.kibetsu[1] < len(prem.kibetsu)
        assert 1 <= prem.dankai <= len(table.dankai)
    ichigo = [p for p in people if p.premium is not None]
    with_pension = sum(p.kiso_nenkin_no is not None for p in ichigo)
    assert 0.85 <= with_pension / len(ichigo) <= 0.95
    futsucho = sum(p.premium.choshu_kubun == "futsucho" for p in ichigo if p.premium)
    assert 0.05 <= futsucho / len(ichigo) <= 0.35
    assert len({p.premium.dankai for p in ichigo if p.premium}) == len(table.dankai)


def test_nengaku_table_by_hand() -> None:
    table = {d.dankai: d.ratio for d in fuka_table().dankai}
    # 6,000 yen × 12 = 72,000 yen 基準額; × ratio, floored
    assert nengaku_of(table[5], 6000) == 72_000
    assert nengaku_of(table[1], 6000) == 20_520  # × 0.285
    assert nengaku_of(table[13], 6000) == 172_800  # × 2.4
    assert nengaku_of(table[3], 6000) == 49_320  # × 0.685


def test_split_kibetsu_remainder_in_first() -> None:
    assert split_kibetsu(100, 6) == (20, 16, 16, 16, 16, 16)
    assert split_kibetsu(72_000, 10) == (7_200,) * 10
    assert split_kibetsu(20_525, 10) == (2_057, 2_052, 2_052, 2_052, 2_052, 2_052, 2_052, 2_052, 2_052, 2_052)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="people"):
        generate(-1, seed=1, nendo=NENDO)
    with pytest.raises(ValueError, match="out_of_jis_rate"):
        generate(10, seed=1, nendo=NENDO, out_of_jis_rate=1.5)
