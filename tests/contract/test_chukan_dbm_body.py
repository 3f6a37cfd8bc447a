"""The DBM bodies adapters/chukan/dbm.py builds by hand are the ones zeep builds from chukan.wsdl:
the same elements, in the same order, with the same texts, for any replicas."""

from __future__ import annotations

import string

import zeep
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from adapters.chukan import dbm, soap
from adapters.chukan.client import _document, _settings
from adapters.chukan.messages import Item, Replica, ReplicaKey

KEY = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
ZEEP = zeep.Client(_document(), settings=_settings())
DBM = ZEEP.bind("ChukanService", "DbmPort")


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=n, max_size=n)


keys = st.builds(ReplicaKey, tm=_digits(14).map(lambda d: "TM" + d), dataset=_digits(4),
                 version=st.text(string.digits, min_size=1, max_size=4), togo_atena_no=_digits(15))
# XML-safe text (no control characters, no surrogates), never empty
values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
items = st.one_of(
    st.builds(lambda no, v: Item(no, value=v), st.text(string.digits, min_size=1, max_size=4), values),
    st.builds(lambda no, u: Item(no, unset=u), st.text(string.digits, min_size=1, max_size=4),
              st.sampled_from(["NotAcceptable", "NotCovered", "NotApplicable", "NotYetDetermined"])),
)
replicas = st.lists(st.builds(Replica, key=keys, items=st.lists(items, min_size=1, max_size=5).map(tuple)),
                    min_size=1, max_size=4)


def _shape(element: etree._Element) -> list[tuple[str, str | None]]:
    return [(str(node.tag), node.text) for node in element.iter()]


def _zeep_body(op: str, **fields: object) -> etree._Element:
    envelope = ZEEP.create_message(DBM, op, IdempotencyKey=KEY, RequestedBy="batch.fukuhon", **fields)
    return envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


@settings(max_examples=60, deadline=None)
@given(replicas, st.sampled_from(["RegisterReplica", "ReplaceReplica"]))
def test_replica_bodies_match_zeep(batch: list[Replica], op: str) -> None:
    ours = dbm.replicas_body(op, batch, key=KEY, by="batch.fukuhon")
    theirs = _zeep_body(op, Replica=[soap.replica_out(r, op) for r in batch])
    assert _shape(ours) == _shape(theirs)


@settings(max_examples=30, deadline=None)
@given(st.lists(keys, min_size=1, max_size=5))
def test_delete_bodies_match_zeep(batch: list[ReplicaKey]) -> None:
    ours = dbm.delete_body(batch, key=KEY, by="batch.fukuhon")
    theirs = _zeep_body("DeleteReplica", ReplicaKey=[soap.key_out(k) for k in batch])
    assert _shape(ours) == _shape(theirs)


def test_shape_sees_a_difference() -> None:
    replica = Replica(ReplicaKey("TM00000000000101", "0101", "7", "000000000067890"), (Item("1", value="a"),))
    other = Replica(replica.key, (Item("1", value="b"),))
    assert _shape(dbm.replicas_body("RegisterReplica", [replica], key=KEY, by="x")) != _shape(
        dbm.replicas_body("RegisterReplica", [other], key=KEY, by="x"))
