"""vendor-kit OUT: what a print vendor needs to exchange with the ward."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from adapters.vendor import register as ledger
from bridge.context import state
from bridge.output import console

KIT = Path(ledger.__file__).with_name("VENDOR-KIT.md")


def register(app: typer.Typer) -> None:
    @app.command("vendor-kit")
    def vendor_kit(ctx: typer.Context, out: Path) -> None:
        """Write what a vendor needs: the kit, the ward's public key and fingerprint."""
        bridge = state(ctx).bridge
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KIT, out / KIT.name)
        (out / "ward-public-key.asc").write_text(bridge.gpg.export_public(bridge.ward_fingerprint), encoding="ascii")
        (out / "ward-fingerprint.txt").write_text(bridge.ward_fingerprint + "\n", encoding="ascii")
        console.print(f"vendor kit written to {out}: {KIT.name}, ward-public-key.asc, ward-fingerprint.txt "
                      f"({bridge.ward_fingerprint})")
