"""The XSDs of the 国保連 XML form, generated from the layouts (the data), committed in
fixtures/kokuho/xsd/ so partners and tools get plain files:

    python -m mappings.kokuho_xsd            # rewrite fixtures/kokuho/xsd/
    python -m mappings.kokuho_xsd --check    # exit 1 if the committed files differ

One XSD per layout edition (its namespace): frame-v1.xsd declares <kokuhoFile> = <control>, any
number of records of other namespaces (processContents="strict": each must be a record some
imported XSD declares), then <end>; each data layout's XSD declares its record elements, one
child element per field in field order, optional where the field is not required. kokuho.xsd
imports them all: it is the schema kokuho_xml checks documents against.

Field contents are xs:string on purpose: value rules (digits, dates, codes, widths, charsets)
are the converters', which report every bad value per record with personal values masked and go
on; value facets here would stop the file at the first bad value and echo it in libxml2's message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from mappings import kokuho_frame as kf
from mappings.kokuho_xml import CATALOG, END, END_FIELDS, XSD_DIR, data_layouts
from mappings.layout import Field, Layout, RecordKind

XS = "http://www.w3.org/2001/XMLSchema"


def file_name(layout: Layout) -> str:
    return f"{layout.name}-v{layout.version}.xsd"


def _doc(text: str) -> str:
    return f"<xs:annotation><xs:documentation>{escape(text)}</xs:documentation></xs:annotation>"


def _fields(fields: Iterable[tuple[str, str, bool]], indent: str) -> list[str]:
    optional = ' minOccurs="0"'
    return [f'{indent}<xs:element name="{name}" type="xs:string"{"" if required else optional}>'
            f"{_doc(label)}</xs:element>" for name, label, required in fields]


def _field_rows(kind: RecordKind, layout: Layout) -> list[tuple[str, str, bool]]:
    rows = []
    for f in kind.fields:
        if f.xpath is None:
            continue  # fillers: no place in XML
        if "/" in f.xpath.path or f.xpath.path.startswith("@"):
            raise ValueError(f"{layout.id} record {kind.name} field {f.name}: the 国保連 XSD takes one "
                             f"child element per field, not xpath {f.xpath.path!r}")
        rows.append((f.xpath.path, f.label, _required(f)))
    return rows


def _required(f: Field) -> bool:
    return f.required or f.converter.always


def _record(kind: RecordKind, layout: Layout, indent: str, doc: str) -> list[str]:
    return [f'{indent}<xs:element name="{kind.element or kind.name}">{_doc(doc)}',
            f"{indent}  <xs:complexType>", f"{indent}    <xs:sequence>",
            *_fields(_field_rows(kind, layout), indent + "      "),
            f"{indent}    </xs:sequence>", f"{indent}  </xs:complexType>", f"{indent}</xs:element>"]


def _schema(layout: Layout, body: list[str]) -> str:
    assert layout.xml is not None and layout.xml.namespace, f"{layout.id}: a namespace is needed"
    ns = quoteattr(layout.xml.namespace)
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- Generated from mappings/layouts/{layout.partner}/{layout.name}-v{layout.version}.toml by "
        "python -m mappings.kokuho_xsd: do not edit. -->",
        f'<xs:schema xmlns:xs="{XS}" targetNamespace={ns} xmlns={ns} elementFormDefault="qualified">',
        f"  {_doc(f'{layout.label} — {layout.source}')}", *body, "</xs:schema>", ""])


def frame_xsd(frame: Layout) -> str:
    assert frame.xml is not None
    control = frame.kind("control")
    body = [f'  <xs:element name="{frame.xml.root}">{_doc("国保連 交換ファイル (XML form)")}',
            "    <xs:complexType>", "      <xs:sequence>",
            *_record(control, frame, "        ", "コントロールレコード"),
            '        <xs:any namespace="##other" processContents="strict" minOccurs="0" maxOccurs="unbounded">'
            f"{_doc('データレコード: a record element of a data layout (its namespace names the edition)')}"
            "</xs:any>",
            f'        <xs:element name="{END}">{_doc("エンドレコード")}', "          <xs:complexType>",
            "            <xs:sequence>", *_fields(((n, label, True) for n, label in END_FIELDS), " " * 14),
            "            </xs:sequence>",
            "          </xs:complexType>", "        </xs:element>",
            "      </xs:sequence>", "    </xs:complexType>", "  </xs:element>"]
    return _schema(frame, body)


def data_xsd(layout: Layout) -> str:
    body: list[str] = []
    for kind in layout.kinds:
        body.extend(_record(kind, layout, "  ", f"{layout.label}: {kind.name}"))
    return _schema(layout, body)


def generate(index: kf.ExchangeIndex | None = None) -> dict[str, str]:
    """File name → XSD text for the frame, every XML data layout of the index, and the catalog."""
    frame = kf.frame_layout()
    data = data_layouts(index or kf.default_index())
    files = {file_name(frame): frame_xsd(frame), **{file_name(layout): data_xsd(layout) for layout in data}}
    imports = [f'  <xs:import namespace={quoteattr(layout.xml.namespace)} schemaLocation="{file_name(layout)}"/>'
               for layout in (frame, *data) if layout.xml and layout.xml.namespace]
    files[CATALOG] = "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- Generated by python -m mappings.kokuho_xsd from the 国保連 layouts: do not edit. -->",
        f'<xs:schema xmlns:xs="{XS}" targetNamespace="urn:kaigo-bridge:kokuho:catalog">', *imports,
        "</xs:schema>", ""])
    return files


def stale(directory: Path = XSD_DIR) -> list[str]:
    """The files in `directory` that differ from what the layouts say (or are missing or extra)."""
    want = generate()
    have = {p.name for p in directory.glob("*.xsd")}
    return sorted(n for n in want.keys() | have
                  if n not in have or n not in want or (directory / n).read_text("utf-8") != want[n])


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        bad = stale()
        print("\n".join(f"stale: {n}" for n in bad) or "up to date")
        return 1 if bad else 0
    XSD_DIR.mkdir(parents=True, exist_ok=True)
    for old in XSD_DIR.glob("*.xsd"):
        old.unlink()
    files = generate()
    for name, text in files.items():
        (XSD_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {XSD_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
