"""The print vendors' batch flows (委託 printing): their record sources, by flow name."""

from __future__ import annotations

from datetime import date

from adapters.vendor import hihokenshasho, hokenryo, nintei_kekka
from queues.flow_source import FlowSource, one_file

SOURCES: dict[str, FlowSource] = {
    "print.hokenryo": FlowSource(read=lambda s, nendo: hokenryo.Notices(s, nendo, date.today())),
    "print.ninteikekka": FlowSource(count=nintei_kekka.count,
                                    records=lambda s, nendo: nintei_kekka.notices(s, nendo, date.today())),
    "print.hihokenshasho": FlowSource(count=hihokenshasho.count, plan=one_file(hihokenshasho.scope),
                                      records=lambda s, window: hihokenshasho.cards(s, window, date.today())),
}
