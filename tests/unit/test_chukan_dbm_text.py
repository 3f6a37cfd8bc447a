"""The DBM Register/Replace body written as text and parsed once (adapters/chukan/dbm.py) is the
body the element builder makes, byte for byte on the wire, for texts that need escaping too; the
characters XML cannot carry are refused alike, naming the item. The request check
(adapters/chukan/transport.check) scans a whole batch's values at once and still finds a
個人番号 in any one of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from zeep.wsdl.utils import etree_to_string

from adapters.chukan import dbm
from adapters.chukan.errors import ChukanRequestInvalid
from adapters.chukan.messages import Item, Replica, ReplicaKey
from adapters.chukan.transport import check
from store.identifiers import kojin_bango_check_digit

KEY = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
TM = "TM00000000000101"
# markup characters, a carriage return (the parser would read a bare one as a newline), CDATA's
# end, quotes, non-BMP and line-separator characters, and plain digits
TEXTS = st.text(st.sampled_from(list("0123456789ab&<>\"'\r\n\t ]あ漢\u2028\U0001f600")), min_size=1, max_size=12)
ITEMS = st.one_of(st.builds(lambda no, v: Item(no, value=v), st.sampled_from(["1", "2", "10"]), TEXTS),
                  st.builds(lambda no: Item(no, unset="NotApplicable"), st.sampled_from(["3", "4"])))
BATCHES = st.lists(st.builds(Replica, key=st.builds(ReplicaKey, tm=st.just(TM), dataset=st.just("0101"),
                                                    version=st.just("2"), togo_atena_no=st.just("000000000012345")),
                             items=st.lists(ITEMS, min_size=1, max_size=6).map(tuple)), min_size=1, max_size=5)


def _wire(body: etree._Element) -> bytes:
    return bytes(etree_to_string(dbm.envelope(body)))


@settings(max_examples=150, deadline=None)
@given(BATCHES, st.sampled_from(["RegisterReplica", "ReplaceReplica"]))
def test_text_body_is_the_element_builders_body(batch: list[Replica], op: str) -> None:
    ours = _wire(dbm.replicas_body(op, batch, key=KEY, by="batch.fukuhon"))
    assert ours == _wire(dbm._replicas_tree(op, batch, key=KEY, by="batch.fukuhon"))


def test_escaped_texts_arrive_as_given() -> None:
    values = ["a&b", "<x>", "1\r\n2", "]]>", "'\""]
    batch = [Replica(ReplicaKey(TM, "0101", "2", "000000000012345"),
                     tuple(Item(str(n), value=v) for n, v in enumerate(values, start=1)))]
    body = dbm.replicas_body("RegisterReplica", batch, key=KEY, by="x")
    assert [n.text for n in body.iter(f"{{{dbm.NS}}}Value")] == values


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1f", "\ufffe", "\ud800"])
def test_a_character_xml_cannot_carry_is_refused_naming_the_item(bad: str) -> None:
    batch = [Replica(ReplicaKey(TM, "0101", "2", "000000000012345"),
                     (Item("1", value="ok"), Item("7", value=f"a{bad}b")))]
    with pytest.raises(ChukanRequestInvalid, match="item 7 holds a character XML cannot carry") as refused:
        dbm.replicas_body("RegisterReplica", batch, key=KEY, by="x")
    assert bad not in str(refused.value)


def test_an_empty_value_is_refused_after_an_earlier_unsendable_character_as_before() -> None:
    batch = [Replica(ReplicaKey(TM, "0101", "2", "000000000012345"),
                     (Item("1", value="a\x02"), Item("2", value="")))]
    with pytest.raises(ChukanRequestInvalid, match="item 1 holds a character"):
        dbm.replicas_body("RegisterReplica", batch, key=KEY, by="x")
    with pytest.raises(ChukanRequestInvalid, match="item 2 has an empty value"):
        dbm.replicas_body("RegisterReplica", [Replica(batch[0].key, (Item("2", value=""),))], key=KEY, by="x")


def _number() -> str:
    body = "12345678901"
    return body + str(kojin_bango_check_digit(body))


def _batch(values: list[str]) -> list[Replica]:
    return [Replica(ReplicaKey(TM, "0101", "2", f"{n:015d}"), (Item("1", value=v), Item("2", unset="NotApplicable")))
            for n, v in enumerate(values)]


@pytest.mark.parametrize("where", [0, 250, 499])
def test_check_finds_a_kojin_bango_in_any_value_of_a_batch(where: int) -> None:
    number = _number()
    values = [f"{n:010d}" for n in range(500)]
    values[where] = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    with pytest.raises(ChukanRequestInvalid, match="Value holds what looks like a 個人番号") as refused:
        check(dbm.envelope(dbm.replicas_body("RegisterReplica", _batch(values), key=KEY, by="x")))
    assert number not in str(refused.value)


def test_check_does_not_join_two_values_into_one_number() -> None:
    number = _number()
    # each value alone is no 個人番号; end to end they would spell one
    check(dbm.envelope(dbm.replicas_body("RegisterReplica", _batch([number[:6], number[6:]]), key=KEY, by="x")))
    check(dbm.envelope(dbm.replicas_body("RegisterReplica", _batch([number[:4] + " ", number[4:8] + " ",
                                                                     number[8:]]), key=KEY, by="x")))
