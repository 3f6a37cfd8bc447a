"""Structural checks of a built layout: the framing adds up and nothing is ambiguous.

Each problem names the record kind, the field(s) and the rule, e.g.
"record notice: gap: bytes 12-13 between fields a and b".
"""

from __future__ import annotations

import re
from collections import Counter

from mappings.layout import Field, Layout, RecordKind

_NCNAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
XPATH_SUBSET = re.compile(rf"(?:{_NCNAME}/)*(?:{_NCNAME}|@{_NCNAME})")
PERSONAL_NUMBER = re.compile(r"kojin_?bango|my_?number|個人番号")


def structural_problems(layout: Layout) -> list[str]:
    problems: list[str] = []
    for name, n in Counter(k.name for k in layout.kinds).items():
        if n > 1:
            problems.append(f"record kind {name!r} defined {n} times")
    for kind in layout.kinds:
        where = f"record {kind.name}: "
        for name, n in Counter(f.name for f in kind.fields).items():
            if n > 1:
                problems.append(f"{where}field name {name!r} used {n} times")
        for f in kind.fields:
            if PERSONAL_NUMBER.search(f.name) or PERSONAL_NUMBER.search(f.label):
                if not f.sensitive:
                    problems.append(f"{where}field {f.name}: holds 個人番号, must be sensitive = true")
        if layout.csv:
            problems.extend(where + p for p in _columns(kind))
        if layout.fixed:
            problems.extend(where + p for p in _spans(kind))
        if layout.xml:
            problems.extend(where + p for p in _xpaths(kind))
    all_fields = {f.name for k in layout.kinds for f in k.fields}
    for key in layout.key:
        if key not in all_fields:
            problems.append(f"key: no field named {key!r}")
    problems.extend(_kinds_distinct(layout))
    if layout.csv and layout.csv.header and len(layout.kinds) > 1:
        problems.append("csv: header = true needs a single record kind (the label row names its fields)")
    if layout.csv and layout.csv.bom and layout.encoding != "utf-8":
        problems.append(f"csv: bom = true only with utf-8, not {layout.encoding}")
    return problems


def _columns(kind: RecordKind) -> list[str]:
    problems = []
    missing = [f.name for f in kind.fields if f.column is None]
    if missing:
        return [f"CSV layout: field(s) {', '.join(missing)} have no column"]
    by_index: dict[int, list[str]] = {}
    for f in kind.fields:
        assert f.column is not None
        by_index.setdefault(f.column.index, []).append(f.name)
    for index, names in sorted(by_index.items()):
        if len(names) > 1:
            problems.append(f"duplicate column {index}: fields {' and '.join(names)}")
    absent = [i for i in range(max(by_index) + 1) if i not in by_index]
    if absent:
        problems.append(f"columns not contiguous from 0: no field at column(s) {', '.join(map(str, absent))}")
    return problems


def _spans(kind: RecordKind) -> list[str]:
    problems = []
    missing = [f.name for f in kind.fields if f.span is None]
    if missing:
        return [f"fixed layout: field(s) {', '.join(missing)} have no start/width"]
    for f in kind.fields:
        assert f.span is not None
        exact = f.converter.exact_width()
        if exact is not None and exact != f.span.width:
            problems.append(f"field {f.name}: converter {f.converter.name} renders {exact} bytes, "
                            f"span is {f.span.width}")
    ordered = sorted(kind.fields, key=lambda f: f.span.start if f.span else 0)
    pos, prev = 1, None
    for f in ordered:
        assert f.span is not None
        if f.span.start > pos:
            after = f" after field {prev.name}" if prev else ""
            problems.append(f"gap: bytes {pos}-{f.span.start - 1} belong to no field{after} "
                            f"(before field {f.name})")
        elif f.span.start < pos and prev is not None:
            problems.append(f"overlap: bytes {f.span.start}-{min(pos - 1, f.span.end)} in both field "
                            f"{prev.name} and field {f.name}")
        if prev is None or f.span.end + 1 > pos:
            pos, prev = f.span.end + 1, f
    total = pos - 1
    if kind.length is not None and total != kind.length:
        widths = sum(f.span.width for f in kind.fields if f.span)
        problems.append(f"widths add up to {widths} bytes (last byte {total}), "
                        f"record length is {kind.length}")
    return problems


def _xpaths(kind: RecordKind) -> list[str]:
    problems = []
    if not kind.element:
        problems.append("XML layout: element (the record element name) is required")
    for f in kind.fields:
        if f.xpath is None:
            if f.converter.name != "filler":  # fillers reserve bytes/columns; XML has no use for them
                problems.append(f"field {f.name}: XML layout needs an xpath")
        elif not XPATH_SUBSET.fullmatch(f.xpath.path):
            problems.append(f"field {f.name}: xpath {f.xpath.path!r} is outside the supported subset "
                            "(child steps without prefixes, optionally ending in @attribute)")
    for path, n in Counter(f.xpath.path for f in kind.fields if f.xpath).items():
        if n > 1:
            problems.append(f"xpath {path!r} used by {n} fields")
    return problems


def _signature(f: Field) -> tuple[object, str]:
    return (f.span or f.column or f.xpath, getattr(f.converter, "value", ""))


def _kinds_distinct(layout: Layout) -> list[str]:
    if len(layout.kinds) < 2:
        return []
    problems = []
    seen: dict[frozenset[tuple[object, str]], str] = {}
    for kind in layout.kinds:
        if not kind.discriminators:
            problems.append(f"record {kind.name}: a layout with several record kinds needs a constant "
                            "field in each kind to tell them apart")
            continue
        sig = frozenset(_signature(f) for f in kind.discriminators)
        if sig in seen:
            problems.append(f"record {kind.name}: same constant fields as record {seen[sig]}")
        seen[sig] = kind.name
    if layout.fixed:
        lengths = {k.length for k in layout.kinds}
        if len(lengths) > 1:
            problems.append("fixed layout: record kinds must share one length "
                            f"(got {', '.join(map(str, sorted(n for n in lengths if n)))})")
    return problems
