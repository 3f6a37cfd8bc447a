"""The parse fast path of a whole record: the values of a record that is certainly valid, or None.

Files of a million records are mostly empty optional columns and plain values. A plan made once
per record kind finds the non-empty columns with ``itertools.compress`` (in C), runs each
converter's ``quick_parse`` on those only, and checks the required and always-present fields;
any doubt (SLOW, an error) gives None and the record is parsed again on the full path of
``records.parse_texts``, which reports its problems. The result is the full path's, by
construction and by test (tests/unit/test_quickparse.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress
from operator import itemgetter
from typing import Any, Protocol

from mappings.converters.base import SLOW, Converter


# What a plan reads of a layout's fields and record kinds (mappings/layout.py Field and
# RecordKind, which build their plans here: named, not imported, so the import runs one way).
class _Field(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def converter(self) -> Converter: ...

    @property
    def required(self) -> bool: ...


class _Kind(Protocol):
    @property
    def fields(self) -> Sequence[_Field]: ...

    @property
    def value_fields(self) -> Sequence[_Field]: ...


def _getter(indices: tuple[int, ...]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """The texts at ``indices`` as a tuple, picked in C."""
    if not indices:
        return lambda _texts: ()
    if len(indices) == 1:
        only = indices[0]
        return lambda texts: (texts[only],)
    return itemgetter(*indices)


class QuickPlan:
    def __init__(self, kind: _Kind) -> None:
        fields = kind.fields
        self.size = len(fields)
        self.names = tuple(f.name for f in fields)
        self.parsers = tuple(f.converter.quick_parse() for f in fields)
        self.template = {f.name: None for f in kind.value_fields}
        self.fillers = tuple(f.name for f in fields if f.converter.name == "filler")
        self.required = _getter(tuple(i for i, f in enumerate(fields) if f.required and not f.converter.always))
        self.always = tuple(i for i, f in enumerate(fields) if f.converter.always)
        self.always_texts = _getter(self.always)
        self.indices = range(self.size)

    def __call__(self, texts: Sequence[str]) -> dict[str, Any] | None:
        if len(texts) != self.size or not all(self.required(texts)):
            return None
        values = self.template.copy()
        names, parsers = self.names, self.parsers
        try:
            # compress finds the non-empty columns in C: most columns of a 給付実績 are empty.
            for i in compress(self.indices, texts):
                value = parsers[i](texts[i])
                if value is SLOW:
                    return None
                values[names[i]] = value
            if "" in self.always_texts(texts):
                for i in self.always:
                    if not texts[i] and parsers[i]("") is SLOW:
                        return None
        except Exception:  # a converter's own error (or any surprise): the full path says which
            return None
        for name in self.fillers:
            values.pop(name, None)
        return values
