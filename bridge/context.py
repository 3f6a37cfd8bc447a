"""What every command shares: the configuration and the wiring, loaded on first use."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

import settings as config_module
from adapters.chukan.client import USER
from bridge.app import Bridge
from bridge.failures import NotInitialised
from settings import Config, ConfigError


class State:
    def __init__(self, config_dir: Path | None, verbose: bool = False) -> None:
        self.config_dir = config_dir
        self.verbose = verbose

    @cached_property
    def config(self) -> Config:
        return config_module.load(self.config_dir)  # ConfigError: the CLI's handler says it (exit 2)

    @cached_property
    def bridge(self) -> Bridge:
        """The wiring of an initialised installation: opening a store that is not there would
        create an empty one (SQLite makes the file), so every command but ``init`` is refused first."""
        require_installation(self.config)
        return Bridge(self.config)


def require_installation(config: Config) -> None:
    """NotInitialised unless the store and the custody log exist. Only a SQLite file can be looked
    at without opening it; a server database without the schema says "no such table" when used,
    which the CLI's handler reports as not initialised too."""
    for what, url in (("the store", config.store_url), ("the custody log", config.custody_url)):
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            path = Path(str(parsed.database))
            if not path.is_file():
                raise NotInitialised(f"{what} {path} does not exist")


def checked_config(config_dir: Path | None) -> Config:
    """Everything `config check` judges, all problems at once (ConfigError): the files strictly
    (unknown keys, every partner's channel), each route's handler, the key files."""
    from bridge import app as wiring
    from bridge.handlers import HANDLERS

    problems: list[str] = []
    try:
        config = config_module.load(config_dir, strict=True)
    except ConfigError as exc:
        problems += exc.problems
        config = None
    routes = list(config.routes.values()) if config else []
    problems += [f"routes.toml: route[{i}].handler: unknown handler {r.handler!r} of route {r.name} "
                 f"(known: {', '.join(sorted(HANDLERS))})" for i, r in enumerate(routes) if r.handler not in HANDLERS]
    if config is not None:
        try:
            wiring.check_keys(config)
        except ConfigError as exc:
            problems += exc.problems
    if problems or config is None:
        raise ConfigError(problems)
    return config


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
