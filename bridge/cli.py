"""The operator's console script, ``kaigo-bridge``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge import file_modes, logs
from bridge.commands import (
    approvals,
    chukan,
    custody,
    dead,
    fixtures,
    handovers,
    nenkin,
    ops,
    quarantine,
    queries,
    records,
    retention,
    runtime,
    setup,
)
from bridge.context import State

app = typer.Typer(help="kaigo-bridge: the 介護保険 integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main(ctx: typer.Context,
         config: Annotated[Path | None, typer.Option(help="config folder (default: $KAIGO_CONFIG or ./config)")]
         = None,
         verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    file_modes.private_process()
    logs.setup(10 if verbose else 20)
    ctx.obj = State(config)


for module in (setup, runtime, ops, dead, quarantine, custody, handovers, fixtures, nenkin, chukan, queries, approvals,
               records, retention):
    module.register(app)
