"""DBM 副本登録 request bodies built straight with lxml.

zeep builds a request through its object model, about 0.2 ms per item; a 副本 refresh sends
hundreds of thousands of items, so the three DBM bodies are built here instead (10× faster) —
the same elements zeep would build (tests/contract/test_chukan_dbm_body.py compares them), still
checked against chukan.xsd before sending, and zeep still reads the answer.

Register/Replace bodies (hundreds of replicas, thousands of items) are written as escaped text
and parsed once by lxml, in C: a SubElement per item cost a microsecond each in Python. The
parsed tree is what is checked and sent. Text the XML parser refuses (a control character) takes
the element builder, which names the item (``_replicas_tree``): both paths refuse the same
characters (tests/unit/test_chukan_dbm_text.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from lxml import etree

from adapters.chukan.errors import ChukanRequestInvalid
from adapters.chukan.messages import Item, Replica, ReplicaKey

NS = "urn:kaigo-bridge:chukan:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_Q = {name: f"{{{NS}}}{name}" for name in (
    "IdempotencyKey", "RequestedBy", "Replica", "ReplicaKey", "TokuteiJohoMeiCode", "DataSetCode",
    "LayoutVersion", "TogoAtenaNo", "Item", "ItemNo", "Value", "UnsetReason")}


def envelope(body: etree._Element) -> etree._Element:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(body)
    return env


def _start(op: str, key: str, by: str) -> etree._Element:
    element = etree.Element(f"{{{NS}}}{op}Request", nsmap={"ns0": NS})
    sub = etree.SubElement
    sub(element, _Q["IdempotencyKey"]).text = key
    sub(element, _Q["RequestedBy"]).text = by
    return element


def _key(parent: etree._Element, key: ReplicaKey) -> None:
    sub = etree.SubElement
    sub(parent, _Q["TokuteiJohoMeiCode"]).text = key.tm
    sub(parent, _Q["DataSetCode"]).text = key.dataset
    sub(parent, _Q["LayoutVersion"]).text = key.version
    sub(parent, _Q["TogoAtenaNo"]).text = key.togo_atena_no


def replicas_body(op: str, replicas: Sequence[Replica], *, key: str, by: str) -> etree._Element:
    """RegisterReplicaRequest / ReplaceReplicaRequest."""
    written = _write(op, replicas, key, by)
    if written is None:  # an empty value: refused, the builder names the first item at fault
        return _replicas_tree(op, replicas, key=key, by=by)
    text, elements = written
    # Markup has exactly two "<" and two ">" per element and no "&" or carriage return: any more
    # means some text holds one of them, and only then is every text escaped (rarely: values
    # are numbers, codes and dates).
    if (text.count("<") != 2 * elements or text.count(">") != 2 * elements or "&" in text
            or "\r" in text):
        text, _ = _write(op, [_escaped(r) for r in replicas], _text(key), _text(by)) or ("", 0)
    try:
        return etree.fromstring(text.encode(), _PARSER)
    except (etree.XMLSyntaxError, UnicodeEncodeError):  # a character XML cannot carry: the builder names it
        return _replicas_tree(op, replicas, key=key, by=by)


def _write(op: str, replicas: Sequence[Replica], key: str, by: str) -> tuple[str, int] | None:
    """The body as text, its texts as given (escaped or not), and how many elements it has; None
    when an item has an empty value."""
    parts = [f'<ns0:{op}Request xmlns:ns0="{NS}"><ns0:IdempotencyKey>{key}</ns0:IdempotencyKey>'
             f"<ns0:RequestedBy>{by}</ns0:RequestedBy>"]
    add = parts.append
    elements = 3
    for replica in replicas:
        k = replica.key
        add(f"<ns0:Replica><ns0:TokuteiJohoMeiCode>{k.tm}</ns0:TokuteiJohoMeiCode><ns0:DataSetCode>{k.dataset}"
            f"</ns0:DataSetCode><ns0:LayoutVersion>{k.version}</ns0:LayoutVersion><ns0:TogoAtenaNo>"
            f"{k.togo_atena_no}</ns0:TogoAtenaNo>")
        elements += 5 + 3 * len(replica.items)
        for item in replica.items:
            if item.value is not None:
                if item.value == "":
                    return None
                add(f"<ns0:Item><ns0:ItemNo>{item.no}</ns0:ItemNo><ns0:Value>{item.value}</ns0:Value></ns0:Item>")
            else:
                add(f"<ns0:Item><ns0:ItemNo>{item.no}</ns0:ItemNo><ns0:UnsetReason>{item.unset}</ns0:UnsetReason>"
                    "</ns0:Item>")
        add("</ns0:Replica>")
    add(f"</ns0:{op}Request>")
    return "".join(parts), elements


def _escaped(replica: Replica) -> Replica:
    k = replica.key
    key = ReplicaKey(tm=_text(k.tm), dataset=_text(k.dataset), version=_text(k.version),
                     togo_atena_no=_text(k.togo_atena_no))
    return Replica(key, tuple(Item(_text(i.no), value=_text(i.value)) if i.value is not None
                              else Item(_text(i.no), unset=_text(i.unset or "")) for i in replica.items))


def _text(value: str) -> str:
    # & < > as entities; a carriage return as a reference, or the parser would read it as a newline
    return escape(value, _CR)


_CR = {"\r": "&#13;"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _empty(op: str, no: str) -> ChukanRequestInvalid:
    # zeep would leave the choice out; refuse alike so both paths agree
    return ChukanRequestInvalid(f"中間サーバー {op}: item {no} has an empty value; give a 未設定事由 instead",
                                operation=op)


def _replicas_tree(op: str, replicas: Sequence[Replica], *, key: str, by: str) -> etree._Element:
    """The same body, element by element: lxml refuses a character XML cannot carry as it is set."""
    element = _start(op, key, by)
    sub = etree.SubElement
    q_replica, q_item, q_no, q_value, q_unset = (_Q[n] for n in ("Replica", "Item", "ItemNo", "Value",
                                                                 "UnsetReason"))
    for replica in replicas:
        node = sub(element, q_replica)
        _key(node, replica.key)
        for item in replica.items:
            item_node = sub(node, q_item)
            sub(item_node, q_no).text = item.no
            if item.value is not None:
                if item.value == "":
                    raise _empty(op, item.no)
                try:
                    sub(item_node, q_value).text = item.value
                except ValueError:  # a control character: XML cannot carry it
                    raise ChukanRequestInvalid(f"中間サーバー {op}: item {item.no} holds a character XML "
                                               "cannot carry", operation=op) from None
            else:
                sub(item_node, q_unset).text = item.unset
    return element


def delete_body(keys: Sequence[ReplicaKey], *, key: str, by: str) -> etree._Element:
    element = _start("DeleteReplica", key, by)
    for replica_key in keys:
        _key(etree.SubElement(element, _Q["ReplicaKey"]), replica_key)
    return element
