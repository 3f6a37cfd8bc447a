"""個人番号 never leaves in clear: not in a log, a message header, a file the bridge writes, a
database it keeps, or an operator screen. The numbers are taken from the generator itself
(the same seed), and every byte the run produced is searched for each of them."""

from __future__ import annotations

import re
from pathlib import Path

import pika

from fixtures.activity import change_shikaku
from fixtures.population import generate, load
from queues import topology
from tests.harness import Home, wait_until

PEOPLE, SEED, NENDO = 2000, 101, 2026


def numbers() -> set[bytes]:
    return {p.kojin_bango.encode() for p in generate(PEOPLE, SEED, NENDO)}


def tap(home: Home) -> tuple[pika.BlockingConnection, str]:
    """A queue bound beside each route's work queue: a copy of every message published."""
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    channel = connection.channel()
    topology.declare(channel, home.config.broker.exchange, list(home.config.routes.values()))
    channel.queue_declare("privacy.tap", durable=True)
    for route in home.config.routes:
        channel.queue_bind("privacy.tap", home.config.broker.exchange, routing_key=route)
    return connection, "privacy.tap"


def test_kojin_bango_appears_nowhere_in_clear(home: Home) -> None:
    secret = numbers()
    assert len(secret) == PEOPLE
    load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=SEED, nendo=NENDO)
    connection, tap_queue = tap(home)

    screens = [home.cli("run", "print.hokenryo", "--nendo", str(NENDO)).stdout]
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 500, seed=102)
    home.start_worker()
    wait_until(lambda: home.bridge.custody.count_by_event().get("applied") == 500, 60, "500 changes applied")
    wait_until(lambda: home.bridge.custody.count_by_event().get("sent") == 1, 60, "the file sent")
    home.stop_all()
    transfer_id = home.cli_json("transfers", "list")[0]["id"]
    for args in (["status"], ["transfers", "list"], ["transfers", "show", transfer_id],
                 ["custody", "show", transfer_id], ["custody", "verify"], ["dead", "list", "print.deliver"]):
        result = home.cli(*args)
        screens += [result.stdout, result.stderr]

    headers: list[bytes] = []
    channel = connection.channel()
    while True:
        method, props, _body = channel.basic_get(tap_queue, auto_ack=True)
        if method is None:
            break
        headers.append(repr((props.headers, props.message_id, props.correlation_id)).encode())
    connection.close()
    assert len(headers) == 501  # 500 change events + 1 delivery

    haystacks: dict[str, bytes] = {f"screen {i}": s.encode() for i, s in enumerate(screens)}
    haystacks |= {f"headers {i}": h for i, h in enumerate(headers)}
    haystacks["worker logs"] = home.worker_logs().encode()
    for path in Path(home.env["KAIGO_VAR"]).rglob("*"):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes()
    assert any(name.endswith(".csv") for name in haystacks), "the delivered file must be searched too"

    twelve = re.compile(rb"(?<!\d)\d{12}(?!\d)")
    leaks = {name: len(set(twelve.findall(data)) & secret) for name, data in haystacks.items()}
    assert not {name: n for name, n in leaks.items() if n}, leaks
    # Control: the search does find a number where one is planted.
    planted = b"xx" + next(iter(secret)) + b"yy"
    assert set(twelve.findall(planted)) & secret
