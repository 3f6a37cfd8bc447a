"""データ標準レイアウト: the 中間サーバー's data sets as data (mappings/layouts/chukan/README.md).

One file per layout and 版 (`layouts/chukan/<name>-v<版番号>.toml`); a yearly revision is a new
file. Each file says from which day it applies (`valid_from`), and that date alone chooses the 版
for a day (`StandardLayouts.on`): no config switch, so a revision published ahead of its day is
shipped as a file and takes over by itself.

A data set is a `RecordKind` whose fields are located by item number (`layout.ItemNo`): the same
`Field` and converters as every other layout. An item the store has no value for is sent with the
未設定事由 its file gives (the item's own, else the data set's), never as an empty value; an item
marked `required = true` has no 未設定事由 and its absence is an error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from mappings.converters.base import Quick
from mappings.errors import ConversionError, LayoutError
from mappings.layout import Field, ItemNo, RecordKind
from mappings.loader import FILE_NAME, build_field, read_toml
from mappings.validation import PERSONAL_NUMBER  # the layouts' one rule

CHUKAN_DIR = Path(__file__).resolve().parent / "layouts" / "chukan"
# 未設定事由: the XSD's enumeration (adapters/chukan/wsdl/chukan.xsd UnsetReason).
UNSET_REASONS = frozenset({"NotAcceptable", "NotCovered", "NotApplicable", "NotYetDetermined"})
ENCODING = "utf-8"  # item values are Unicode text in a SOAP body
MAX_VALUE = 400  # XSD ItemValue maxLength
TM = re.compile(r"TM[0-9]{14}")
DATASET = re.compile(r"[0-9]{4}")
ITEM_NO = re.compile(r"[0-9]{1,4}")
VERSION = re.compile(r"[0-9]{1,4}")
_TOP = {"name", "version", "valid_from", "label", "source", "datasets"}
_DATASET = {"code", "label", "tm", "unset", "items"}
_NOT_HERE = {"column", "start", "xpath", "encoding", "quoted", "sensitive", "name"}


class RenderedItem(NamedTuple):
    """One item ready to send: its text, or the 未設定事由 saying why there is none."""

    no: str
    value: str | None
    unset: str | None


class ItemError(ValueError):
    """A store value an item cannot carry. Names layout, data set and item, never the value."""


@dataclass(frozen=True, eq=False)
class DataSet:
    code: str  # データセット, e.g. 0101 被保険者
    label: str
    tm: str  # 特定個人情報名コード
    kind: RecordKind  # its fields: name = the builder's source key, item = 項目番号
    unset: Mapping[str, str | None]  # field name → 未設定事由 (None: required, no reason allowed)
    layout_id: str = ""

    @property
    def items(self) -> tuple[Field, ...]:
        return self.kind.fields

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(f.name for f in self.kind.fields)

    @cached_property
    def _plan(self) -> tuple[tuple[Field, str, str, Quick], ...]:
        """Per item (field, source key, 項目番号, its render fast path): a refresh renders every
        item of hundreds of thousands of persons; the rules stay in ``Field.render``."""
        plan = []
        for f in self.kind.fields:
            assert f.item is not None
            plan.append((f, f.name, f.item.no, f.quick))
        return tuple(plan)

    def render(self, values: Mapping[str, Any]) -> tuple[RenderedItem, ...]:
        """Every item in file order from `values` (source key → store value); None or "" is
        absent: the item's 未設定事由, or ItemError for a required item."""
        out = []
        for f, name, no, quick in self._plan:
            value = values.get(name)
            if value is None or value == "":
                reason = self.unset[name]
                if reason is None:
                    raise ItemError(f"{self._where(f)}: required, and the store has no value")
                out.append(RenderedItem(no, None, reason))
                continue
            text = quick(value)  # the text Field.render gives, or None: take the full path
            if text is None:
                try:
                    text = f.render(value)
                except ConversionError as exc:
                    raise ItemError(f"{self._where(f)}: {exc.rule}") from None  # exc.detail may quote the value
            if len(text) > MAX_VALUE:
                raise ItemError(f"{self._where(f)}: longer than {MAX_VALUE} characters")
            out.append(RenderedItem(no, text, None))
        return tuple(out)

    def _where(self, f: Field) -> str:
        assert f.item is not None
        return f"{self.layout_id} data set {self.code} item {f.item.no} ({f.label})"

    def parse(self, items: Iterable[tuple[str, str | None]]) -> dict[str, Any]:
        """(項目番号, text or None) pairs → source key → value (None where unset)."""
        by_no = {f.item.no: f for f in self.kind.fields if f.item is not None}
        out: dict[str, Any] = {f.name: None for f in self.kind.fields}
        for no, text in items:
            f = by_no.get(no)
            if f is None:
                raise ItemError(f"{self.layout_id} data set {self.code}: no item {no}")
            if text is not None:
                try:
                    out[f.name] = f.parse(text)
                except ConversionError as exc:
                    raise ItemError(f"{self.layout_id} data set {self.code} item {no} ({f.label}): "
                                    f"{exc.rule}") from None
        return out


