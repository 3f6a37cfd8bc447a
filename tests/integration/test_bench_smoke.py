"""Every benchmark row still runs: ``python -m bench --smoke --json`` against the session's RabbitMQ
and sshd, as ``./dev bench`` runs it. The figures of a smoke run mean nothing (tiny sizes, a busy
machine); what is checked is that each row ran, printed a figure and judged its goal — so a row
broken by a change elsewhere (a config file, a renamed function) fails here, not in a user's hands."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fixtures.services import RabbitNode, SshdServer
from fixtures.services.sshd import SftpTree

REPO = Path(__file__).resolve().parents[2]

# Typed here, not read from bench.rows: a row that disappears must fail this test too.
EXPECTED = {
    "outbox.write", "message_path", "message_path.ceiling", "publisher.pipelined", "sftp.upload",
    "sftp.download", "pgp.encrypt_sign", "print_run.300", "print_run.rss_flatness", "kyufu.parse",
    "kyufu.parse_validate", "kyufu.apply", "kyufu.load_300", "kyufu.rss_flatness", "nenkin.parse",
    "nenkin.render", "nenkin.z11_z12", "nenkin.rss_flatness", "chukan.fukuhon", "chukan.fukuhon.our_share",
}
INFORMATION = {"message_path.ceiling", "kyufu.parse", "kyufu.load_300", "nenkin.render", "chukan.fukuhon.our_share"}


def test_every_row_runs_and_prints_a_judged_figure(rabbit: RabbitNode, sshd: SshdServer,
                                                   sftp_tree: Callable[[str], SftpTree]) -> None:
    tree = sftp_tree("default")
    env = {**os.environ,
           "KAIGO_AMQP_URL": rabbit.amqp_url,
           "KAIGO_RABBIT_API": f"http://guest:guest@127.0.0.1:{rabbit.management_port}/",
           "KAIGO_SFTP_HOST": "127.0.0.1", "KAIGO_SFTP_PORT": str(tree.port), "KAIGO_SFTP_USER": sshd.username,
           "KAIGO_SFTP_KEY": str(sshd.client_key), "KAIGO_SFTP_KNOWN_HOSTS": str(sshd.known_hosts)}
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-6000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["name"] for r in rows} == EXPECTED, done.stderr[-3000:]
    assert len(rows) == len(EXPECTED)
    for r in rows:
        assert list(r) == ["name", "value", "unit", "baseline", "baseline_value", "ratio", "goal", "goal_met",
                           "peak_rss_mb"], r
        assert isinstance(r["value"], float) and math.isfinite(r["value"]) and r["value"] >= 0, r
        assert isinstance(r["peak_rss_mb"], float) and r["peak_rss_mb"] > 0, r
        if r["name"] in INFORMATION:
            assert (r["goal"], r["goal_met"]) == ("information", None), r
        else:
            # a goal is set and judged: true or false, never unjudged for want of a figure
            assert r["goal"] != "information" and isinstance(r["goal_met"], bool), r
        if r["baseline_value"] is not None:
            assert math.isfinite(r["baseline_value"]) and r["baseline_value"] > 0, r
            assert r["ratio"] is not None, r
