"""Layout files (TOML) → validated `Layout` objects; the registry of shipped layouts.

File shape (see mappings/layouts/README.md): top-level partner, name, version, label, source,
encoding, key; one framing table `[csv]`, `[fixed]` and/or `[xml]`; then `[[records]]` with
`kind`, `length` (fixed), `element` (XML) and `fields`, an array of inline tables. In a field,
`name label converter required sensitive quoted column start width xpath encoding` are the field's
own keys (in a fixed layout `start`/`width` make its byte span); every other key is a converter
param. `encoding` (fixed-length only) gives one text field a codec of its own, e.g. the bare JIS
X 0208 codes of a 年金特徴 kanji field (`jis_x0208_raw`, padded with its full-width space).
`[xml] default_xpath` (a template with `{name}`) locates every non-filler field that has no
`xpath` of its own: wide layouts (国保連, ~100 columns a record) then need no xpath per field.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mappings import jis_raw  # noqa: F401  (registers the jis_x0208_raw codec fields may name)
from mappings.charsets import check_encoding
from mappings.converters import CONVERTERS, FieldContext
from mappings.errors import LayoutError, ParamError
from mappings.layout import (
    ByteRange,
    Column,
    CsvFormat,
    Field,
    FixedFormat,
    Layout,
    RecordKind,
    ReturnsColumns,
    XmlFormat,
    XPath,
)
from mappings.validation import structural_problems

_TOP = {"partner", "name", "version", "label", "source", "encoding", "key", "csv", "fixed", "xml", "records",
        "returns"}
_RECORD = {"kind", "length", "element", "fields"}
_FIELD_OWN = {"name", "label", "converter", "required", "sensitive", "quoted",
              "column", "start", "width", "xpath", "encoding"}
_TERMINATORS = {"CRLF": "\r\n", "LF": "\n"}
_SEPARATORS = {"none": "", "CRLF": "\r\n", "LF": "\n"}
FILE_NAME = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*?)-v(?P<version>[0-9]+(?:\.[0-9]+)*)\.toml")
NAME = re.compile(r"[a-z][a-z0-9_]*")


def read_toml(path: Path) -> dict[str, Any]:
    """A layout file's TOML; LayoutError naming the file when it is not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(str(path), [f"not valid TOML: {exc}"]) from None


def load_layout(path: str | Path) -> Layout:
    """Load and validate one layout file; LayoutError lists every problem found."""
    path = Path(path)
    data = read_toml(path)
    problems: list[str] = []
    layout = _build(data, path, problems)
    if layout is not None:
        problems.extend(structural_problems(layout))
        match = FILE_NAME.fullmatch(path.name)
        if match and (match["name"], match["version"]) != (layout.name, layout.version):
            problems.append(f"file name {path.name} does not match name {layout.name!r} "
                            f"version {layout.version!r} inside it")
    if problems or layout is None:
        raise LayoutError(str(path), problems)
    return layout


