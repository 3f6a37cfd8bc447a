"""The sizes of a run and the measurements behind its rows, each taken at most once per run.

A row (bench/rows.py) asks the ``Lab`` for what it needs; the message path run gives both
``message_path`` and its ceiling row, so ``--only`` runs just what the chosen rows need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from adapters.core.journal import ROUTE
from bench import chukan_fukuhon, kyufu_load, message_path, nenkin_parse, nenkin_z11_z12, outbox_write
from bench.broker import Broker
from bench.install import Installation
from bench.proc import run_child
from fixtures.population import load
from queues.publisher import WINDOW
from queues.relay import BATCH

PEOPLE = 500  # a small population: the events cycle through their 資格 rows


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is. The defaults are the figures the goals are set for; ``SMOKE``
    runs every row in seconds, to prove that each still runs and prints a figure (its figures
    mean nothing)."""

    events: int = 50_000  # change events / messages per broker measurement
    people: int = 200_000  # the print run's and the 副本 refresh's population
    kyufu_records: int = 1_000_000  # records in the 給付実績 file
    kyufu_people: int = 50_000  # about 3,500 of them in care: each has claims from many 事業所
    nenkin_records: int = 300_000  # the Z11
    transfer_mib: int = 100  # the file sftp and OpenPGP rows move
    rounds: int = 3  # best of, for the sftp, OpenPGP and parse rows


SMOKE = Sizes(events=300, people=300, kyufu_records=300, kyufu_people=2_000, nenkin_records=300, transfer_mib=1,
              rounds=1)


class Lab:
    def __init__(self, broker: Broker, home: Installation, sizes: Sizes, log: Callable[[str], None]) -> None:
        self.broker = broker
        self.home = home
        self.sizes = sizes
        self.events = sizes.events
        self.people = sizes.people  # print_run: the population the print run covers
        self.kyufu_records = sizes.kyufu_records
        self.log = log

    @cached_property
    def nenkin(self) -> nenkin_parse.NenkinBench:
        """年金特徴 rows: a Z11 file under this installation's root (no store needed)."""
        return nenkin_parse.NenkinBench(self.home.root / "nenkin", dict(self.home.env), self.sizes.nenkin_records,
                                       self.log, self.sizes.rounds)

    @cached_property
    def nenkin_year(self) -> nenkin_z11_z12.NenkinZ11Z12Bench:
        """年金特徴 Z11→Z12: installations of their own (a population of ~420,000 people)."""
        return nenkin_z11_z12.NenkinZ11Z12Bench(self.home.root / "nenkin-year", dict(self.home.env),
                                                self.sizes.nenkin_records, self.log)

    @cached_property
    def kyufu(self) -> kyufu_load.KyufuBench:
        """給付実績 rows: an installation of their own under this one's root (its own store)."""
        return kyufu_load.KyufuBench(self.home.root / "kyufu", dict(self.home.env), people=self.sizes.kyufu_people,
                                     records=self.kyufu_records, log=self.log, runs=self.sizes.rounds)

    @cached_property
    def fukuhon(self) -> chukan_fukuhon.FukuhonBench:
        """副本登録: an installation of its own (``people`` persons) and the simulator in its own process."""
        return chukan_fukuhon.FukuhonBench(self.home.root / "chukan", dict(self.home.env), self.people, self.log)

    def _child(self, target: str, **kwargs: Any) -> tuple[dict[str, Any], float]:
        return run_child(target, kwargs, env=self.home.env)

    @cached_property
    def outbox(self) -> tuple[dict[str, Any], float]:
        """Loads the population, copies the store for the baseline, then writes the N events the
        message path will carry."""
        load(self.home.bridge.sessions, self.home.bridge.mynumber, people=PEOPLE, seed=7, nendo=2026)
        outbox_write.snapshot(self.home.config.store_url, self.home.root / "raw.db")
        self.log(f"writing {self.events:,} change events to the outbox")
        result, rss = self._child("bench.outbox_write:write_events", config_dir=str(self.home.config_dir),
                                  events=self.events)
        self.log(f"  {result['seconds']:.1f} s; sealed bodies average {result['body_bytes']:.0f} bytes")
        return result, rss

    @property
    def body_bytes(self) -> int:
        """The average sealed body ours carries: the raw baselines send bodies of this size."""
        return round(self.outbox[0]["body_bytes"])

    @cached_property
    def outbox_baseline(self) -> dict[str, Any]:
        _ = self.outbox  # the copy of the store is taken there
        self.log("baseline: raw sqlite3, the same UPDATE and inserts of the same rows")
        result, _ = self._child("bench.outbox_write:sqlite_baseline", config_dir=str(self.home.config_dir),
                                path=str(self.home.root / "raw.db"), events=self.events)
        self.log(f"  {result['seconds']:.1f} s")
        return result

    @cached_property
    def message_path(self) -> dict[str, Any]:
        _ = self.outbox  # the events must be in the outbox first
        self.log(f"message path: relay → broker → worker → journal + inbox + custody, {self.events:,} events")
        result = message_path.run(self.home, self.events, self.log)
        self.log(f"  {result['seconds']:.1f} s")
        return result

    @cached_property
    def raw_pipeline(self) -> tuple[dict[str, Any], float]:
        route = self.home.config.route(ROUTE)
        self.log(f"baseline: pika, {WINDOW} confirms in flight, while a consumer (prefetch {route.prefetch}) "
                 f"acks every {route.batch_size}")
        result, rss = self._child("bench.baseline_pika:pipeline", url=self.broker.amqp_url, queue="bench.pipeline",
                                  events=self.events, body_bytes=self.body_bytes, window=WINDOW,
                                  prefetch=route.prefetch, ack_every=route.batch_size)
        if result["consumed"] != self.events or result["left"]:
            raise RuntimeError(f"raw pipeline consumed {result['consumed']} of {self.events}, left {result['left']}")
        self.log(f"  {result['seconds']:.1f} s (publishing {result['publish_s']:.1f} s of it)")
        return result, rss

    @cached_property
    def no_confirm(self) -> tuple[dict[str, Any], float]:
        self.log("baseline: pika publish without confirms (the ceiling)")
        result, rss = self._child("bench.baseline_pika:no_confirm", url=self.broker.amqp_url,
                                  queue="bench.no-confirm", events=self.events, body_bytes=self.body_bytes)
        self.log(f"  {result['publish_s']:.1f} s")
        return result, rss

    @cached_property
    def pipelined(self) -> tuple[dict[str, Any], float]:
        self.log(f"queues.publisher.Publisher.publish, batches of {BATCH}")
        result, rss = self._child("bench.publisher:pipelined", url=self.broker.amqp_url, queue="bench.pipelined",
                                  events=self.events, body_bytes=self.body_bytes, batch=BATCH)
        if result["queued"] != self.events:
            raise RuntimeError(f"pipelined publisher: {result['queued']} of {self.events} messages queued")
        self.log(f"  {result['publish_s']:.1f} s")
        return result, rss

    @cached_property
    def raw_pipelined(self) -> tuple[dict[str, Any], float]:
        self.log(f"baseline: pika, {WINDOW} confirms in flight, publishing alone")
        result, rss = self._child("bench.baseline_pika:pipelined", url=self.broker.amqp_url,
                                  queue="bench.raw-pipelined", events=self.events, body_bytes=self.body_bytes,
                                  window=WINDOW)
        if result["queued"] != self.events:
            raise RuntimeError(f"raw pipelined publisher: {result['queued']} of {self.events} messages queued")
        self.log(f"  {result['publish_s']:.1f} s")
        return result, rss
