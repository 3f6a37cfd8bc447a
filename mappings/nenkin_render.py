"""Writing a 年金特徴 file (the frame: mappings/nenkin_frame.py):

    chunks = nenkin_render.render({"shichoson_code": "13112", "baitai_tsuban": 1,
                                   "sakusei_ymd": date(2026, 7, 1), "gimusha_code": "001",
                                   "tsuchi_naiyo_code": "01", "baitai_code": "6"}, records)

Render computes each block's counts and sums and spools the records (to disk past a few MB)
because ファイル格納件数 comes before them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from mappings.charpolicy import CharPolicy
from mappings.errors import RenderError
from mappings.fixed_codec import FixedRenderer
from mappings.layout import KIND_KEY, Layout
from mappings.nenkin_frame import (
    AMOUNTS,
    CONTROL,
    KAIGO,
    RUN,
    SPOOL_IN_MEMORY,
    TOTALS,
    NenkinFrameError,
    default_layout,
    file_kanri_layout,
    kanri_layout,
)


@dataclass
class _OutBlock:
    city: str
    header: bytes
    first: int  # index of its first data record, for reports
    next: int  # index of run[0]
    count: int = 0
    sums: list[int] = field(default_factory=lambda: [0, 0, 0])
    run: list[Mapping[str, Any]] = field(default_factory=list)  # data records read, not yet rendered
    same: Mapping[str, Any] = field(default_factory=dict)  # what they all take: KIND_KEY, shared values

    def flush(self, renderer: FixedRenderer, spool: Any) -> int:
        """The run rendered (as one by one) into the spool, the header first; records written."""
        run, self.run, first, self.next = self.run, [], self.next, self.next + len(self.run)
        raw, kept = renderer.run(first, run, self.same)
        spool.write(raw if self.count or not kept else self.header + raw)
        self.count += len(kept)
        self.sums = [s + sum(map(int, map(itemgetter(name), kept))) for s, name in zip(self.sums, AMOUNTS, strict=True)]
        return len(kept) + (self.count == len(kept) > 0)


def render(control: Mapping[str, Any], records: Iterable[Mapping[str, Any]], *, layout: Layout | None = None,
           chars: CharPolicy | None = None) -> Iterator[bytes]:
    """One whole file. `control`: 管理 values (shichoson_code = 管理市町村コード, baitai_tsuban,
    sakusei_ymd) and the header values every block shares (gimusha_code, tsuchi_naiyo_code,
    baitai_code); 制度コード is "0". `records`: data values sorted by their shichoson_code (one
    block per 市町村); the header's values are filled in (a record giving another is an error).
    Records withheld by the CharPolicy are left out and not counted. RenderError on bad data.
    Data records are rendered RUN at a time (FixedRenderer.run), after the frame's checks."""
    layout = layout or default_layout()
    missing, extra = [k for k in CONTROL if k not in control], sorted(set(control) - set(CONTROL))
    if missing or extra:
        raise NenkinFrameError(f"control values: missing {missing}, unknown {extra}")
    shared = {"gimusha_code": control["gimusha_code"], "tsuchi_naiyo_code": control["tsuchi_naiyo_code"],
              "seido_code": KAIGO, "sakusei_ymd": control["sakusei_ymd"]}
    renderer = FixedRenderer(layout, chars)
    written = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        block: _OutBlock | None = None
        try:
            for index, record in enumerate(records, start=1):
                city = record.get("shichoson_code")
                if block is None or city != block.city:
                    if block is not None:
                        written += block.flush(renderer, spool) + _close(renderer, spool, block, shared, index - 1)
                        if not (isinstance(city, str) and city > block.city):
                            raise RenderError(layout.id, index, renderer.texts.key(record), "shichoson_code",
                                              "block_order", f"records must come sorted by 市町村コード: {city!r} "
                                              f"after {block.city!r}")
                    head = {KIND_KEY: "header", "shichoson_code": city, "baitai_code": control["baitai_code"], **shared}
                    header = _required(renderer.record(index, head), layout, index)
                    block = _OutBlock(str(city), header, index, index, same={**shared, KIND_KEY: "data"})
                if not record.keys().isdisjoint(shared):
                    for name, value in shared.items():
                        if record.get(name, value) != value:
                            raise RenderError(layout.id, index, renderer.texts.key(record), name, "same_as_header",
                                              f"{record[name]!r} differs from the file's {value!r}")
                block.run.append(record.copy() if type(record) is dict else record)  # rendered later
                if len(block.run) >= RUN:
                    written += block.flush(renderer, spool)
        except BaseException:
            if block is not None:  # the records read before the fault were rendered first, one by one
                block.flush(renderer, spool)
            raise
        if block is not None:
            written += block.flush(renderer, spool) + _close(renderer, spool, block, shared, block.first + block.count)
        yield _required(FixedRenderer(kanri_layout(), chars).record(0, {k: control[k] for k in CONTROL[:3]}), layout, 0)
        yield _required(FixedRenderer(file_kanri_layout(), chars).record(0, {"file_kensu": written}), layout, 0)
        spool.seek(0)
        yield from iter(lambda: spool.read(1 << 16), b"")


def _required(raw: bytes | None, layout: Layout, index: int) -> bytes:
    if raw is None:  # a header, trailer or 管理 record holds no text a CharPolicy could withhold
        raise RenderError(layout.id, index, "", None, "withheld", "a frame record was withheld")
    return raw


def _close(renderer: FixedRenderer, spool: Any, block: _OutBlock, shared: Mapping[str, Any], index: int) -> int:
    """The block's trailer (none when every record of it was withheld); records written."""
    if block.count == 0:
        return 0
    trailer = {KIND_KEY: "trailer", "shichoson_code": block.city, **shared, "gokei_kensu": block.count,
               **dict(zip(TOTALS, block.sums, strict=True))}
    spool.write(_required(renderer.record(index, trailer), renderer.layout, index))
    return 1
