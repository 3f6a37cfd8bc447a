"""受給者 data: the tables' rules (CHECKs, foreign key, 事業所番号 check digit) and the generator's
受給者 (deterministic, only for people with a level, shares and amounts as documented), loaded."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fixtures.population import Person, generate, load
from store.identifiers import InvalidIdentifier, validate_jigyosho_no
from store.models import FutanGendogaku, FutanWariai, KyotakuKeikaku, Shikaku, ShikyuGendogaku
from store.mynumber import MyNumberCipher

NENDO = 2026
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
# 区分支給限度基準額 (単位/月, 2019-10 告示), written out here rather than taken from the generator.
GENDO = {"12": 5032, "13": 10531, "21": 16765, "22": 19705, "23": 27048, "24": 30938, "25": 36217}


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(generate(20_000, seed=2025, nendo=NENDO))


def test_same_seed_same_data_other_seed_other() -> None:
    a = [p.jukyusha for p in generate(3000, seed=5, nendo=NENDO)]
    assert a == [p.jukyusha for p in generate(3000, seed=5, nendo=NENDO)]
    b = [p.jukyusha for p in generate(3000, seed=6, nendo=NENDO)]
    assert sum(x is not None and x == y for x, y in zip(a, b, strict=True)) < 5


def test_only_people_with_a_level_and_shares(people: list[Person]) -> None:
    with_level = [p for p in people if p.nintei is not None and p.nintei.yokaigo_kubun != "01"]
    assert [p for p in people if p.jukyusha is not None] == with_level
    assert len(with_level) > 2000
    wariai = Counter(p.jukyusha.wariai for p in with_level if p.jukyusha and p.hihokensha_kubun == "1")
    total = sum(wariai.values())
    assert 0.86 < wariai[1] / total < 0.94 and 0.03 < wariai[2] / total < 0.08 and 0.03 < wariai[3] / total < 0.08
    assert {p.jukyusha.wariai for p in with_level if p.jukyusha and p.hihokensha_kubun == "2"} == {1}
    plans = [p.jukyusha.keikaku for p in with_level if p.jukyusha]
    assert 0.81 < sum(k is not None for k in plans) / len(plans) < 0.89
    gendogaku = [p.jukyusha.gendogaku for p in with_level if p.jukyusha]
    assert 0.05 < sum(g is not None for g in gendogaku) / len(gendogaku) < 0.11


def test_amounts_codes_and_periods(people: list[Person]) -> None:
    kubun_seen: Counter[str] = Counter()
    for p in people:
        j, n = p.jukyusha, p.nintei
        if j is None or n is None or n.valid_from is None or n.valid_to is None:
            continue
        assert (j.gendo_kubun, j.gendo_tani) == (n.yokaigo_kubun, GENDO[n.yokaigo_kubun])
        assert (j.gendo_period.valid_from, j.gendo_period.valid_to) == (n.valid_from, n.valid_to)
        start, end = j.wariai_period.valid_from, j.wariai_period.valid_to
        assert start == n.valid_from and start <= end <= n.valid_to
        assert end == n.valid_to or (end.month, end.day) == (7, 31)
        assert (end - start).days < 366
        if j.keikaku is not None:
            kubun, jigyosho = j.keikaku
            kubun_seen[kubun] += 1
            assert (kubun == "4") == (n.yokaigo_kubun in ("12", "13"))
            assert (kubun == "3") == (jigyosho is None)
            if jigyosho is not None:
                assert validate_jigyosho_no(jigyosho).startswith("13")
        if j.gendogaku is not None:
            shokuhi, *kyojuhi = j.gendogaku
            assert shokuhi in (300, 390, 650, 1360) and len(kyojuhi) == 5
    assert set(kubun_seen) == {"1", "2", "3", "4"} and kubun_seen["1"] > 10 * kubun_seen["3"]


def test_load_stores_the_data(store: sessionmaker[Session]) -> None:
    people = [p for p in generate(1500, seed=9, nendo=NENDO) if p.jukyusha is not None]
    expected = {
        FutanWariai: len(people),
        ShikyuGendogaku: len(people),
        KyotakuKeikaku: sum(p.jukyusha.keikaku is not None for p in people if p.jukyusha),
        FutanGendogaku: sum(p.jukyusha.gendogaku is not None for p in people if p.jukyusha),
    }
    counts = load(store, CIPHER, 1500, seed=9, nendo=NENDO, batch=400)
    assert counts.jukyusha == sum(expected.values())
    with store() as s:
        assert {m: s.scalar(select(func.count()).select_from(m)) for m in expected} == expected
        sample = people[len(people) // 2]
        row = s.scalars(select(ShikyuGendogaku).where(ShikyuGendogaku.hihokensha_no == sample.hihokensha_no)).one()
        assert sample.jukyusha is not None and row.gendo_tani == sample.jukyusha.gendo_tani


GOOD: dict[type, dict[str, Any]] = {
    FutanWariai: {"wariai": 1},
    ShikyuGendogaku: {"yokaigo_kubun": "21", "gendo_tani": 16765},
    KyotakuKeikaku: {"sakusei_kubun": "1", "jigyosho_no": "1312345679"},
    FutanGendogaku: dict.fromkeys(
        ("shokuhi", "unit_koshitsu", "unit_junkoshitsu", "juraigata_tokuyo", "juraigata_roken", "tashoshitsu"), 390
    ),
}


@pytest.mark.parametrize(
    ("model", "changes", "rule"),
    [
        (FutanWariai, {"wariai": 4}, "wariai_code"),
        (FutanWariai, {"valid_to": date(2026, 3, 31)}, "valid_period_order"),
        (ShikyuGendogaku, {"yokaigo_kubun": "01"}, "yokaigo_kubun_code"),
        (ShikyuGendogaku, {"gendo_tani": 0}, "gendo_tani_positive"),
        (KyotakuKeikaku, {"sakusei_kubun": "5"}, "sakusei_kubun_code"),
        (KyotakuKeikaku, {"sakusei_kubun": "3"}, "jigyosho_unless_jiko"),
        (KyotakuKeikaku, {"jigyosho_no": None}, "jigyosho_unless_jiko"),
        (KyotakuKeikaku, {"jigyosho_no": "131234567"}, "jigyosho_no_length"),
        (FutanGendogaku, {"tashoshitsu": -1}, "limits_not_negative"),
        (FutanWariai, {"hihokensha_no": "9999999999"}, "FOREIGN KEY"),
    ],
)
def test_checks_refuse_bad_rows(store: sessionmaker[Session], model: type, changes: dict[str, Any], rule: str) -> None:
    load(store, CIPHER, 5, seed=1, nendo=NENDO)
    with store() as s:
        hihokensha_no = s.scalars(select(Shikaku.hihokensha_no)).first()
    row = {"hihokensha_no": hihokensha_no, "valid_from": date(2026, 4, 1), "valid_to": date(2027, 3, 31)}
    with store.begin() as s:  # the good row goes in: the refusal below is the change's doing
        s.execute(insert(model), [row | GOOD[model] | {"valid_from": date(2025, 4, 1)}])
    with pytest.raises(IntegrityError, match=rule), store.begin() as s:
        s.execute(insert(model), [row | GOOD[model] | changes])


def test_orm_path_checks_the_jigyosho_check_digit() -> None:
    # 131234567: weights 2,1,2,… from the right, digit sums 5+6+1+4+6+2+2+3+2 = 31 → check 9.
    assert KyotakuKeikaku(jigyosho_no="1312345679").jigyosho_no == "1312345679"
    with pytest.raises(InvalidIdentifier, match="check digit"):
        KyotakuKeikaku(jigyosho_no="1312345674")
