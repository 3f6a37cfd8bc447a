"""The rows a run can print, by name, and the measurements behind them.

A measurement is taken at most once per run and shared by the rows that need it (the message
path run gives both ``message_path`` and its ceiling row), so ``--only`` runs just what the chosen
rows need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from adapters.core.journal import ROUTE
from bench import (
    chukan_fukuhon,
    kyufu_load,
    message_path,
    nenkin_parse,
    nenkin_z11_z12,
    outbox_write,
    print_run,
    transfer_io,
)
from bench.broker import Broker
from bench.install import Installation
from bench.proc import run_child
from bench.report import Row, ratio_at_least, row
from fixtures.population import load
from queues.outbox import BATCH
from queues.publisher import WINDOW

PEOPLE = 500  # a small population: the events cycle through their 資格 rows
EVENTS_PER_S = "events/s, higher better"
MSGS_PER_S = "msgs/s, higher better"


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


def outbox_write_row(lab: Lab) -> Row:
    """Both UPDATE the chosen 資格 rows and insert their sealed events, 1000 per committed
    transaction; ours through ``change_shikaku`` (``announce_many``: the batch's rows as tuples in
    one executemany), raw sqlite3 through one UPDATE and one executemany."""
    ours, rss = lab.outbox
    raw = lab.outbox_baseline
    return row("outbox.write", lab.events / ours["seconds"], EVENTS_PER_S,
               "sqlite3: same UPDATE + same sealed rows, executemany, 1000/tx",
               lab.events / raw["seconds"], ratio_at_least(0.5), rss)


def _path_rate(lab: Lab) -> float:
    return lab.events / float(lab.message_path["seconds"])


def message_path_row(lab: Lab) -> Row:
    """Both publish N messages of the same size with the same confirm window into a quorum queue
    from one process while a consumer in another, with the same prefetch, acks them in batches,
    clock to the last ack; ours' publisher (the relay) also claims them from the outbox and marks
    them sent, and its consumer (the worker) decrypts each, commits it to the journal + inbox +
    custody before the ack and moves custody to the log."""
    rate = _path_rate(lab)
    raw, _ = lab.raw_pipeline
    return row("message_path", rate, EVENTS_PER_S,
               f"pika: {WINDOW} confirms in flight + consumer acking in batches, same bodies",
               lab.events / raw["seconds"], ratio_at_least(0.5), lab.message_path["peak_rss_mb"])


def message_path_ceiling(lab: Lab) -> Row:
    """Ours as in ``message_path`` against raw pika only publishing the same messages, no
    confirms and no consumer: what the client and broker can take at most (information)."""
    rate = _path_rate(lab)
    raw, _ = lab.no_confirm
    return row("message_path.ceiling", rate, EVENTS_PER_S,
               "pika publish, no confirms, no consumer, same bodies",
               lab.events / raw["publish_s"], None, lab.message_path["peak_rss_mb"])


def publisher_pipelined(lab: Lab) -> Row:
    """Both publish the same messages into a quorum queue with up to 1000 unconfirmed, clock to
    the last confirm; ours in the relay's batches of 5000 (each waits for its last confirms, and
    sends on when a quarter of the window is confirmed), raw pika slides its window one confirm at a time."""
    ours, rss = lab.pipelined
    raw, _ = lab.raw_pipelined
    return row("publisher.pipelined", lab.events / ours["publish_s"], MSGS_PER_S,
               f"pika SelectConnection, {WINDOW} confirms in flight, same bodies",
               lab.events / raw["publish_s"], ratio_at_least(0.9), rss)


ROWS: dict[str, Callable[[Lab], Row]] = {
    "outbox.write": outbox_write_row,
    "message_path": message_path_row,
    "message_path.ceiling": message_path_ceiling,
    "publisher.pipelined": publisher_pipelined,
    "sftp.upload": transfer_io.sftp_upload,
    "sftp.download": transfer_io.sftp_download,
    "pgp.encrypt_sign": transfer_io.pgp_encrypt_sign_row,
    "print_run": print_run.print_run_row,
    "print_run.rss_flatness": print_run.rss_flatness_row,
    "kyufu.parse": lambda lab: kyufu_load.parse_row(lab.kyufu),
    "kyufu.parse_validate": lambda lab: kyufu_load.parse_validate_row(lab.kyufu),
    "kyufu.apply": lambda lab: kyufu_load.apply_row(lab.kyufu),
    "kyufu.load": lambda lab: kyufu_load.load_row(lab.kyufu),
    "kyufu.rss_flatness": lambda lab: kyufu_load.rss_row(lab.kyufu),
    "nenkin.parse": lambda lab: nenkin_parse.parse_row(lab.nenkin),
    "nenkin.render": lambda lab: nenkin_parse.render_row(lab.nenkin),
    "nenkin.z11_z12": lambda lab: nenkin_z11_z12.z11_z12_row(lab.nenkin_year),
    "nenkin.rss_flatness": lambda lab: nenkin_z11_z12.rss_row(lab.nenkin_year),
    "chukan.fukuhon": lambda lab: chukan_fukuhon.fukuhon_row(lab.fukuhon),
    "chukan.fukuhon.our_share": lambda lab: chukan_fukuhon.share_row(lab.fukuhon),
}
