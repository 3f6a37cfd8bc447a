"""XML framing: a root element holding one element per record; fields found by `xpath`.

The xpath subset is child steps optionally ending in an attribute ("name", "a/b", "@no",
"a/@no"), relative to the record element; the layout's namespace, if any, is the default
namespace of every element. XML is always UTF-8: libxml2 decodes CP932 with different tables
from Python's (0x8160 becomes U+301C, not U+FF5E), so a Shift_JIS XML file would not read back as
it was written. Character and byte rules still follow the layout's encoding, so the data in an
XML twin of a cp932 CSV layout is the same data.

Parsing is hardened: no DTD (a DOCTYPE refuses the file), no entity resolution, no network,
no huge trees; elements are cleared as soon as their record is read, so memory stays flat.
`Plan`, `element`, `pull_parser`, `events`, `refuse_document` and `read_record` are the pieces
this codec is made of; mappings/kokuho_xml.py frames the 国保連 file with the same pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeAlias
from xml.sax.saxutils import quoteattr

from lxml import etree

from mappings.charpolicy import CharPolicy
from mappings.layout import Field, Layout, RecordKind, XmlFormat
from mappings.records import FieldProblem, ParsedRecord, RecordError, RecordRenderer, parse_texts
from mappings.streams import Source, chunks

_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _fmt(layout: Layout) -> XmlFormat:
    if layout.xml is None:
        raise ValueError(f"layout {layout.id} has no XML framing")
    return layout.xml


def split_tag(tag: str) -> tuple[str | None, str]:
    """(namespace, local name) of an lxml tag "{uri}name". Never raises: lxml takes any URI as a
    namespace, "}" included (etree.QName then refuses the tag with a ValueError; fuzzing found it),
    and a local name never holds "}", so the last one ends the URI."""
    if tag.startswith("{"):
        uri, _, local = tag[1:].rpartition("}")
        return uri, local
    return None, tag


def local_name(tag: str) -> str:
    return split_tag(tag)[1]


def _q(ns: str | None, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


class Plan:
    """Where each field of one record kind lives: qualified element steps, then maybe an attribute."""

    def __init__(self, kind: RecordKind, ns: str | None) -> None:
        self.tag = _q(ns, kind.element or kind.name)
        self.where: list[tuple[Field, tuple[str, ...], str | None]] = []
        for f in kind.fields:
            if f.converter.name == "filler" or f.xpath is None:
                continue
            *steps, last = f.xpath.path.split("/")
            attr = last[1:] if last.startswith("@") else None
            if attr is None:
                steps.append(last)
            self.where.append((f, tuple(_q(ns, s) for s in steps), attr))
        self.children = {steps[0] for _, steps, _ in self.where if steps}


def render(layout: Layout, records: Iterable[Mapping[str, Any]], *, chars: CharPolicy | None = None,
           batch: int = 500) -> Iterator[bytes]:
    fmt = _fmt(layout)
    ns = fmt.namespace
    plans = {k.name: Plan(k, ns) for k in layout.kinds}
    renderer = RecordRenderer(layout, chars)
    xmlns = f" xmlns={quoteattr(ns)}" if ns else ""
    buf = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{fmt.root}{xmlns}>\n']
    nsmap = {None: ns} if ns else None
    for index, record in enumerate(records, start=1):
        got = renderer.texts(index, record)
        if got is None:
            continue
        kind, texts = got
        el = element(plans[kind.name], kind, texts, nsmap)
        buf.append(etree.tostring(el, encoding="unicode") + "\n")
        if len(buf) >= batch:
            yield "".join(buf).encode("utf-8")
            buf.clear()
    buf.append(f"</{fmt.root}>\n")
    yield "".join(buf).encode("utf-8")


def element(plan: Plan, kind: RecordKind, texts: list[str], nsmap: Mapping[Any, str] | None) -> Any:
    """One record element from its field texts (RecordRenderer.texts order)."""
    el = etree.Element(plan.tag, nsmap=nsmap)
    text_of = dict(zip((f.name for f in kind.fields), texts, strict=True))
    for f, steps, attr in plan.where:
        text = text_of[f.name]
        if text == "" and not f.converter.always:
            continue  # an absent optional value is an absent element or attribute
        target = el
        for step in steps:
            child = target.find(step)
            target = child if child is not None else etree.SubElement(target, step)
        if attr is not None:
            target.set(attr, text)
        else:
            target.text = text
    return el


def pull_parser(tags: Iterable[str], schema: Any = None) -> Any:
    """The hardened streaming parser: no entities, no DTD, no network, no huge trees; `schema`
    (an etree.XMLSchema) is checked as the document streams by, its verdict raised at close."""
    return etree.XMLPullParser(events=("start", "end"), tag=tuple(tags), resolve_entities=False,
                               no_network=True, load_dtd=False, huge_tree=False, schema=schema)


def _file_error(file: str, record_no: int, rule: str, detail: str) -> RecordError:
    return RecordError(file, record_no, (FieldProblem(None, rule, detail),))


def parse(layout: Layout, source: Source, *, file: str = "<stream>") -> Iterator[ParsedRecord | RecordError]:
    """Every record, good or bad. A file-level fault (DOCTYPE, other encoding, wrong root, broken
    XML) is reported as a RecordError for the record where it was met, and parsing stops there."""
    fmt = _fmt(layout)
    ns = fmt.namespace
    root = _q(ns, fmt.root)
    plans = {p.tag: (k, p) for k in layout.kinds for p in (Plan(k, ns),)}
    parser = pull_parser((root, *plans))
    record_no, first = 0, True
    for item in events(parser, source, file):
        if isinstance(item, RecordError | etree.XMLSyntaxError):
            yield item if isinstance(item, RecordError) else _file_error(
                file, record_no + 1, "xml_syntax", str(item))
            return
        event, el = item
        if first:
            first = False
            refused = refuse_document(el, root, file)
            if refused is not None:
                yield refused
                return
        if event != "end" or el.tag == root:
            continue
        record_no += 1
        kind, plan = plans[el.tag]
        parent = el.getparent()
        if parent is None or parent.tag != root:
            yield _file_error(file, record_no, "nesting", f"{kind.element} not a child of {fmt.root}")
        else:
            yield read_record(kind, plan, el, file, record_no)
        el.clear()
        while parent is not None and el.getprevious() is not None:
            del parent[0]  # drop records already read: memory stays flat


Event: TypeAlias = tuple[str, Any] | RecordError | etree.XMLSyntaxError


def events(parser: Any, source: Source, file: str) -> Iterator[Event]:
    """Parser events; a syntax error comes after the events completed before it."""
    head: bytes | None = b""  # the XML declaration is judged whole, however small the source's pieces are
    try:
        for chunk in chunks(source):
            if head is not None:
                head += chunk
                if len(head) < 256 and b"?>" not in head and head.startswith(b"<?xml"[:len(head)]):
                    continue
                chunk, head = head, None
                declared = _DECLARED.match(chunk)
                if (declared and declared.group(1).upper() not in (b"UTF-8", b"UTF8")) or chunk[:2] in (
                        b"\xff\xfe", b"\xfe\xff"):
                    yield _file_error(file, 0, "xml_encoding", "XML must be UTF-8")
                    return
            parser.feed(chunk)
            yield from parser.read_events()
        if head:
            parser.feed(head)
        parser.close()
        yield from parser.read_events()
    except etree.XMLSyntaxError as exc:
        yield from parser.read_events()
        yield exc


def refuse_document(el: Any, root: str, file: str) -> RecordError | None:
    tree = el.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return _file_error(file, 0, "doctype", "a DOCTYPE is not accepted (no DTD, no entities)")
    if tree.getroot().tag != root:
        return _file_error(file, 0, "root", f"root element is not {local_name(root)}")
    return None


def read_record(kind: RecordKind, plan: Plan, el: Any, file: str, record_no: int) -> ParsedRecord | RecordError:
    problems = [FieldProblem(None, "unexpected_element", f"element {local_name(child.tag)} is not in "
                             f"record {kind.name}")
                for child in el if isinstance(child.tag, str) and child.tag not in plan.children]
    found: dict[str, str | None] = {}
    for f, steps, attr in plan.where:
        target: Any = el
        text: str | None = ""
        for step in steps:
            hits = target.findall(step)
            if len(hits) > 1:
                problems.append(FieldProblem(f.name, "duplicate_element", f"{len(hits)} elements {f.xpath}"))
                target = None
                text = None
                break
            target = hits[0] if hits else None
            if target is None:
                break
        if target is not None:
            if attr is not None:
                text = target.get(attr, "")
            elif len(target):
                problems.append(FieldProblem(f.name, "mixed_content", "a field element has child elements"))
                text = None
            else:
                text = target.text or ""
        found[f.name] = text
    texts = [found.get(f.name, "") if f.converter.name != "filler" else f.converter.to_text(None)
             for f in kind.fields]
    return parse_texts(kind, texts, file=file, record_no=record_no, problems=problems)