def _text(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "version":
        value = str(value)
    if not isinstance(value, str) or not value:
        problems.append(f"{where}{key}: required, a non-empty string")
        return ""
    return value


def _unknown(data: Mapping[str, Any], known: set[str], where: str, problems: list[str]) -> None:
    for key in data:
        if key not in known:
            problems.append(f"{where}unknown key {key!r}")


def _build(data: dict[str, Any], path: Path, problems: list[str]) -> Layout | None:
    _unknown(data, _TOP, "", problems)
    partner = _text(data, "partner", "", problems)
    name = _text(data, "name", "", problems)
    version = _text(data, "version", "", problems)
    source = _text(data, "source", "", problems)
    encoding = _text(data, "encoding", "", problems)
    try:
        encoding = check_encoding(encoding) if encoding else encoding
    except ValueError as exc:
        problems.append(f"encoding: {exc}")
        encoding = ""
    csv_fmt = _csv(data["csv"], problems) if "csv" in data else None
    fixed_fmt = _fixed(data["fixed"], problems) if "fixed" in data else None
    xml_fmt = _xml(data["xml"], problems) if "xml" in data else None
    if not (csv_fmt or fixed_fmt or xml_fmt):
        problems.append("no framing: give a [csv], [fixed] or [xml] table")
    key = data.get("key", [])
    if not isinstance(key, list) or not all(isinstance(k, str) for k in key):
        problems.append("key: must be a list of field names")
        key = []
    records = data.get("records")
    if not isinstance(records, list) or not records:
        problems.append("records: at least one [[records]] table is required")
        return None
    if not encoding:
        return None  # converters need a known encoding
    default_xpath = _default_xpath(data["xml"], problems) if xml_fmt else None
    kinds = []
    for i, rec in enumerate(records):
        kind = _kind(rec, i, encoding, fixed_fmt is not None, default_xpath, problems)
        if kind is not None:
            kinds.append(kind)
    returns = _returns(data["returns"], kinds, problems) if "returns" in data else None
    if problems:
        return None
    return Layout(partner=partner, name=name, version=version, source=source, encoding=encoding,
                  kinds=tuple(kinds), key=tuple(key), label=str(data.get("label", "")),
                  csv=csv_fmt, fixed=fixed_fmt, xml=xml_fmt, path=path, returns=returns)


def _returns(data: Any, kinds: list[RecordKind], problems: list[str]) -> ReturnsColumns | None:
    """``[returns]``: which CSV fields are a returned notice's number and its 宛名番号."""
    if not isinstance(data, dict):
        problems.append("returns: must be a table")
        return None
    _unknown(data, {"notice_no", "atena_no"}, "returns: ", problems)
    columns = {f.name: f.column.index for k in kinds for f in k.fields if f.column is not None}
    found = []
    for key in ("notice_no", "atena_no"):
        field = data.get(key)
        if field not in columns:
            problems.append(f"returns: {key}: the name of a CSV field of this layout, not {field!r}")
        found.append(columns[field] if isinstance(field, str) and field in columns else -1)
    return ReturnsColumns(*found) if -1 not in found else None


def _csv(data: Any, problems: list[str]) -> CsvFormat | None:
    if not isinstance(data, dict):
        problems.append("csv: must be a table")
        return None
    known = {"delimiter", "quotechar", "quoting", "line_terminator", "header", "bom"}
    _unknown(data, known, "csv: ", problems)
    fmt = CsvFormat()
    delimiter = data.get("delimiter", fmt.delimiter)
    quotechar = data.get("quotechar", fmt.quotechar)
    quoting = data.get("quoting", fmt.quoting)
    term = data.get("line_terminator", "CRLF")
    for key, value in (("delimiter", delimiter), ("quotechar", quotechar)):
        if not (isinstance(value, str) and len(value) == 1 and value.isascii() and value not in "\r\n"):
            problems.append(f"csv: {key}: one ASCII character, not CR/LF")
    if quoting not in ("minimal", "all", "none"):
        problems.append("csv: quoting: one of 'minimal', 'all', 'none'")
    if term not in _TERMINATORS:
        problems.append("csv: line_terminator: 'CRLF' or 'LF'")
    for key in ("header", "bom"):
        if not isinstance(data.get(key, False), bool):
            problems.append(f"csv: {key}: true or false")
    if delimiter == quotechar:
        problems.append("csv: delimiter and quotechar must differ")
    return CsvFormat(delimiter=delimiter, quotechar=quotechar, quoting=quoting,
                     line_terminator=_TERMINATORS.get(term, "\r\n"), header=data.get("header", False),
                     bom=data.get("bom", False))


def _fixed(data: Any, problems: list[str]) -> FixedFormat | None:
    if not isinstance(data, dict):
        problems.append("fixed: must be a table")
        return None
    _unknown(data, {"record_separator"}, "fixed: ", problems)
    sep = data.get("record_separator", "none")
    if sep not in _SEPARATORS:
        problems.append("fixed: record_separator: 'none', 'CRLF' or 'LF'")
        return None
    return FixedFormat(record_separator=_SEPARATORS[sep])


def _xml(data: Any, problems: list[str]) -> XmlFormat | None:
    if not isinstance(data, dict) or not isinstance(data.get("root"), str):
        problems.append("xml: must be a table with root = element name")
        return None
    _unknown(data, {"root", "namespace", "default_xpath"}, "xml: ", problems)
    ns = data.get("namespace")
    if ns is not None and not isinstance(ns, str):
        problems.append("xml: namespace: a string (URI)")
    return XmlFormat(root=data["root"], namespace=ns)


def _default_xpath(data: Mapping[str, Any], problems: list[str]) -> str | None:
    template = data.get("default_xpath")
    if template is not None and not (isinstance(template, str) and "{name}" in template):
        problems.append("xml: default_xpath: a string holding {name} (the field name), e.g. \"{name}\"")
        return None
    return template


def _kind(rec: Any, i: int, encoding: str, fixed: bool, default_xpath: str | None,
          problems: list[str]) -> RecordKind | None:
    if not isinstance(rec, dict):
        problems.append(f"records[{i}]: must be a table")
        return None
    name = rec.get("kind", "record")
    where = f"record {name}: "
    _unknown(rec, _RECORD, where, problems)
    length = rec.get("length")
    if fixed and not (isinstance(length, int) and not isinstance(length, bool) and length > 0):
        problems.append(f"{where}length: required in a fixed layout, a positive number of bytes")
    element = rec.get("element")
    fields_data = rec.get("fields")
    if not isinstance(fields_data, list) or not fields_data:
        problems.append(f"{where}fields: a non-empty array of field tables")
        return None
    built = (_field(fd, j, where, encoding, fixed, default_xpath, problems) for j, fd in enumerate(fields_data))
    fields = [f for f in built if f is not None]
    return RecordKind(name=str(name), fields=tuple(fields), length=length if fixed else None,
                      element=element if isinstance(element, str) else None)


def _field(fd: Any, j: int, where: str, encoding: str, fixed: bool, default_xpath: str | None,
           problems: list[str]) -> Field | None:
    if not isinstance(fd, dict):
        problems.append(f"{where}fields[{j}]: must be a table")
        return None
    name = fd.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problems.append(f"{where}fields[{j}]: name {name!r} must be an ASCII identifier [a-z][a-z0-9_]*")
        return None
    at = f"{where}field {name}: "
    label = fd.get("label")
    if not isinstance(label, str) or not label:
        problems.append(f"{at}label: required (the Japanese item name)")
    for flag in ("required", "sensitive", "quoted"):
        if not isinstance(fd.get(flag, False), bool):
            problems.append(f"{at}{flag}: true or false")
    conv_name = fd.get("converter")
    if conv_name not in CONVERTERS:
        problems.append(f"{at}converter {conv_name!r} is unknown (known: {', '.join(sorted(CONVERTERS))})")
        return None
    params = {k: v for k, v in fd.items() if k not in _FIELD_OWN}
    span = column = xpath = None
    width = fd.get("width")
    if fixed:
        start = fd.get("start")
        if not (type(start) is int and type(width) is int and start > 0 and width > 0):
            problems.append(f"{at}start and width: required in a fixed layout, positive byte counts")
            return None
        span = ByteRange(start, width)
    elif width is not None:
        params["width"] = width
    if "column" in fd:
        col = fd["column"]
        if not isinstance(col, int) or isinstance(col, bool) or col < 0:
            problems.append(f"{at}column: a column index from 0")
            return None
        column = Column(col)
    if "xpath" in fd:
        if not isinstance(fd["xpath"], str):
            problems.append(f"{at}xpath: a string")
            return None
        xpath = XPath(fd["xpath"])
    elif default_xpath is not None and conv_name != "filler":  # fillers have no place in XML
        xpath = XPath(default_xpath.replace("{name}", name))
    field_encoding = None
    if "encoding" in fd:
        field_encoding = _field_encoding(fd["encoding"], conv_name, span, at, problems)
        if field_encoding is None:
            return None
    try:
        ctx = FieldContext(field_encoding or encoding, span.width if span else None)
        converter = CONVERTERS[conv_name](params, ctx)
    except ParamError as exc:
        problems.append(f"{at}converter {conv_name}: {exc}")
        return None
    return Field(name=name, label=str(label), converter=converter, required=fd.get("required", True),
                 sensitive=fd.get("sensitive", False), quoted=fd.get("quoted", False),
                 span=span, column=column, xpath=xpath, params=params, encoding=field_encoding)


def build_field(table: Mapping[str, Any], where: str, encoding: str, problems: list[str]) -> Field | None:
    """One field of a layout that frames by none of byte span / column / xpath (the caller adds its
    own locator, e.g. an item number): the field keys and converter params as in any layout file,
    every problem appended to `problems` prefixed with `where`. None when the field cannot be built."""
    return _field(dict(table), 0, where, encoding, False, None, problems)


def field_pad(encoding: str) -> str:
    """The character a padded field of `encoding` is filled with: the ASCII space, or the
    full-width space where the encoding has no ASCII (jis_x0208_raw)."""
    try:
        return " " if " ".encode(encoding) == b" " else "\u3000"
    except UnicodeEncodeError:
        return "\u3000"


def _field_encoding(value: Any, conv_name: str, span: ByteRange | None, at: str,
                    problems: list[str]) -> str | None:
    if span is None:
        problems.append(f"{at}encoding: a field-level encoding is for fixed-length layouts only")
        return None
    if not isinstance(value, str):
        problems.append(f"{at}encoding: a codec name")
        return None
    try:
        name = codecs.lookup(value).name
    except LookupError:
        problems.append(f"{at}encoding: unknown encoding {value!r}")
        return None
    try:
        return check_encoding(name)
    except ValueError:
        pass  # not ASCII-compatible: allowed for a text field padded with its full-width space
    if conv_name != "text":
        problems.append(f"{at}encoding {name}: not ASCII-compatible, so only for a text field")
        return None
    try:
        pad = "\u3000".encode(name)
    except UnicodeEncodeError:
        problems.append(f"{at}encoding {name}: has neither an ASCII nor a full-width space to pad with")
        return None
    if span.width % len(pad):
        problems.append(f"{at}width {span.width}: not a multiple of the {len(pad)}-byte pad of {name}")
        return None
    return name
