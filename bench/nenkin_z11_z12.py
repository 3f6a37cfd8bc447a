"""年金特徴: the May Z11 of a large population loaded and matched, then its July Z12 made.

An installation of its own gets a synthetic population big enough for about ``records`` Z11
records (untimed), and the simulated 経由機関's Z11 for it (one file per 特別徴収義務者, untimed).
Then, in a process of its own (its peak RSS is its own):

- ``receive``: ``Bridge.receive`` stores the files encrypted (timed apart, information);
- ``load``: the ``nenkin.load`` route's Applier on each queued file — decrypt, judge the whole
  file, read it again, match every 対象者 to 宛名 and keep them;
- ``z12``: ``run nenkin.z12``: the 本徴収 依頼 decided for the matched, the Z12 files rendered,
  encrypted and queued for delivery.

Timed (``nenkin.z11_z12``): ``load`` (the Applier called in this process on each queued message,
as the worker calls it) + ``z12``, every commit inside the clock (each file's apply transaction,
the 依頼 decided, each Z12's transfer and custody, the 依頼 marked sent) and the Z12 deliveries
published to the broker; there is no raw baseline — the goal is an
absolute ≤ 45 s for ~300,000 対象者 — and ``nenkin.rss_flatness`` asks the child's peak RSS to
stay ≤ 300 MB and ≤ 1.5× that of the same run at a tenth of the size.
"""

from __future__ import annotations

import math
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import settings as config_module
from bench.install import REPO
from bench.proc import run_child
from bench.report import Row, at_most, ratio_at_most, row
from bridge.app import Bridge, init
from bridge.flows import run_flow
from fixtures.nenkin import dta, taisho
from fixtures.population import load as load_population
from queues.message import Message
from store.models import Outbox, TokuchoTaisho, Transfer

NENDO = 2026
FLOW = "nenkin.z11"
SHARE = 0.72  # Z11 対象者 per person of the synthetic population (measured: 14,310 of 20,000)


def prepare(config_dir: str, people: int) -> dict[str, Any]:
    config = config_module.load(Path(config_dir))
    init(config)
    bridge = Bridge(config, actor="bench")
    started = time.perf_counter()
    load_population(bridge.sessions, bridge.mynumber, people=people, seed=29, nendo=NENDO)
    return {"seconds": time.perf_counter() - started}


def make_files(config_dir: str, folder: str) -> dict[str, Any]:
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    with bridge.read_sessions() as s:
        people = taisho.pensioners(s, NENDO, seed=3)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    size = 0
    for f in taisho.z11(people, NENDO):
        size += dta.write(out / f.name, f)
    return {"records": len(people), "bytes": size}


def run(config_dir: str, folder: str) -> dict[str, Any]:
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    flow = bridge.config.flow(FLOW)
    partner = bridge.config.partners[flow.partner]
    assert partner.path is not None
    share = partner.path / flow.folder
    share.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(folder).glob("*.DTA")):
        shutil.copyfile(path, share / path.name)
        (share / f"{path.name}{flow.done_marker}").write_bytes(b"")
    started = time.perf_counter()
    taken = bridge.receive(FLOW)
    received = time.perf_counter()
    applier = bridge.applier(bridge.config.route(flow.route))
    for _name, transfer_id, _new in taken:
        with bridge.sessions() as s:
            r = s.scalars(select(Outbox).where(Outbox.transfer_id == transfer_id)).one()
            message = Message(id=r.id, route=r.route, kind=r.kind, body=r.body, transfer_id=r.transfer_id)
        failures = applier.apply([message])
        if failures:
            raise RuntimeError(f"the loader failed: {failures[0].reason}")
    loaded = time.perf_counter()
    z12 = run_flow(bridge, "nenkin.z12", nendo=NENDO, progress=False)
    made = time.perf_counter()
    with bridge.read_sessions() as s:
        states = {t.state for t in s.scalars(select(Transfer).where(Transfer.flow == FLOW))}
        matched = s.scalar(select(func.count()).select_from(TokuchoTaisho)
                           .where(TokuchoTaisho.match_state == "matched")) or 0
    if states != {"applied"}:
        raise RuntimeError(f"Z11 transfers ended {states}, not applied")
    return {"receive_s": received - started, "load_s": loaded - received, "z12_s": made - loaded,
            "matched": matched, "requests": z12["records"], "z12_files": z12["transfers"]}


class NenkinZ11Z12Bench:
    def __init__(self, root: Path, base_env: dict[str, str], records: int, log: Any) -> None:
        self.root, self.records, self.base_env, self.log = root, records, base_env, log

    def _measure(self, records: int) -> tuple[dict[str, Any], float]:
        home = self.root / f"z11-{records}"
        config_dir = home / "config"
        shutil.copytree(REPO / "config", config_dir)
        env = {**self.base_env, "KAIGO_CONFIG": str(config_dir), "KAIGO_VAR": str(home / "var")}
        people = math.ceil(records / SHARE)
        self.log(f"年金特徴: an installation with {people:,} people (for about {records:,} Z11 対象者)")
        run_child("bench.nenkin_z11_z12:prepare", {"config_dir": str(config_dir), "people": people}, env=env,
                  timeout=3600)
        made, _ = run_child("bench.nenkin_z11_z12:make_files", {"config_dir": str(config_dir),
                                                                "folder": str(home / "files")}, env=env, timeout=3600)
        self.log(f"  simulated 経由機関 Z11: {made['records']:,} records, {made['bytes'] / 1e6:.0f} MB")
        result, rss = run_child("bench.nenkin_z11_z12:run", {"config_dir": str(config_dir),
                                                             "folder": str(home / "files")}, env=env, timeout=3600)
        result["records"] = made["records"]
        self.log(f"  receive {result['receive_s']:.1f} s, load + match {result['load_s']:.1f} s "
                 f"({result['matched']:,} matched), Z12 {result['z12_s']:.1f} s ({result['requests']:,} 依頼 in "
                 f"{result['z12_files']} files); peak RSS {rss:.0f} MB")
        return result, rss

    @cached_property
    def big(self) -> tuple[dict[str, Any], float]:
        return self._measure(self.records)

    @cached_property
    def small(self) -> tuple[dict[str, Any], float]:
        return self._measure(self.records // 10)


def z11_z12_row(bench: NenkinZ11Z12Bench) -> Row:
    result, rss = bench.big
    seconds = result["load_s"] + result["z12_s"]
    return row("nenkin.z11_z12", seconds, f"s for {result['records']:,} Z11 records: load + match + Z12, lower better",
               "none: goal is an absolute time", None, at_most(45, "s"), rss)


def rss_row(bench: NenkinZ11Z12Bench) -> Row:
    big, small = bench.big[1], bench.small[1]
    return row("nenkin.rss_flatness", big, f"MB, Z11→Z12 of {bench.big[0]['records']:,} records",
               f"the same at {bench.small[0]['records']:,}", small, (at_most(300, "MB"), ratio_at_most(1.5)), big)
