"""A 副本 batch payload (adapters/chukan/fukuhon_plan.py): the items' JSON made once for the hash
is the text the payload line carries — the same bytes as writing the line whole — and a payload
reads back to its changes, a line at fault named."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.fukuhon import items_hash, items_json
from adapters.chukan.messages import Item, ReplicaKey

TM = "TM00000000000101"
KEY = ReplicaKey(TM, "0101", "2", "000000000012345")
ITEMS = st.lists(st.one_of(
    st.builds(lambda no, v: Item(no, value=v), st.sampled_from(["1", "2", "33"]),
              st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=10)),
    st.builds(lambda no: Item(no, unset="NotApplicable"), st.sampled_from(["4", "5"]))), min_size=1, max_size=6)


def _whole(change: fp.Change) -> bytes:
    # the line as one json.dumps of a plain dict: what a payload line was before the reuse
    k = change.key
    record = {"op": change.op, "tm": k.tm, "dataset": k.dataset, "version": k.version, "togo": k.togo_atena_no,
              "sha256": change.sha256, "items": [[i.no, i.value, i.unset] for i in change.items]}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


@settings(max_examples=100, deadline=None)
@given(ITEMS)
def test_a_line_with_the_items_json_made_once_is_the_whole_line(items: list[Item]) -> None:
    canon = items_json(items)
    change = fp.Change(fp.REGISTER, KEY, tuple(items), items_hash(items, canon), canon)
    assert list(fp.render([fp.line(change)])) == [_whole(change)]
    assert fp.parse(fp.render([fp.line(change)])) == [change]


def test_the_hash_is_of_the_items_json() -> None:
    items = [Item("1", value="要介護２"), Item("2", unset="NotCovered")]
    text = '[["1","要介護２",null],["2",null,"NotCovered"]]'
    assert items_json(items) == text
    assert items_hash(items) == items_hash(items, text) == hashlib.sha256(text.encode()).hexdigest()


def test_a_payload_reads_back_sharing_equal_items() -> None:
    changes = [fp.Change(fp.REPLACE, ReplicaKey(TM, "0101", "2", f"{n:015d}"),
                         (Item("1", value="x"), Item("2", unset="NotApplicable")), "ab") for n in range(3)]
    back = fp.parse(fp.render(fp.line(c) for c in changes))
    assert back == changes
    assert back[0].items[1] is back[2].items[1]


def test_a_value_holding_a_unicode_line_break_reads_back() -> None:
    # json.dumps leaves U+2028, U+0085, U+001C raw (ensure_ascii=False); lines end at "\n" only
    items = tuple(Item(str(n), value=f"a{c}b") for n, c in enumerate("\u2028\x85\x1c\u2029\x0b", start=1))
    changes = [fp.Change(fp.REGISTER, KEY, items, "ab"), fp.Change(fp.REGISTER, KEY, items[:1], "cd")]
    assert fp.parse(fp.render(fp.line(c) for c in changes)) == changes


def test_a_line_that_is_not_json_is_refused_by_line() -> None:
    good = b"".join(fp.render([fp.line(fp.Change(fp.DELETE, KEY))]))
    with pytest.raises(json.JSONDecodeError) as refused:
        fp.parse([good, good, b'{"op": "delete", \n'])
    assert refused.value.lineno == 1 and refused.value.doc == '{"op": "delete", '
    with pytest.raises(ValueError, match="payload line 2: unknown operation"):
        fp.parse([good, b'{"op": "upsert"}\n'])
