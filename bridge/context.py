"""What every command shares: the configuration and the wiring, loaded on first use."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import typer

from bridge import config as config_module
from bridge.app import Bridge
from bridge.config import Config, ConfigError


class State:
    def __init__(self, config_dir: Path | None) -> None:
        self.config_dir = config_dir

    @cached_property
    def config(self) -> Config:
        try:
            return config_module.load(self.config_dir)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc

    @cached_property
    def bridge(self) -> Bridge:
        return Bridge(self.config)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
