"""副本登録 of a whole population through the 中間サーバー simulator, run as a process of its own.

An installation of its own gets ``people`` synthetic people (untimed) and a simulator started with
``python -m fixtures.chukan.sim`` (TLS, client certificate; its own process, so its CPU is not
ours). Then, in a child process:

- ours: ``chukan refresh --all`` (build every person's 副本, decide against fukuhon_state, store
  the batches encrypted, queue them), then each queued message through the chukan.fukuhon route's
  Applier (decrypt, DBM call with its idempotency key, fukuhon_state + custody in the store).
  The broker is left out: its share is what the message_path rows measure. The client counts the
  seconds spent inside HTTP calls: "waiting" is that, "our code" the rest;
- baseline, same run, same simulator: the same replicas (read back from the stored payloads,
  untimed: a raw query reproducing the データ標準レイアウト's items would be a second implementation
  of it) written as RegisterReplica envelopes by string templates under another 版 (new keys for
  the service) and posted with a plain requests.Session, one envelope per batch — templating and
  posting timed, as a user's script would do both.

So the two differ in what ours does before the wire: reading the store, judging each item
against its layout, deciding against fukuhon_state, encrypting and storing the batches, custody.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests
from sqlalchemy import select

import settings as config_module
from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.connect import client_for
from adapters.chukan.fukuhon import today
from adapters.chukan.fukuhon_refresh import FLOW, ROUTE, refresh
from adapters.chukan.fukuhon_send import FukuhonHandler
from bench.install import REPO
from bench.proc import run_child
from bench.report import Row, ratio_at_least, row
from bridge.app import Bridge, init
from fixtures.population import load as load_population
from queues.apply import Applier
from queues.message import Message
from store.models import Outbox, Transfer

BASELINE_VERSION = "9"
NS = "urn:kaigo-bridge:chukan:v1"


def prepare(config_dir: str, people: int) -> dict[str, Any]:
    config = config_module.load(Path(config_dir))
    init(config)
    bridge = Bridge(config, actor="bench")
    started = time.perf_counter()
    load_population(bridge.sessions, bridge.mynumber, people=people, seed=41, nendo=2026)
    return {"seconds": time.perf_counter() - started}


def run(config_dir: str) -> dict[str, Any]:
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    client = client_for(bridge.config.chukan)
    handler = FukuhonHandler(bridge.keyring, bridge.payloads, "bench", bridge.sessions, bridge.read_sessions,
                             lambda: client)
    applier = Applier(ROUTE, bridge.sessions, handler, "bench")
    started = time.perf_counter()
    outcome = refresh(bridge.sessions, bridge.keyring, bridge.payloads,
                      batch_size=bridge.config.chukan.fukuhon_batch_size, actor="operator:bench", everyone=True,
                      day=today())
    built = time.perf_counter()
    with bridge.read_sessions() as s:
        messages = [Message(id=r.id, route=r.route, kind=r.kind, body=r.body, transfer_id=r.transfer_id)
                    for r in s.scalars(select(Outbox).where(Outbox.route == ROUTE).order_by(Outbox.created_at))]
    for message in messages:
        failures = applier.apply([message])
        if failures:
            raise RuntimeError(f"a 副本 batch failed: {failures[0].reason}")
    sent = time.perf_counter()
    with bridge.read_sessions() as s:
        states = {t.state for t in s.scalars(select(Transfer).where(Transfer.flow == FLOW))}
    if states != {"receipted"}:
        raise RuntimeError(f"副本 transfers ended {states}, not receipted")
    client.close()
    return {"replicas": outcome.counts["register"], "persons": outcome.persons, "transfers": len(messages),
            "build_s": built - started, "send_s": sent - built, "wait_s": client.wait_seconds,
            "calls": client.http_calls}


def _envelope(changes: list[fp.Change]) -> bytes:
    parts = [f"<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope xmlns:soap-env="
             f"\"http://schemas.xmlsoap.org/soap/envelope/\"><soap-env:Body><ns0:RegisterReplicaRequest "
             f"xmlns:ns0=\"{NS}\"><ns0:IdempotencyKey>{uuid.uuid4()}</ns0:IdempotencyKey>"
             "<ns0:RequestedBy>bench</ns0:RequestedBy>"]
    for c in changes:
        k = c.key
        parts.append(f"<ns0:Replica><ns0:TokuteiJohoMeiCode>{k.tm}</ns0:TokuteiJohoMeiCode><ns0:DataSetCode>"
                     f"{k.dataset}</ns0:DataSetCode><ns0:LayoutVersion>{BASELINE_VERSION}</ns0:LayoutVersion>"
                     f"<ns0:TogoAtenaNo>{k.togo_atena_no}</ns0:TogoAtenaNo>")
        for i in c.items:
            inner = (f"<ns0:Value>{escape(i.value)}</ns0:Value>" if i.value is not None
                     else f"<ns0:UnsetReason>{i.unset}</ns0:UnsetReason>")
            parts.append(f"<ns0:Item><ns0:ItemNo>{i.no}</ns0:ItemNo>{inner}</ns0:Item>")
        parts.append("</ns0:Replica>")
    parts.append("</ns0:RegisterReplicaRequest></soap-env:Body></soap-env:Envelope>")
    return "".join(parts).encode()


def baseline(config_dir: str) -> dict[str, Any]:
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    server = bridge.config.chukan.server
    with bridge.read_sessions() as s:
        transfers = list(s.scalars(select(Transfer).where(Transfer.flow == FLOW).order_by(Transfer.created_at)))
    # untimed: the replicas read back from the stored payloads
    batches = [fp.parse(bridge.payloads.read(t.payload_ref, t.id, t.flow)) for t in transfers]
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_file)
    session.cert = (str(server.cert_file), str(server.key_file))
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}:RegisterReplica"'}
    url = server.url.rstrip("/") + "/dbm"
    started = time.perf_counter()
    for changes in batches:
        answer = session.post(url, data=_envelope(changes), headers=headers, timeout=server.timeout)
        if answer.status_code != 200 or b"Fault" in answer.content:
            raise RuntimeError(f"baseline: HTTP {answer.status_code} from the simulator")
    seconds = time.perf_counter() - started
    session.close()
    return {"seconds": seconds, "posts": len(batches)}


class FukuhonBench:
    def __init__(self, root: Path, base_env: dict[str, str], people: int, log: Any) -> None:
        self.root, self.base_env, self.people, self.log = root, base_env, people, log

    @cached_property
    def result(self) -> tuple[dict[str, Any], dict[str, Any], float]:
        home = self.root
        config_dir = home / "config"
        shutil.copytree(REPO / "config", config_dir)
        pki = home / "pki"
        sim = subprocess.Popen([sys.executable, "-m", "fixtures.chukan.sim", "--dir", str(pki)], env=self.base_env,
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert sim.stdout is not None
            url = sim.stdout.readline().strip()
            if not url.startswith("https://"):
                raise RuntimeError(f"the simulator did not start (said {url!r})")
            toml = config_dir / "chukan.toml"
            text = toml.read_text(encoding="utf-8").replace('url = "https://127.0.0.1:8443/chukan/"', f'url = "{url}/"')
            for name in ("ca.pem", "client.pem", "client.key"):
                text = text.replace(f'"{{var}}/chukan/{name}"', f'"{pki / name}"')
            toml.write_text(text.replace("timeout = 10", "timeout = 60"), encoding="utf-8")
            env = {**self.base_env, "KAIGO_CONFIG": str(config_dir), "KAIGO_VAR": str(home / "var")}
            self.log(f"副本登録: an installation with {self.people:,} people; simulator {url} (own process)")
            run_child("bench.chukan_fukuhon:prepare", {"config_dir": str(config_dir), "people": self.people},
                      env=env, timeout=3600)
            ours, rss = run_child("bench.chukan_fukuhon:run", {"config_dir": str(config_dir)}, env=env, timeout=7200)
            self.log(f"  ours: {ours['replicas']:,} 副本 of {ours['persons']:,} persons, build {ours['build_s']:.1f} s "
                     f"+ send {ours['send_s']:.1f} s ({ours['transfers']} batches; waiting on the service "
                     f"{ours['wait_s']:.1f} s); peak RSS {rss:.0f} MB")
            raw, _ = run_child("bench.chukan_fukuhon:baseline", {"config_dir": str(config_dir)}, env=env,
                               timeout=7200)
            self.log(f"  baseline: {raw['posts']} pre-rendered envelopes posted in {raw['seconds']:.1f} s")
        finally:
            sim.terminate()
            sim.wait(timeout=30)
        return ours, raw, rss


def _split(ours: dict[str, Any]) -> tuple[float, float]:
    total = ours["build_s"] + ours["send_s"]
    return total, ours["wait_s"] / total if total > 0 else 0.0


def fukuhon_row(bench: FukuhonBench) -> Row:
    """Ours builds every 副本 from the store and sends it through the route's handler; the baseline
    templates the same replicas into envelopes and posts them (it neither reads the store nor
    judges, stores, encrypts or records anything)."""
    ours, raw, rss = bench.result
    total, _waiting = _split(ours)
    return row("chukan.fukuhon", ours["replicas"] / total,
               f"副本/s, {ours['replicas']:,} 副本 of {ours['persons']:,} persons (build + send), higher better",
               "same replicas templated into envelopes + plain requests.Session, same simulator",
               ours["replicas"] / raw["seconds"],
               ratio_at_least(0.25), rss)


def share_row(bench: FukuhonBench) -> Row:
    """Information: of ours' time, the share outside HTTP calls (no baseline)."""
    ours, _raw, rss = bench.result
    total, waiting = _split(ours)
    return row("chukan.fukuhon.our_share", 100 * (1 - waiting),
               f"% of {total:.0f} s in our code (the rest, {100 * waiting:.0f} %, waiting inside HTTP calls)",
               "none", None, None, rss)
