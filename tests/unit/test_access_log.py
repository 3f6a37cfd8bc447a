"""AccessLog.record: what it stores in the custody columns, what it refuses (the log unchanged, the
refused value never in the message) and what it masks."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.staff.access_log import AccessLog, AccessLogError, os_actor
from queues.custody import CustodyLog

KOJIN = "123456789018"  # synthetic, 12 digits


@pytest.fixture
def access(tmp_path: Path) -> Iterator[AccessLog]:
    key = tmp_path / "signing.pem"
    CustodyLog.create_signing_key(key)
    log = AccessLog(f"sqlite:///{tmp_path}/access.db", signing_key_path=key)
    log.create_schema()
    yield log
    log.dispose()


def test_an_event_maps_onto_the_custody_columns(access: AccessLog) -> None:
    seq = access.record("viewed", "clerk-a", "atena show", subject=["131120000000002", "0000012345"],
                        record="a-1", count=2, detail="from the counter",
                        at=datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC))
    assert seq == 1
    (entry,) = access.log.chain("a-1")
    assert (entry.event, entry.actor, entry.basis, entry.transfer_id, entry.record_count, entry.at) == (
        "viewed", "clerk-a", "atena show", "a-1", 2, datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC))
    assert json.loads(entry.detail or "") == {"outcome": "ok", "detail": "from the counter",
                                              "subjects": ["0000012345", "131120000000002"]}
    assert access.log.verify().ok


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "peeked"}, "access event: kind 'peeked' is not one of login, logout, login_failed, locked, "
                         "account_changed, viewed, changed, refused"),
    ({"outcome": "maybe"}, "access event: outcome 'maybe' is not one of ok, refused, failed"),
    ({"subject": KOJIN}, "access event: subject 1 is not a 宛名番号 or 被保険者番号 (1-15 letters or digits, never "
                         "12 digits: a 個人番号 is never logged)"),
    ({"subject": ["0000012345", "1234-5678-9018"]}, "access event: subject 2 is not a 宛名番号 or 被保険者番号 "
                                                    "(1-15 letters or digits, never 12 digits: a 個人番号 is never "
                                                    "logged)"),
    ({"at": datetime(2026, 12, 8, 9, 0)}, "access event: at must carry its time zone (a naive time is no time)"),
    ({"subject": [f"{i:010d}" for i in range(100)]}, "access event: 100 subjects, at most 99 (record a longer "
                                                     "list by its count)"),
])
def test_a_refused_event_leaves_the_log_as_it_was(access: AccessLog, kwargs: dict[str, object],
                                                 message: str) -> None:
    access.record("login", "clerk-a", "login")
    args: dict[str, object] = {"kind": "viewed", "actor": "clerk-a", "command": "atena show"} | kwargs
    with pytest.raises(AccessLogError) as refused:
        access.record(**args)  # type: ignore[arg-type]
    assert str(refused.value) == message and KOJIN not in str(refused.value)
    assert access.log.head()[0] == 1 and access.log.count_by_event() == {"login": 1}


def test_a_kojin_bango_in_free_text_is_masked(access: AccessLog) -> None:
    access.record("refused", "clerk-a", f"search {KOJIN}", record=f"q-{KOJIN}", detail=f"asked for {KOJIN}",
                  outcome="refused")
    (entry,) = access.log.chain("q-********9018")
    assert entry.basis == "search ********9018"
    assert json.loads(entry.detail or "") == {"outcome": "refused", "detail": "asked for ********9018"}


def test_a_command_without_a_session_is_the_os_user() -> None:
    assert os_actor() == f"os:{getpass.getuser()}"
