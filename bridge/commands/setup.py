"""init, config check, keys rotate."""

from __future__ import annotations

import typer

from bridge import app as wiring
from bridge import file_modes
from bridge.context import checked_config, state
from bridge.output import console
from queues.quarantine import AnswerQuarantine
from settings import ConfigError


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Configuration.")
    keys_app = typer.Typer(help="Encryption keys.")
    app.add_typer(config_app, name="config")
    app.add_typer(keys_app, name="keys")

    @app.command()
    def init(ctx: typer.Context) -> None:
        """Create keys, the signing key, the store schema and the custody log (idempotent); bring
        the modes of what the bridge keeps under var/ to its user's only (folders 0700, files 0600)."""
        config = state(ctx).config
        for line in wiring.init(config):
            console.print(f"[green]✓[/] {line}")
        sealed = AnswerQuarantine.of(config, wiring.Bridge(config).payloads).seal_clear_copies()
        if sealed:
            console.print(f"[yellow]![/] {len(sealed)} refused answer(s) an earlier version kept in clear: "
                          "now encrypted (quarantine answers)")
        repaired = file_modes.repair(config)
        for line in repaired:
            console.print(f"[yellow]![/] mode repaired: {line}")
        console.print(f"[green]✓[/] file modes: folders 0700, files 0600 ({len(repaired)} repaired)")

    @config_app.command("check")
    def check(ctx: typer.Context) -> None:
        """Validate every configuration file; report all problems; exit non-zero if any."""
        try:
            cfg = checked_config(state(ctx).config_dir)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        console.print(f"[green]configuration valid[/]: {cfg.config_dir} — {len(cfg.routes)} routes, "
                      f"{len(cfg.partners)} partners, {len(cfg.flows)} flows")

    @keys_app.command("rotate")
    def rotate(ctx: typer.Context) -> None:
        """Introduce a new key-encryption key and re-wrap every stored payload under it."""
        done = state(ctx).bridge.rotate_keys()
        console.print(f"active key is now [bold]{done['active_key']}[/]; re-wrapped {done['payloads_rewrapped']} "
                      f"payload(s) and {done['outbox_rewrapped']} pending event(s); older keys are kept for "
                      "messages already in the broker")