@dataclass(frozen=True, eq=False)
class StandardLayout:
    name: str
    version: str  # 版番号
    valid_from: dt.date
    label: str
    source: str
    datasets: tuple[DataSet, ...]
    path: Path | None = None

    @property
    def id(self) -> str:
        return f"chukan/{self.name}-v{self.version}"

    @cached_property
    def by_code(self) -> dict[str, DataSet]:
        return {d.code: d for d in self.datasets}

    def dataset(self, code: str) -> DataSet:
        try:
            return self.by_code[code]
        except KeyError:
            raise LookupError(f"{self.id} has no data set {code} (has {', '.join(self.by_code)})") from None

    def for_tm(self, tm: str) -> tuple[DataSet, ...]:
        return tuple(d for d in self.datasets if d.tm == tm)


def load_standard_layout(path: str | Path) -> StandardLayout:
    """Load and validate one file; LayoutError lists every problem, each naming data set and item."""
    path = Path(path)
    problems: list[str] = []
    layout = _build(read_toml(path), path, problems)
    if problems or layout is None:
        raise LayoutError(str(path), problems)
    return layout


def _build(data: dict[str, Any], path: Path, problems: list[str]) -> StandardLayout | None:
    problems.extend(f"unknown key {k!r}" for k in data if k not in _TOP)
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not name:
        problems.append("name: required, a non-empty string")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        problems.append("version: required, the 版番号 as a string of 1-4 digits")
    match = FILE_NAME.fullmatch(path.name)
    if match is None or (match["name"], match["version"]) != (name, version):
        problems.append(f"file name {path.name} does not match name {name!r} version {version!r} inside it")
    valid_from = data.get("valid_from")
    if not isinstance(valid_from, dt.date) or isinstance(valid_from, dt.datetime):
        problems.append("valid_from: required, a TOML date (the first day this 版 applies)")
    for key in ("label", "source"):
        if not isinstance(data.get(key), str) or not data[key]:
            problems.append(f"{key}: required, a non-empty string")
    raw = data.get("datasets")
    if not isinstance(raw, list) or not raw:
        problems.append("datasets: at least one [[datasets]] table is required")
        return None
    layout_id = f"chukan/{name}-v{version}"
    datasets = [d for i, t in enumerate(raw) if (d := _dataset(t, i, layout_id, problems)) is not None]
    seen: set[str] = set()
    numbers: dict[tuple[str, str], str] = {}  # (TM, 項目番号) -> data set
    for d in datasets:
        if d.code in seen:
            problems.append(f"data set {d.code}: defined twice")
        seen.add(d.code)
        # a provision answer carries the TM's items without their data set: numbers unique per TM
        for f in d.items:
            assert f.item is not None
            other = numbers.setdefault((d.tm, f.item.no), d.code)
            if other != d.code:
                problems.append(f"data set {d.code}: item {f.item.no}: number also used by data set {other} "
                                f"of {d.tm} (item numbers are unique within a 特定個人情報名)")
    if problems:
        return None
    assert isinstance(name, str) and isinstance(version, str) and isinstance(valid_from, dt.date)
    return StandardLayout(name=name, version=version, valid_from=valid_from, label=data["label"],
                          source=data["source"], datasets=tuple(datasets), path=path)


