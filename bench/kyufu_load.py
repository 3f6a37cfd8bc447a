"""給付実績 from the 国保連: a 1,000,000-record file parsed, validated and applied to SQLite.

The simulated 国保連 (fixtures/kokuho/kyufu.py) writes a 給付実績 file of H1 + D1 + T1 groups for
the people in care of a synthetic population (untimed). Then, each in a process of its own so its
peak RSS is its own and nothing is warm from an earlier step (module imports are not timed, on
either side: a worker imports once when it starts); the parse rows take the best of 3 processes
on each side:

- ``parse`` (kyufu.parse, information): ``kokuho_frame.parse`` over the file, every record to its
  values (no checks beyond the layout), layouts loaded inside the clock, against ``raw_csv``: the
  raw ``csv`` module reading the same bytes (file opened and cp932 decoder set up inside the
  clock, every row to a list of strings; no types, no checks);
- ``check`` (kyufu.parse_validate, goal ≥ 0.5x): the loader's whole-file judgement (every rule of
  the layouts, the frame and adapters/kokuho/kyufu_check; on a valid file the fast pass of
  kyufu_quick vouches for it) with its one-time set-up inside the clock — the known 被保険者番号
  read from the store, the patterns compiled — against the same ``raw_csv`` run;
- ``apply_only`` (kyufu.apply, goal ≥ 50,000 records/s): ``apply_kyufu`` writing the file's
  給付実績 to a copy of the store made before any load (same population, empty month), in one
  transaction whose BEGIN IMMEDIATE and COMMIT (the WAL write and its checkpoint, the store's own
  durability settings) are inside the clock; only the reading of the groups is taken out;
- ``load`` (kyufu.load_<size>, kyufu.rss_flatness): the real inbound path: ``Bridge.receive``
  stores the file encrypted (timed apart), then the ``kokuho.load`` route's Applier runs the
  loader on the queued message — decrypt, judge the whole file, read it again and apply it in one
  transaction with the inbox row and custody. Records/s of that step, at the full size and at a
  tenth for RSS flatness.
"""

from __future__ import annotations

import csv
import io
import itertools
import shutil
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import settings as config_module
from adapters.judgement import Verdict
from adapters.kokuho import kyufu_check, kyufu_quick
from adapters.kokuho.context import KokuhoContext, known_hihokensha
from adapters.kokuho.kyufu_apply import apply_kyufu
from adapters.kokuho.kyufu_load import KyufuLoader
from bench.install import REPO
from bench.proc import run_child
from bench.report import Row, at_least, at_most, ratio_at_least, ratio_at_most, row, size_tag
from bridge.app import Bridge, init
from fixtures.kokuho import kyufu
from fixtures.population import load as load_population
from mappings import kokuho_frame
from queues.message import Message
from store.models import KyufuJisseki, Outbox, Transfer

WARD = "131128"
FLOW = "kokuho.kyufu"
RUNS = 3  # fresh processes per parse measurement, the best counted
RATE = "records/s, higher better"


def prepare(config_dir: str, people: int) -> dict[str, Any]:
    """The bench's own installation (its own store): ``init`` and a synthetic population."""
    config = config_module.load(Path(config_dir))
    init(config)
    bridge = Bridge(config, actor="bench")
    started = time.perf_counter()
    load_population(bridge.sessions, bridge.mynumber, people=people, seed=61, nendo=2026)
    return {"seconds": time.perf_counter() - started}


def make_file(config_dir: str, path: str, records: int, service_ym: str) -> dict[str, Any]:
    """A 給付実績 file of about ``records`` data records (H1 + D1 + T1 per claim)."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    with bridge.sessions() as s:
        cared = kyufu.people_in_care(s, service_ym)
    claims = -(-records // 3)
    stream = kyufu.claims(cared, service_ym, seed=1, per_person=-(-claims // len(cared)))
    written = kyufu.write(Path(path), itertools.islice(stream, claims), hokensha_no=WARD, shori_ym=service_ym)
    return {"records": written.records, "claims": written.claims, "bytes": written.size, "people": len(cared)}


def parse(path: str) -> dict[str, Any]:
    """``kokuho_frame.parse``, every record to its values; the layouts load inside the clock."""
    started = time.perf_counter()
    with open(path, "rb") as f:
        count = sum(1 for _ in kokuho_frame.parse(f, file=Path(path).name))
    return {"seconds": time.perf_counter() - started, "items": count}


def raw_csv(path: str) -> dict[str, Any]:
    """The baseline: ``csv.reader`` over the cp932-decoded file, every row to a list; opening the
    file and setting up the decoder inside the clock."""
    started = time.perf_counter()
    with open(path, "rb") as f:
        rows = sum(1 for _ in csv.reader(io.TextIOWrapper(f, encoding="cp932", newline="")))
    return {"seconds": time.perf_counter() - started, "rows": rows}


def check(config_dir: str, path: str) -> dict[str, Any]:
    """The loader's judgement of the file (KyufuLoader.check: the fast pass, which vouches for a
    valid file; the full pass would follow on any doubt), its set-up inside the clock: what
    LoadHandler.prepare does per file (the known 被保険者番号) and once per process (the patterns,
    compiled on the first judgement — here of an empty file, so the set-up has a figure of its own)."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")

    def read() -> Iterator[bytes]:
        with open(path, "rb") as f:
            yield from iter(lambda: f.read(1 << 16), b"")

    started = time.perf_counter()
    with bridge.read_sessions() as s:
        context = KokuhoContext(WARD, known_hihokensha(s))
    kyufu_quick.judge(b"", "set-up", WARD, context.known)
    set_up = time.perf_counter() - started
    verdict = KyufuLoader().check(read, Path(path).name, context)
    seconds = time.perf_counter() - started
    if not verdict.ok:
        raise RuntimeError(f"the simulated file has {verdict.errors} problems: {verdict.problems[:3]}")
    return {"seconds": seconds, "set_up_s": set_up, "records": verdict.records}


