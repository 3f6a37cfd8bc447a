"""The operator's line and exit code for what a command can raise (bridge/failures.py), from real
errors: a SQLite file without the schema, one that is read-only, a closed port, a missing key."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from adapters.chukan.errors import ChukanFault, ChukanUnavailable
from bridge.failures import INTERNAL, INTERRUPTED, NO, NOT_INITIALISED, REFUSED, UNAVAILABLE, USAGE, classify
from queues.crypto import Keyring, KeyringError
from queues.errors import PermanentError
from settings import ConfigError

KOJIN_BANGO = "123456789018"  # shaped like a 個人番号 (synthetic)


def store_error(url: str, sql: str, **params: str) -> SQLAlchemyError:
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text(sql), params)
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{sql} did not fail")


def test_a_store_without_its_schema_is_not_initialised(tmp_path: Path) -> None:
    failure = classify(store_error(f"sqlite:///{tmp_path / 'store.db'}", "SELECT * FROM transfers WHERE id = :id",
                                   id=KOJIN_BANGO))
    assert failure.code == NOT_INITIALISED
    assert failure.line == ("not initialised: the database has no schema (no such table: transfers); "
                            "run kaigo-bridge init")


def test_a_read_only_store_is_unavailable_and_the_sql_parameters_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (v TEXT)")
    exc = store_error(f"sqlite:///file:{path}?mode=ro&uri=true", "INSERT INTO t VALUES (:v)", v=KOJIN_BANGO)
    assert KOJIN_BANGO in str(exc)  # SQLAlchemy's text carries the parameters: the line must not
    failure = classify(exc)
    assert (failure.code, failure.line) == (UNAVAILABLE,
                                            "the store is unavailable: attempt to write a readonly database")


def test_each_kind_of_failure_has_its_code() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5)
    except ConnectionRefusedError as refused:
        connection = refused
    cases = [
        (ConfigError(["flows.toml: no flow named 'x'", "b", "c"]), USAGE,
         "configuration: flows.toml: no flow named 'x' (and 2 more: kaigo-bridge config check lists them)"),
        (connection, UNAVAILABLE, "a service is unreachable: [Errno 111] Connection refused"),
        (ChukanUnavailable("SubmitQuery", "timeout", attempts=3, key="k1"), UNAVAILABLE,
         "中間サーバー SubmitQuery: unavailable after 3 attempt(s): timeout (key k1)"),
        (ChukanFault("SubmitQuery", "E001"), REFUSED, "中間サーバー SubmitQuery: fault E001"),
        (PermissionError(13, "Permission denied", "/x/keys"), REFUSED,
         "refused: [Errno 13] Permission denied: '/x/keys'"),
        (OSError(28, "No space left on device"), UNAVAILABLE, "the disk is full: [Errno 28] No space left on device"),
        (PermanentError("refused"), NO, "failed: refused"),
        (KeyboardInterrupt(), INTERRUPTED, "interrupted"),
        (ValueError(f"bad value {KOJIN_BANGO}"), INTERNAL,
         "internal error (ValueError: bad value ********9018); kaigo-bridge -v … shows the traceback"),
    ]
    for exc, code, line in cases:
        failure = classify(exc)
        assert (failure.code, failure.line) == (code, line), exc


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    Keyring.create(tmp_path / "keys")
    next((tmp_path / "keys").glob("*.key")).chmod(0o644)
    with pytest.raises(KeyringError) as raised:
        Keyring.load(tmp_path / "keys")
    failure = classify(raised.value)
    assert failure.code == REFUSED and failure.line.startswith("refused: ")


def test_a_missing_key_folder_is_not_initialised(tmp_path: Path) -> None:
    with pytest.raises(KeyringError) as raised:
        Keyring.load(tmp_path / "keys")
    failure = classify(raised.value)
    assert (failure.code, failure.line) == (
        NOT_INITIALISED, f"not initialised: key directory {tmp_path / 'keys'} does not exist; run kaigo-bridge init")
