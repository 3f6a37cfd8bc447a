"""The background duties of a worker (and of the standalone relay), as the supervisor runs them.

Each is one round or one loop of work that builds its connections inside: an SFTP session per
inbound poll and per answer poll, a 中間サーバー client per exchange, a new relay (and publisher)
each time the relay loop is started again. Inbound flows run one after another in one lane, as
do the partners' answers and the 中間サーバー's rounds; each flow and each partner is a duty of
its own, so one partner's trouble shows under its name and never holds back the others.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

from bridge import chukan_duties
from bridge.app import Bridge
from queues.supervisor import Duty

if TYPE_CHECKING:
    from queues.relay import Relay
    from queues.worker import Worker

RELAY = "relay"
CONSUMER = "consumer"


def worker_duties(bridge: Bridge, relay: bool) -> list[Duty]:
    config = bridge.config
    out = [Duty("housekeeping", lambda _stop: bridge.housekeep(), every=config.checkpoint_interval, final=True)]
    for partner in config.partners.values():
        if partner.sftp is not None:
            out.append(Duty(f"answers:{partner.name}", partial(_answers, bridge, partner.name),
                            every=partner.poll_seconds, lane="partner-answers"))
    for flow in config.flows.values():
        if flow.direction == "in":
            out.append(Duty(f"inbound:{flow.name}", partial(_inbound, bridge, flow.name),
                            every=config.partners[flow.partner].poll_seconds, lane="inbound"))
    out += chukan_duties.duties(bridge)
    if relay:
        out.append(relay_duty(bridge))
    return out


def _answers(bridge: Bridge, partner: str, _stop: threading.Event) -> None:
    bridge.answers_round(partner)


def _inbound(bridge: Bridge, flow: str, _stop: threading.Event) -> None:
    bridge.receive_round(flow)


def consumer_watch(consumer: Worker) -> Duty:
    """The worker's consumer runs in the main thread (it drains its routes before the last
    housekeeping round moves their custody entries); it rides out broker outages itself. This
    duty only watches it, so a consumer that cannot reach the broker shows in status."""
    return Duty(CONSUMER, _until_stopped, loop=True, probe=lambda: consumer.last_error if consumer.failures else None)


def _until_stopped(stop: threading.Event) -> None:
    stop.wait()


def relay_duty(bridge: Bridge) -> Duty:
    loop = _RelayLoop(bridge)
    return Duty(RELAY, loop.run, loop=True, probe=loop.probe)


class _RelayLoop:
    """A new relay each time it is started: whatever killed the last one (a dead publisher) goes
    with it. The relay rides out broker and store outages itself; ``probe`` tells the heartbeat
    when it is doing so, so a relay that cannot publish shows as failing, not as running well."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.current: Relay | None = None

    def run(self, stop: threading.Event) -> None:
        relay = self.current = self.bridge.relay()
        try:
            relay.run_forever(stop)
        finally:
            relay.close()

    def probe(self) -> str | None:
        relay = self.current
        return relay.last_error if relay is not None and relay.failures else None