def apply_only(config_dir: str, path: str) -> dict[str, Any]:
    """``apply_kyufu`` alone, committed: the file's groups read (that time taken out) and written in
    one transaction, BEGIN IMMEDIATE to COMMIT inside the clock. Runs on a store of its own (a copy
    made before any load), so the load rows still find an empty month."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    with bridge.read_sessions() as s:
        known = known_hihokensha(s)
    reading = 0.0

    def timed(groups: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal reading
        while True:
            started = time.perf_counter()
            group = next(groups, None)
            reading += time.perf_counter() - started
            if group is None:
                return
            yield group

    verdict = Verdict(Path(path).name)
    with bridge.sessions() as session:
        started = time.perf_counter()
        with session.begin(), open(path, "rb") as f:
            counts = apply_kyufu(session, timed(kyufu_check.groups(f, verdict.file, WARD, known, verdict)))
        total = time.perf_counter() - started
    if counts.skipped or not verdict.ok:
        raise RuntimeError(f"apply found {counts.skipped} 給付実績 already stored, {verdict.errors} problems")
    return {"seconds": total - reading, "reading_s": reading, "records": verdict.records,
            "inserted": counts.inserted}


def load(config_dir: str, path: str) -> dict[str, Any]:
    """Receive (timed apart) and apply through the kokuho.load route's Applier."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    flow = bridge.config.flow(FLOW)
    partner = bridge.config.partners[flow.partner]
    assert partner.path is not None
    folder = partner.path / flow.folder
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(path).name
    shutil.copyfile(path, folder / name)
    (folder / f"{name}{flow.done_marker}").write_bytes(b"")
    started = time.perf_counter()
    taken = bridge.receive(FLOW)
    received = time.perf_counter()
    if len(taken) != 1 or not taken[0][2]:
        raise RuntimeError(f"receive took {taken}")
    transfer_id = taken[0][1]
    with bridge.sessions() as s:
        row = s.scalars(select(Outbox).where(Outbox.transfer_id == transfer_id)).one()
        message = Message(id=row.id, route=row.route, kind=row.kind, body=row.body, transfer_id=row.transfer_id)
        before = s.scalar(select(func.count()).select_from(KyufuJisseki)) or 0
    applier = bridge.applier(bridge.config.route(flow.route))
    failures = applier.apply([message])
    applied = time.perf_counter()
    if failures:
        raise RuntimeError(f"the loader failed: {failures[0].reason}")
    with bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        after = s.scalar(select(func.count()).select_from(KyufuJisseki)) or 0
        state, records = transfer.state, transfer.record_count
    if state != "applied":
        raise RuntimeError(f"transfer {transfer_id} is {state}, not applied")
    return {"receive_s": received - started, "apply_s": applied - received, "records": records,
            "inserted": after - before}


