"""A throw-away kaigo-bridge installation for a benchmark run: a copy of ``config/``, its own var
folder (store, custody log, keys) and the run's vhost; the same shape ``tests/harness.py`` builds
for tests, so the CLI and worker subprocesses run exactly as an operator would run them."""

from __future__ import annotations

import compileall
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import settings as config_module
from bench.broker import Broker
from bridge.app import Bridge, init
from settings import Config

REPO = Path(__file__).resolve().parent.parent


class Installation:
    def __init__(self, root: Path, broker: Broker) -> None:
        self.root = root
        self.broker = broker
        self.config_dir = root / "config"
        shutil.copytree(REPO / "config", self.config_dir)
        self.env = {
            **os.environ,
            "KAIGO_CONFIG": str(self.config_dir),
            "KAIGO_VAR": str(root / "var"),
            "KAIGO_AMQP_URL": broker.amqp_url,
            "KAIGO_RABBIT_API": broker.management_env_url(),
            "PYTHONUNBUFFERED": "1",
            # the children import bench/ and the project from the checkout, wherever cwd is
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        }

    @cached_property
    def config(self) -> Config:
        return config_module.load(self.config_dir)

    @cached_property
    def bridge(self) -> Bridge:
        return Bridge(self.config, actor="bench")


@contextmanager
def installation(broker: Broker, keep: bool = False) -> Iterator[Installation]:
    """Create, ``init`` and yield an installation; this process's KAIGO_* variables point at it
    meanwhile (config loading reads them), and are restored afterwards."""
    _byte_compile()
    root = Path(tempfile.mkdtemp(prefix="kaigo-bench-home-"))
    home = Installation(root, broker)
    saved = {k: os.environ.get(k) for k in home.env if k.startswith("KAIGO_")}
    os.environ.update({k: v for k, v in home.env.items() if k.startswith("KAIGO_")})
    try:
        init(home.config)
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if "bridge" in home.__dict__:
            home.bridge.sessions.kw["bind"].dispose()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _byte_compile() -> None:
    """Compile the project's modules once, untimed: an installed package carries its bytecode, and
    with PYTHONDONTWRITEBYTECODE set (as on this machine) every child process started inside a
    clock would otherwise compile them from source again (~0.1 s of CPU per start)."""
    for package in ("bridge", "adapters", "queues", "mappings", "settings", "store", "fixtures", "bench"):
        compileall.compile_dir(REPO / package, quiet=1, workers=1)

