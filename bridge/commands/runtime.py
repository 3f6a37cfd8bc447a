"""worker, relay, run FLOW."""

from __future__ import annotations

import os
import signal
import socket
import threading
from typing import Annotated

import typer

from bridge.context import state
from bridge.duties import consumer_watch, relay_duty, worker_duties
from bridge.flows import run_flow
from bridge.output import console, emit, emit_object
from queues.health import Board
from queues.outbound import AlreadyRun
from queues.supervisor import Supervisor
from queues.worker import Worker


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(ctx: typer.Context,
               routes: Annotated[str | None, typer.Option(help="comma-separated routes (default: all)")] = None,
               relay: Annotated[bool, typer.Option(help="also relay the outbox from this process")] = True,
               ) -> None:
        """Consume routes until SIGTERM/SIGINT; several workers on the same routes share the work."""
        bridge = state(ctx).bridge
        bridge.actor = f"worker:{socket.gethostname()}:{os.getpid()}"
        config = bridge.config
        chosen = [config.route(name) for name in routes.split(",")] if routes else list(config.routes.values())
        stop = threading.Event()
        consumer = Worker(config.broker.url(), config.broker.exchange, chosen,
                          {r.name: bridge.applier(r) for r in chosen}, config.broker.heartbeat)

        def shutdown(_signum: int, _frame: object) -> None:
            stop.set()
            consumer.stop()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        supervisor = Supervisor([*worker_duties(bridge, relay), consumer_watch(consumer)], Board(config.var, "worker"))
        supervisor.start(stop)
        console.print(f"worker consuming {', '.join(r.name for r in chosen)}" + (" (+ relay)" if relay else ""))
        try:
            consumer.run()
        finally:
            stop.set()
            supervisor.join()

    @app.command("relay")
    def relay_command(ctx: typer.Context,
                      once: Annotated[bool, typer.Option(help="publish what is pending, then exit")] = False,
                      ) -> None:
        """Publish pending outbox events (confirmed) until stopped."""
        bridge = state(ctx).bridge
        if once:
            relay = bridge.relay()
            console.print(f"published {relay.drain()} event(s)")
            relay.close()
            return
        # Supervised: whatever ends the relay loop, it is built again (new publisher) after a backoff.
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        Supervisor([relay_duty(bridge)], Board(bridge.config.var, "relay")).run(stop)

    @app.command()
    def receive(ctx: typer.Context, flow: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Take the complete files waiting for an inbound flow into the encrypted store and queue them."""
        taken = state(ctx).bridge.receive(flow)
        emit([{"file": name, "transfer": tid, "new": new} for name, tid, new in taken], json_out,
             title=f"received for {flow}", columns=["file", "transfer", "new"])

    @app.command()
    def run(ctx: typer.Context, flow: str,
            nendo: Annotated[int | None, typer.Option(
                help="年度 (fiscal year) of the batch, for the yearly flows (default: the current 年度)")] = None,
            month: Annotated[int | None, typer.Option(
                help="処理対象年月 YYYYMM, for the monthly flows such as kokuho.ido (default: this month)")] = None,
            edition: Annotated[int, typer.Option(help="2, 3 … to issue the same batch again")] = 1,
            by: Annotated[str, typer.Option("--by", help="operator starting the run (recorded)")] = "",
            json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Run a batch flow: extract, render, encrypt, queue (with a progress bar).
        Running it again resumes an interrupted run; a finished one is refused."""
        bridge = state(ctx).bridge
        if by:
            bridge.actor = f"operator:{by}"
        try:
            summary = run_flow(bridge, flow, nendo=nendo, edition=edition, progress=not json_out, month=month)
        except AlreadyRun as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        except ValueError as exc:  # a period that does not fit the flow (--month for a 年度 flow …)
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        emit_object(summary, json_out, title=f"run {flow}")
