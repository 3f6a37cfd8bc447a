"""The operator's console script, ``kaigo-bridge``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer carries its own click
from typer.core import TyperGroup

from bridge import file_modes, logs
from bridge.commands import (
    access,
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
    vendor_kit,
)
from bridge.context import State
from bridge.failures import report


class Guarded(TyperGroup):
    """The one place where a command's failure becomes what an operator reads: one line, cause
    first, an exit code from the README's table (bridge/failures.py), the traceback only with -v.
    A usage error (exit 2) is one line too; typer.Exit and help pass through as they are."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:  # a wrong option or argument: one line too, its help named
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            sys.stderr.write(f"kaigo-bridge: usage: {exc.format_message()} (see {where} --help)\n")
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc, verbose=isinstance(ctx.obj, State) and ctx.obj.verbose)) from None


app = typer.Typer(cls=Guarded, help="kaigo-bridge: the 介護保険 integration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main(ctx: typer.Context,
         config: Annotated[Path | None, typer.Option(help="config folder (default: $KAIGO_CONFIG or ./config)")]
         = None,
         verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logs; a traceback with an error")]
         = False) -> None:
    file_modes.private_process()
    logs.setup(10 if verbose else 20)
    if not verbose:  # pika logs a failed connection at ERROR, paramiko every connection at INFO: the
        logging.getLogger("pika").setLevel(logging.CRITICAL)  # command's own line says what matters, once
        logging.getLogger("paramiko").setLevel(logging.WARNING)
    ctx.obj = State(config, verbose)


for module in (setup, runtime, ops, dead, quarantine, custody, handovers, fixtures, nenkin, chukan, queries, approvals,
               records, retention, vendor_kit, access):
    module.register(app)
