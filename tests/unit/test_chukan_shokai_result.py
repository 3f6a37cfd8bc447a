"""A 地方税関係情報 result read through mappings/layouts/chukan/chiho-zei-v1.toml, and packed for the
payload store."""

from __future__ import annotations

import pytest

from adapters.chukan.messages import Item, QueryResult
from adapters.chukan.shokai_result import Income, ResultError, income_of, pack, unpack

TM = "TM00000000000201"


def result(*items: Item, version: str = "1", tm: str = TM) -> QueryResult:
    return QueryResult(query_id="Q-00000001", tm=tm, version=version, items=items)


def test_a_result_gives_the_income_for_fuka() -> None:
    income = income_of(result(Item("1", value="1830000"), Item("2", value="1"), Item("3", value="2400000")))
    assert income == Income(kazei_kubun="1", gokei_shotoku=1_830_000, nenkin_shunyu=2_400_000)


def test_an_unset_item_is_none_and_a_loss_is_negative() -> None:
    income = income_of(result(Item("1", value="-120000"), Item("2", value="0"), Item("3", unset="NotCovered")))
    assert income == Income(kazei_kubun="0", gokei_shotoku=-120_000, nenkin_shunyu=None)


def test_income_repr_shows_no_amount() -> None:
    assert "1830000" not in repr(Income(kazei_kubun="1", gokei_shotoku=1_830_000, nenkin_shunyu=None))


@pytest.mark.parametrize(("items", "words"), [
    ((Item("1", value="5"), Item("2", value="1")), "missing item(s) 3"),
    ((Item("1", value="5"), Item("2", value="1"), Item("3", value="0"), Item("9", value="7")), "unknown item(s) 9"),
    ((Item("1", value="5"), Item("1", value="6"), Item("2", value="1"), Item("3", value="0")), "repeated item(s) 1"),
])
def test_a_result_that_does_not_fit_is_refused_whole(items: tuple[Item, ...], words: str) -> None:
    with pytest.raises(ResultError, match=r"query Q-00000001: does not fit chukan/chiho-zei-v1 data set 0001") as e:
        income_of(result(*items))
    assert words in str(e.value)


def test_a_bad_value_is_named_by_item_never_shown() -> None:
    with pytest.raises(ResultError) as e:
        income_of(result(Item("1", value="98765x"), Item("2", value="1"), Item("3", value="0")))
    assert "item 1 (合計所得金額)" in str(e.value)
    assert "98765" not in str(e.value)


def test_an_unknown_version_or_tm_is_refused() -> None:
    with pytest.raises(ResultError, match="no layout chiho-zei for 版 77"):
        income_of(result(Item("1", value="5"), version="77"))
    with pytest.raises(ResultError, match="0 data sets for TM00000000000202"):
        income_of(result(Item("1", value="5"), tm="TM00000000000202"))


def test_pack_keeps_every_item_as_it_came() -> None:
    original = result(Item("1", value="1830000"), Item("2", value="1"), Item("3", unset="NotCovered"))
    assert unpack(pack(original)) == original
