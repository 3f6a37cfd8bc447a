"""Our own files read back from the payload store.

What an outbound file holds is what its stored, encrypted payload says: a flow records what it
sent (依頼 marked sent, 異動 reported …) by parsing that payload again rather than trusting what it
meant to write. A file we made must parse: any problem is an error of ours, never skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source
from queues.payloads import PayloadStore
from store.models import Transfer

# A frame's parser: (source, file=…) → every record, good or bad, in order.
Parse = Callable[..., Iterable[ParsedRecord | RecordError]]


def read_back(payloads: PayloadStore, transfer: Transfer, parse: Parse) -> Iterator[ParsedRecord]:
    """The records of ``transfer``'s stored payload, streamed (a run's file can be 300,000
    records); ValueError at the first that does not parse."""
    source: Source = payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
    for p in parse(source, file=f"transfer {transfer.id}"):
        if not isinstance(p, ParsedRecord):
            raise ValueError(f"transfer {transfer.id}: the stored {transfer.flow} file does not parse back "
                             f"(first problem: {p})")
        yield p
