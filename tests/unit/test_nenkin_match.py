"""Z11 persons matched to 宛名: one sure match, or unmatched / ambiguous with the reason — never a
guess. The names are written out here in both widths (the file's half-width, the store's full)."""

from __future__ import annotations

import datetime as dt

from adapters.nenkin.match import AMBIGUOUS, MATCHED, UNMATCHED, Atena, AtenaIndex, Person, kana_key

BIRTH = dt.date(1950, 4, 2)


def atena(no: str, kiso: str | None, kana: str = "カイゴ　タロウ", birth: dt.date = BIRTH, sex: str = "1",
          dai1go: bool = True) -> Atena:
    return Atena(f"{no:0>15}", kiso, birth, sex, kana, dai1go)


def person(kiso: str = "1234567890", kana: str = "ｶｲｺﾞ ﾀﾛｳ", birth: dt.date = BIRTH, sex: str = "1") -> Person:
    return Person(kiso, birth, sex, kana)


def test_kana_in_either_width_with_voiced_marks_is_the_same_name() -> None:
    assert kana_key("ｶﾞｲｺﾞ ﾀﾛｳ") == kana_key("ガイゴ　タロウ") == "ガイゴタロウ"
    assert kana_key("ｶｲｺﾞ ﾀﾛｳ") != kana_key("ｶｲｺ ﾀﾛｳ")


def test_one_atena_with_the_same_number_birth_and_sex_is_a_match() -> None:
    index = AtenaIndex([atena("1", "1234567890"), atena("2", "1111111111")])
    m = index.match(person())
    assert m.state == MATCHED
    assert m.atena_no == "000000000000001"


def test_kana_breaks_a_tie_between_two_with_the_same_number() -> None:
    index = AtenaIndex([atena("1", "1234567890", "カイゴ　ハナコ"), atena("2", "1234567890")])
    m = index.match(person())
    assert (m.state, m.atena_no) == (MATCHED, "000000000000002")


def test_a_tie_kana_does_not_break_is_ambiguous_with_both_offered() -> None:
    index = AtenaIndex([atena("1", "1234567890"), atena("2", "1234567890")])
    m = index.match(person())
    assert m.state == AMBIGUOUS and m.atena_no is None
    assert m.suggestions == ("000000000000001", "000000000000002")
    none_fits = AtenaIndex([atena("1", "1234567890", "ア"), atena("2", "1234567890", "イ")]).match(person())
    assert none_fits.state == AMBIGUOUS and "none has this カナ氏名" in none_fits.reason


def test_another_birth_or_sex_is_not_matched_even_with_the_number() -> None:
    index = AtenaIndex([atena("1", "1234567890", birth=dt.date(1950, 4, 3))])
    assert index.match(person()).state == UNMATCHED
    index = AtenaIndex([atena("1", "1234567890", sex="2")])
    m = index.match(person())
    assert m.state == UNMATCHED and m.atena_no is None and m.suggestions == ("000000000000001",)


def test_an_unknown_number_is_unmatched_and_look_alikes_are_only_suggested() -> None:
    index = AtenaIndex([atena("7", None), atena("8", "9999999999", birth=dt.date(1949, 1, 1))])
    m = index.match(person())
    assert (m.state, m.atena_no, m.suggestions) == (UNMATCHED, None, ("000000000000007",))


def test_someone_who_is_not_a_dai1go_hihokensha_is_unmatched() -> None:
    m = AtenaIndex([atena("1", "1234567890", dai1go=False)]).match(person())
    assert (m.state, m.atena_no) == (UNMATCHED, None) and "第1号" in m.reason
