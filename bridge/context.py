"""What every command shares: the configuration and the wiring, loaded on first use."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import typer

import settings as config_module
from adapters.chukan.client import USER
from bridge.app import Bridge
from settings import Config, ConfigError


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


def operator_id(by: str) -> str:
    """``--by`` where it is sent to the 中間サーバー as RequestedBy / ユーザーID: refused, never replaced."""
    if not USER.fullmatch(by):
        typer.echo(f"--by {by!r}: an operator id is 1-20 of A-Z a-z 0-9 _ . -", err=True)
        raise typer.Exit(2)
    return by


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