def _dataset(t: Any, i: int, layout_id: str, problems: list[str]) -> DataSet | None:
    if not isinstance(t, dict):
        problems.append(f"datasets[{i}]: must be a table")
        return None
    code = t.get("code")
    where = f"data set {code}: " if isinstance(code, str) else f"datasets[{i}]: "
    problems.extend(f"{where}unknown key {k!r}" for k in t if k not in _DATASET)
    if not isinstance(code, str) or not DATASET.fullmatch(code):
        problems.append(f"{where}code: the データセット code, 4 digits as a string")
    if not isinstance(t.get("tm"), str) or not TM.fullmatch(t["tm"]):
        problems.append(f"{where}tm: the 特定個人情報名コード, TM + 14 digits")
    if not isinstance(t.get("label"), str) or not t["label"]:
        problems.append(f"{where}label: required (the data set's Japanese name)")
    default = t.get("unset")
    if default is not None and default not in UNSET_REASONS:
        problems.append(f"{where}unset {default!r}: not a 未設定事由 (known: {', '.join(sorted(UNSET_REASONS))})")
        default = None
    items = t.get("items")
    if not isinstance(items, list) or not items:
        problems.append(f"{where}items: a non-empty array of item tables")
        return None
    fields: list[Field] = []
    unset: dict[str, str | None] = {}
    for j, it in enumerate(items):
        built = _item(it, j, where, default, problems)
        if built is not None:
            fields.append(built[0])
            unset[built[0].name] = built[1]
    for attr, what in ((lambda f: f.item.no, "item number"), (lambda f: f.name, "source")):
        counts: dict[str, int] = {}
        for f in fields:
            counts[attr(f)] = counts.get(attr(f), 0) + 1
        problems.extend(f"{where}{what} {k!r} used by {n} items" for k, n in counts.items() if n > 1)
    return DataSet(code=str(code), label=str(t.get("label")), tm=str(t.get("tm")),
                   kind=RecordKind(name=str(code), fields=tuple(fields)), unset=unset, layout_id=layout_id)


def _item(it: Any, j: int, where: str, default: str | None,
          problems: list[str]) -> tuple[Field, str | None] | None:
    if not isinstance(it, dict):
        problems.append(f"{where}items[{j}]: must be a table")
        return None
    no = it.get("no")
    if not isinstance(no, str) or not ITEM_NO.fullmatch(no):
        problems.append(f"{where}items[{j}]: no {no!r}: the 項目番号, 1-4 digits as a string")
        return None
    at = f"{where}item {no}: "
    problems.extend(f"{at}key {k!r} has no place in a data-standard layout" for k in it if k in _NOT_HERE)
    source = it.get("source")
    label = str(it.get("label", ""))
    if PERSONAL_NUMBER.search(str(source)) or PERSONAL_NUMBER.search(label):
        problems.append(f"{at}個人番号 is never a 副本 item")
        return None
    required = it.get("required", False)
    reason = it.get("unset", default)
    if required is True:
        if "unset" in it:
            problems.append(f"{at}required = true and an unset reason: give one or the other")
        reason = None
    elif reason is None:
        problems.append(f"{at}no 未設定事由: give unset (or the data set's unset), or required = true")
    elif reason not in UNSET_REASONS:
        problems.append(f"{at}unset {reason!r}: not a 未設定事由 (known: {', '.join(sorted(UNSET_REASONS))})")
    table = {k: v for k, v in it.items() if k not in ("no", "source", "unset", *_NOT_HERE)}
    if not isinstance(source, str):
        problems.append(f"{at}source: required, the builder's key for this item's value")
        return None
    table["name"] = source
    field = build_field(table, at, ENCODING, problems)
    if field is None:
        return None
    return dataclasses.replace(field, item=ItemNo(no)), reason


class StandardLayouts:
    """The data-standard layouts under one folder (CHUKAN_DIR by default; tests pass their own)."""

    def __init__(self, root: Path = CHUKAN_DIR) -> None:
        self.root = root
        self._cache: dict[Path, StandardLayout] = {}

    def _load(self, path: Path) -> StandardLayout:
        if path not in self._cache:
            self._cache[path] = load_standard_layout(path)
        return self._cache[path]

    def all(self, name: str) -> list[StandardLayout]:
        """Every 版 of `name`, oldest first; LayoutError when two start on the same day or a
        later 版 starts before an earlier one."""
        found = []
        for path in self.root.glob(f"{name}-v*.toml"):
            m = FILE_NAME.fullmatch(path.name)
            if m and m["name"] == name:
                found.append(self._load(path))
        found.sort(key=lambda lay: int(lay.version))
        for a, b in itertools.pairwise(found):
            if b.valid_from <= a.valid_from:
                raise LayoutError(str(b.path), [f"valid_from {b.valid_from} is not after "
                                                f"{a.valid_from} of 版 {a.version}"])
        return found

    def get(self, name: str, version: str) -> StandardLayout:
        path = self.root / f"{name}-v{version}.toml"
        if not path.is_file():
            raise LookupError(f"no data-standard layout {name} 版 {version} ({path})")
        return self._load(path)

    def on(self, name: str, day: dt.date) -> StandardLayout:
        """The 版 that applies on `day`: the latest whose valid_from is on or before it."""
        current = [lay for lay in self.all(name) if lay.valid_from <= day]
        if not current:
            raise LookupError(f"no data-standard layout {name} applies on {day} (under {self.root})")
        return current[-1]


standard_layouts = StandardLayouts()
