"""Publishing with publisher confirms and ``mandatory``, pipelined.

pika's BlockingChannel waits for the broker's confirm after every single publish, which caps a
publisher at a few thousand messages a second. The protocol allows many publishes in flight, so
this publisher sends on the underlying channel with up to ``WINDOW`` publishes unconfirmed: when
the window is full it waits until a quarter of it is confirmed, then sends on. ``send`` does not
wait for a message's own confirm: the caller takes what the broker has settled (``settled``: ids
confirmed, ids refused) whenever it likes and sends on meanwhile, so the window stays full across
the caller's batches; ``publish`` sends a batch and waits for every confirm of it. A message the
broker returns (unroutable) or nacks is reported as refused, never as confirmed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import pika
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosed

from queues.message import Message

WINDOW = 1000  # publishes in flight (sent, not yet confirmed)
RESUME = WINDOW * 3 // 4  # a full window sends on once no more than this many are unconfirmed


class PublishError(Exception):
    """Some messages were not accepted by the broker; ``failures`` maps message id to reason."""

    def __init__(self, failures: dict[str, str]) -> None:
        shown = "; ".join(f"{mid}: {why}" for mid, why in list(failures.items())[:5])
        more = f" (+{len(failures) - 5} more)" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} message(s) not accepted by the broker: {shown}{more}")
        self.failures = failures


class Publisher:
    """One connection and one confirm-mode channel; not thread-safe (one per thread)."""

    def __init__(self, url: str, exchange: str, heartbeat: int = 30, timeout: float = 30.0,
                 setup: Callable[[BlockingChannel], None] | None = None, blocked_timeout: float = 60.0) -> None:
        """``setup`` runs once on a fresh channel after connecting (declaring the topology).
        A connection the broker blocks (a memory or disk alarm) for ``blocked_timeout`` seconds is
        closed, so its owner reconnects instead of waiting on it for ever; an idle owner calls
        ``process_events`` so the heartbeats are answered."""
        params = pika.URLParameters(url)
        params.heartbeat = heartbeat
        params.blocked_connection_timeout = blocked_timeout
        self.exchange = exchange
        self.timeout = timeout
        self._conn = pika.BlockingConnection(params)
        try:
            if setup is not None:
                channel = self._conn.channel()
                setup(channel)
                channel.close()
            self._channel = self._conn.channel()
        except BaseException:
            self.close()  # half set up: not left open for the broker to count against us
            raise
        # The underlying (asynchronous) channel lets confirms be pipelined; see module docstring.
        self._impl = self._channel._impl
        self._tag = 0
        self._pending: dict[int, str] = {}  # delivery tag -> message id, sent and not yet confirmed
        self._returned: dict[str, str] = {}  # message id -> why the broker returned it (its ack follows)
        self._confirmed: list[str] = []  # ids confirmed since the last ``settled``
        self._refused: dict[str, str] = {}  # ids nacked or returned since the last ``settled``
        self._wake_at = 0  # _on_confirm wakes the waiting loop once this few are pending
        selected: list[bool] = []

        def on_select(_frame: Any) -> None:
            selected.append(True)
            self._wake()

        self._impl.add_on_return_callback(self._on_return)
        try:
            self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=on_select)
            self._wait(lambda: bool(selected), "confirm.select")
        except BaseException:
            self.close()
            raise

    def send(self, message: Message, routing_key: str | None = None, exchange: str | None = None) -> None:
        """Publish ``message`` (to its route unless ``routing_key`` is given) without waiting for
        its confirm; while WINDOW are unconfirmed, first wait until a quarter of them are."""
        pending = self._pending
        if len(pending) >= WINDOW:
            self._wake_at = RESUME
            self._wait(lambda: len(pending) <= RESUME, "room in the window of unconfirmed publishes")
        self._tag += 1
        pending[self._tag] = message.id
        self._impl.basic_publish(exchange=self.exchange if exchange is None else exchange,
                                 routing_key=routing_key or message.route, body=message.body,
                                 properties=message.properties(), mandatory=True)

    @property
    def unconfirmed(self) -> int:
        return len(self._pending)

    def settled(self) -> tuple[list[str], dict[str, str]]:
        """What the broker has answered since the last call: the ids it confirmed, and the ids it
        refused (nacked or returned) with the reason. Serves the connection first, without waiting."""
        self._conn.process_data_events(time_limit=0)
        confirmed, refused = self._confirmed, self._refused
        self._confirmed, self._refused = [], {}
        return confirmed, refused

    def wait_confirms(self) -> None:
        """Wait until the broker has answered every message sent."""
        pending = self._pending
        self._wake_at = 0
        self._wait(lambda: not pending, f"confirms for {len(pending)} message(s)")

    def publish(self, messages: Sequence[Message], routing_key: str | None = None,
                exchange: str | None = None) -> None:
        """Publish ``messages`` and wait until the broker has confirmed every one. Raises
        PublishError naming the refused ones."""
        for message in messages:
            self.send(message, routing_key, exchange)
        self.wait_confirms()
        _confirmed, refused = self.settled()
        if refused:
            raise PublishError(refused)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        pending = self._pending
        if method.multiple:
            # Tags are given in order and ``pending`` keeps insertion order: the confirmed ones lead.
            tags = []
            for tag in pending:
                if tag > method.delivery_tag:
                    break
                tags.append(tag)
        else:
            tags = [method.delivery_tag]
        nack = isinstance(method, spec.Basic.Nack)
        for tag in tags:
            message_id = pending.pop(tag, None)
            if message_id is None:
                continue
            returned = self._returned.pop(message_id, None)
            if nack:
                self._refused[message_id] = "nacked by the broker"
            elif returned is not None:
                self._refused[message_id] = returned
            else:
                self._confirmed.append(message_id)
        if len(pending) <= self._wake_at:
            self._wake()

    def _wake(self) -> None:
        # Callbacks on the underlying channel are not events the blocking connection waits for:
        # without this, process_data_events would sit out its whole time limit after the last
        # confirm. A zero-delay timer is such an event.
        self._conn.call_later(0, lambda: None)

    def _on_return(self, _channel: Any, method: Any, props: pika.BasicProperties, _body: bytes) -> None:
        # The broker sends basic.return before the basic.ack of the same message.
        self._returned[str(props.message_id)] = (
            f"unroutable: {method.reply_code} {method.reply_text} (exchange {method.exchange!r}, "
            f"routing key {method.routing_key!r})")

    def _wait(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not done():
            if self._channel.is_closed:
                # e.g. the exchange does not exist: the broker closes the channel, no confirm comes.
                raise ChannelClosed(0, f"channel closed by the broker while waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"broker did not answer within {self.timeout:.0f} s: {what}")
            self._conn.process_data_events(time_limit=min(remaining, 1.0))

    def process_events(self) -> None:
        """Serve heartbeats while idle (raises whatever a lost connection raises)."""
        self._conn.process_data_events(time_limit=0)

    def close(self) -> None:
        """Close the connection; one already lost (broker killed, blocked too long) raises
        nothing: there is nothing left to close, and the caller is on its way to a fresh one."""
        # pika raises assorted kinds (StreamLostError, ValueError …) closing a dead socket.
        with contextlib.suppress(Exception):
            if self._conn.is_open:
                self._conn.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
