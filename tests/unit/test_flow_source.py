"""queues.flow_source.FlowSource: a source reads its records one way — count and records, or read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.flows import SOURCES
from queues.flow_source import FlowSource


def test_a_source_has_count_and_records_or_read_never_both_or_neither() -> None:
    def count(s: Any, scope: Any) -> int:
        return 0

    def records(s: Any, scope: Any) -> Iterator[dict[str, Any]]:
        return iter(())

    def read(s: Any, scope: Any) -> Any:
        return None

    FlowSource(count=count, records=records)
    FlowSource(read=read)
    wrong: dict[str, Any]
    for wrong in ({}, {"count": count}, {"records": records}, {"count": count, "records": records, "read": read}):
        with pytest.raises(ValueError, match="count and records, or read"):
            FlowSource(**wrong)


def test_the_print_run_reads_count_and_notices_together() -> None:
    source = SOURCES["print.hokenryo"]
    assert source.read is not None and source.count is None and source.records is None
