"""partners.toml: who the ward exchanges with, by which channel, under which controls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from settings.reader import ConfigError, Reader, each

CHANNELS = ("dropdir", "sftp")
FINGERPRINT = re.compile(r"[0-9A-F]{40}")


@dataclass(frozen=True)
class SftpChannel:
    host: str
    port: int
    user: str
    key_file: Path  # the ward's SSH client key (a key-file name, never the key itself)
    known_hosts: Path  # the partner's pinned host key; anything else is refused
    root: str  # folder on the server holding inbox/ and outbox/ ("" = the login folder)


@dataclass(frozen=True)
class PartnerConfig:
    name: str
    kind: str
    title: str
    channel: str
    path: Path | None  # dropdir channel
    sftp: SftpChannel | None  # sftp channel
    openpgp_key: Path | None  # the partner's public key (armoured), relative to the config folder
    openpgp_fingerprint: str | None  # pinned: the key file must hold exactly this key
    receipt_sla: timedelta  # a hand-over without 受領証 after this is overdue
    deletion_sla: timedelta  # … and without 削除証明書 after this
    poll_seconds: int  # how often a worker reads the partner's answers
    file_mode: int  # permission bits of every file delivered to the partner (drop folder, SFTP)
    # What is wrong with the channel's settings (an unset environment variable …): only a command
    # that talks to this partner is refused for it (require), `config check` reports it always.
    problems: tuple[str, ...] = ()

    def require(self) -> PartnerConfig:
        """This partner, if its channel's settings are complete; else ConfigError naming them."""
        if self.problems:
            raise ConfigError(list(self.problems))
        return self


def partners(r: Reader, raw: dict[str, Any], config_dir: Path) -> dict[str, PartnerConfig]:
    f = "partners.toml"
    out: dict[str, PartnerConfig] = {}

    def build(name: str, t: dict[str, Any]) -> None:
        w = f"partner.{name}."
        channel = r.get(t, f, "channel", str, where=w)
        r.check(channel in CHANNELS, f, f"{w}channel", f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        key = fingerprint = None
        if "openpgp_key" in t or "openpgp_fingerprint" in t:
            key = config_dir / r.get(t, f, "openpgp_key", str, where=w)
            r.check(key.is_file(), f, f"{w}openpgp_key", f"file {key} does not exist")
            fingerprint = r.get(t, f, "openpgp_fingerprint", str, where=w).replace(" ", "").upper()
            r.check(bool(FINGERPRINT.fullmatch(fingerprint)), f, f"{w}openpgp_fingerprint",
                    "must be a 40-hex-digit OpenPGP fingerprint")
        with r.apart() as later:
            sftp = _sftp(r, t, f, w) if channel == "sftp" else None
        out[name] = PartnerConfig(
            name=name, kind=r.get(t, f, "kind", str, where=w), title=str(t.get("name", name)), channel=channel,
            path=r.path(t, f, "path", where=w) if channel == "dropdir" else None,
            sftp=sftp,
            openpgp_key=key, openpgp_fingerprint=fingerprint,
            receipt_sla=timedelta(hours=r.get(t, f, "receipt_sla_hours", int, 24, where=w)),
            deletion_sla=timedelta(days=r.get(t, f, "deletion_sla_days", int, 30, where=w)),
            poll_seconds=r.get(t, f, "poll_seconds", int, 30, where=w),
            file_mode=r.get(t, f, "file_mode", int, 0o640, where=w),
            problems=tuple(later),
        )
        r.check(out[name].file_mode & ~0o666 == 0, f, f"{w}file_mode", "must be read/write bits only (e.g. 0o640)")

    each(r, raw.get("partner", {}), f, "partner", build)
    return out


def _sftp(r: Reader, t: dict[str, Any], f: str, w: str) -> SftpChannel:
    channel = SftpChannel(
        host=r.get(t, f, "host", str, where=w), port=r.get(t, f, "port", int, where=w),
        user=r.get(t, f, "user", str, where=w), key_file=r.path(t, f, "key_file", where=w),
        known_hosts=r.path(t, f, "known_hosts", where=w), root=r.get(t, f, "root", str, "", where=w),
    )
    r.check(0 < channel.port < 65536, f, f"{w}port", "must be a TCP port")
    return channel


def with_partner(text: str, name: str, table: str) -> str:
    """partners.toml ``text`` with the ``[partner.<name>]`` table replaced by ``table`` (a whole
    TOML table, header included): how the demo and the tests point one partner elsewhere while
    the others stay as shipped. The comment lines just above the next table stay with it."""
    lines = text.splitlines(keepends=True)
    header = f"[partner.{name}]"
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        raise KeyError(f"partners.toml has no {header} table")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    while end > start + 1 and (lines[end - 1].startswith("#") or not lines[end - 1].strip()):
        end -= 1
    return "".join(lines[:start]) + table.strip("\n") + "\n" + "".join(lines[end:])