class KyufuBench:
    """The measurements, each taken once and shared by the rows that need them."""

    def __init__(self, root: Path, base_env: dict[str, str], people: int, records: int,
                 log: Callable[[str], None], runs: int = RUNS) -> None:
        self.root, self.records, self.log, self.runs = root, records, log, runs
        self.config_dir = root / "config"
        shutil.copytree(REPO / "config", self.config_dir)
        self.env = {**base_env, "KAIGO_CONFIG": str(self.config_dir), "KAIGO_VAR": str(root / "var")}
        log(f"給付実績: an installation of its own with {people:,} people")
        self._child("prepare", config_dir=str(self.config_dir), people=people)
        # kyufu.apply commits into a copy of the store as it is now, before any load writes a month.
        shutil.copytree(root / "var", root / "var-apply")
        self.files: dict[int, Path] = {}

    def _child(self, name: str, var: str = "var", **kwargs: Any) -> tuple[dict[str, Any], float]:
        env = {**self.env, "KAIGO_VAR": str(self.root / var)}
        return run_child(f"bench.kyufu_load:{name}", kwargs, env=env, timeout=1800)

    def _best(self, name: str, **kwargs: Any) -> tuple[dict[str, Any], float]:
        """The fastest of ``runs`` fresh processes (each pays its own set-up), the highest peak RSS."""
        results = [self._child(name, **kwargs) for _ in range(self.runs)]
        best = min((r for r, _ in results), key=lambda r: float(r["seconds"]))
        return best, max(rss for _, rss in results)

    def file(self, records: int) -> Path:
        if records not in self.files:
            path = self.root / f"KYUFU_{records}"
            month = "202610" if records == self.records else "202609"  # two files, no shared 給付実績
            made, _ = self._child("make_file", config_dir=str(self.config_dir), path=str(path), records=records,
                                  service_ym=month)
            self.log(f"  simulated 国保連 file: {made['records']:,} records, {made['claims']:,} 給付実績 of "
                     f"{made['people']:,} people in care, {made['bytes'] / 1e6:.0f} MB")
            self.files[records] = path
        return self.files[records]

    @cached_property
    def raw(self) -> dict[str, Any]:
        self.log(f"baseline: csv.reader over the same bytes (cp932), opening and decoder set-up timed, "
                 f"best of {self.runs}")
        result = self._best("raw_csv", path=str(self.file(self.records)))[0]
        self.log(f"  {result['seconds']:.2f} s")
        return result

    @cached_property
    def parse(self) -> tuple[dict[str, Any], float]:
        self.log(f"kokuho_frame.parse, {self.records:,} records, best of {self.runs}")
        return self._best("parse", path=str(self.file(self.records)))

    @cached_property
    def check(self) -> tuple[dict[str, Any], float]:
        self.log(f"給付実績 check (parse + validate), {self.records:,} records, set-up timed, best of {self.runs}")
        result, rss = self._best("check", config_dir=str(self.config_dir), path=str(self.file(self.records)))
        self.log(f"  {result['seconds']:.2f} s, of which set-up (known 被保険者番号, patterns) "
                 f"{result['set_up_s']:.2f} s")
        return result, rss

    @cached_property
    def apply(self) -> tuple[dict[str, Any], float]:
        self.log(f"apply_kyufu alone, committed (reading the groups not timed), {self.records:,} records")
        result, rss = self._child("apply_only", var="var-apply", config_dir=str(self.config_dir),
                                  path=str(self.file(self.records)))
        self.log(f"  {result['seconds']:.2f} s writing and committing {result['inserted']:,} 給付実績 "
                 f"(reading {result['reading_s']:.2f} s, not counted)")
        return result, rss

    def load(self, records: int) -> tuple[dict[str, Any], float]:
        self.log(f"給付実績 load through the kokuho.load Applier, {records:,} records")
        result, rss = self._child("load", config_dir=str(self.config_dir), path=str(self.file(records)))
        self.log(f"  receive {result['receive_s']:.1f} s, apply {result['apply_s']:.1f} s, "
                 f"{result['inserted']:,} 給付実績 stored; peak RSS {rss:.0f} MB")
        return result, rss

    @cached_property
    def load_big(self) -> tuple[dict[str, Any], float]:
        return self.load(self.records)

    @cached_property
    def load_small(self) -> tuple[dict[str, Any], float]:
        return self.load(self.records // 10)




def parse_validate_row(bench: KyufuBench) -> Row:
    ours, rss = bench.check
    raw = bench.raw
    return row("kyufu.parse_validate", ours["records"] / ours["seconds"], RATE + "; set-up counted",
               "csv.reader, same bytes, rows to lists; opening counted", raw["rows"] / raw["seconds"],
               ratio_at_least(0.5), rss)


def parse_row(bench: KyufuBench) -> Row:
    ours, rss = bench.parse
    raw = bench.raw
    return row("kyufu.parse", ours["items"] / ours["seconds"], RATE, "csv.reader, same bytes, rows to lists",
               raw["rows"] / raw["seconds"], None, rss)


def apply_row(bench: KyufuBench) -> Row:
    ours, rss = bench.apply
    return row("kyufu.apply", ours["records"] / ours["seconds"], RATE + "; store writes and commit",
               "none: goal is an absolute rate", None, at_least(50_000, "records/s"), rss)


def load_row(bench: KyufuBench) -> Row:
    ours, rss = bench.load_big
    return row(f"kyufu.load_{size_tag(bench.records)}", ours["records"] / ours["apply_s"],
               RATE + "; decrypt, judge, apply",
               "none (the whole loader; kyufu.apply has the store goal)", None, None, rss)


def rss_row(bench: KyufuBench) -> Row:
    big_rss, small_rss = bench.load_big[1], bench.load_small[1]
    return row("kyufu.rss_flatness", big_rss, f"MB, load of {bench.records:,} records",
               f"load of {bench.records // 10:,} records", small_rss, (at_most(300, "MB"), ratio_at_most(1.5)), big_rss)
