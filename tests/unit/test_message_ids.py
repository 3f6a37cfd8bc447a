"""queues.message.new_id: the ids of messages, transfers and custody entries are UUIDs that sort in
the order they were made (version 7), so the store's indexes on them grow at their end."""

from __future__ import annotations

import re
import uuid

from queues.message import new_id

CANONICAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_an_id_is_a_lower_case_version_7_uuid() -> None:
    made = new_id()
    # lower-case canonical text: vendors name files by it (adapters/vendor/VENDOR-KIT.md)
    assert CANONICAL.match(made), made
    assert uuid.UUID(made).version == 7 and str(uuid.UUID(made)) == made


def test_ids_sort_in_the_order_they_were_made_and_never_repeat() -> None:
    ids = [new_id() for _ in range(50_000)]  # many within one millisecond: the order must hold there too
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
