"""vendor-kit OUT [--partner NAME]: what a print vendor needs to exchange with the ward, filled in
with that vendor's settings (adapters/vendor/kit.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from adapters.vendor import kit as vendor_kit_files
from bridge.context import state
from bridge.output import console


def register(app: typer.Typer) -> None:
    @app.command("vendor-kit")
    def vendor_kit(ctx: typer.Context, out: Path,
                   partner: str = typer.Option(None, "--partner", help="the print vendor (partners.toml); "
                                               "without it, one kit per SFTP print vendor in OUT/<name>/")) -> None:
        """Write a vendor's kit: VENDOR-KIT.md with its settings, the ward's key and fingerprint, known_hosts."""
        bridge = state(ctx).bridge
        config = bridge.config
        vendors = [p for p in config.partners.values() if p.kind == "print-vendor"]
        listed = ", ".join(f"{p.name} ({p.channel})" for p in vendors) or "none"
        if partner is not None:
            chosen = next((p for p in vendors if p.name == partner), None)
            if chosen is None:
                typer.echo(f"kaigo-bridge: vendor-kit: --partner {partner}: no print vendor of that name in "
                           f"partners.toml (print vendors: {listed})", err=True)
                raise typer.Exit(2)
            targets = [(chosen, out)]
        else:
            reached = vendor_kit_files.sftp_partners(vendors)
            if not reached:
                typer.echo("kaigo-bridge: vendor-kit: no print vendor is reached by SFTP, and answers are read "
                           f"over SFTP only (print vendors: {listed})", err=True)
                raise typer.Exit(1)
            targets = [(p, out / p.name) for p in reached]
        ward = bridge.ward_fingerprint
        public = bridge.gpg.export_public(ward)
        kits = [(vendor_kit_files.build(p, config.flows.values(), ward, public), where) for p, where in targets]
        for made, where in kits:  # every kit built before one is written: a refusal leaves nothing half-done
            where.mkdir(parents=True, exist_ok=True)
            for name, data in made.files.items():
                (where / name).write_bytes(data)
            console.print(f"vendor kit for {made.partner} written to {where}: {', '.join(made.files)} "
                          f"(ward key {ward})")
