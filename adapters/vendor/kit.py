"""The vendor kit for one print vendor: VENDOR-KIT.md (a template) filled in with that partner's
real settings, beside the ward's public key, its fingerprint and the pinned SFTP host key.

Everything the vendor reads is taken from where the ward itself takes it — the SFTP endpoint and
the pinned host key from partners.toml and its known_hosts, the columns of the print data from
the layout registry (mappings/layouts/vendor/) — so the kit cannot drift from what is sent.
Placeholders in the template are ``@@NAME@@``; one left unfilled is an error, never shipped.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import paramiko

from adapters.vendor.exchange import MAX_ANSWER_BYTES, RETURN_REASONS
from mappings.layout import Field, Layout
from mappings.registry import layouts
from settings import ConfigError, FlowConfig, PartnerConfig

TEMPLATE = Path(__file__).with_name("VENDOR-KIT.md")
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
CHARSET_NAMES = {"jis_x0208": "JIS X 0208", "ascii": "ASCII", "halfwidth_kana": "ASCII and half-width kana"}
UNQUOTED = ("digits", "number", "amount", "date", "code", "constant")  # never a comma or a quote
TEMPLATE_NOTE = re.compile(r"\A<!--.*?-->\n", re.S)  # the note to maintainers atop the template


@dataclass(frozen=True)
class Kit:
    partner: str
    files: dict[str, bytes]  # file name -> content, written side by side


def sftp_partners(partners: Iterable[PartnerConfig]) -> list[PartnerConfig]:
    """The print vendors a kit can be given to: answers are read over SFTP only."""
    return [p for p in partners if p.kind == "print-vendor" and p.channel == "sftp"]


def build(partner: PartnerConfig, flows: Iterable[FlowConfig], ward_fingerprint: str, ward_public_key: str) -> Kit:
    """The kit for ``partner``; ConfigError naming the setting when one it needs is missing."""
    where = f"partners.toml: partner.{partner.name}"
    if partner.channel != "sftp" or partner.sftp is None:
        raise ConfigError([f"{where}.channel: {partner.channel}, but a vendor answers over SFTP only; no kit"])
    sftp = partner.require().sftp
    assert sftp is not None
    if partner.openpgp_fingerprint is None:
        raise ConfigError([f"{where}.openpgp_fingerprint: not set; pin the vendor's OpenPGP key before "
                           "giving it a kit (its answers would all be refused)"])
    sent = [f for f in flows if f.partner == partner.name and f.direction == "out"]
    if not sent:
        raise ConfigError([f"flows.toml: no outbound flow to {partner.name}; the kit would describe no data"])
    fingerprint, known_hosts = pinned_host_key(sftp.known_hosts, sftp.host, sftp.port, f"{where}.known_hosts")
    root = sftp.root or "/"
    values = {
        "PARTNER": partner.name, "PARTNER_TITLE": partner.title, "WARD_FPR": ward_fingerprint,
        "VENDOR_FPR": partner.openpgp_fingerprint, "SFTP_HOST": sftp.host, "SFTP_PORT": str(sftp.port),
        "SFTP_USER": sftp.user, "SFTP_INBOX": posixpath.join(root, "inbox"),
        "SFTP_OUTBOX": posixpath.join(root, "outbox"), "HOST_KEY_FPR": fingerprint, "KNOWN_HOSTS": known_hosts,
        "MAX_ANSWER_MIB": str(MAX_ANSWER_BYTES >> 20), "MAX_ANSWER_BYTES": str(MAX_ANSWER_BYTES),
        "RECEIPT_SLA_HOURS": str(int(partner.receipt_sla.total_seconds() // 3600)),
        "DELETION_SLA_DAYS": str(partner.deletion_sla.days),
        "POLL_SECONDS": str(partner.poll_seconds),
        "RETURN_REASONS": ", ".join(f"`{code}` {label}" for code, label in RETURN_REASONS.items()),
        "LAYOUTS": "\n".join(layout_section(f, _layout(f)) for f in sorted(sent, key=lambda f: f.name)),
        "RETURNS_CASES": "\n".join(sorted({returns_case(_layout(f)) for f in sent} - {""})),
    }
    text = fill(TEMPLATE_NOTE.sub("", TEMPLATE.read_text(encoding="utf-8")), values)
    return Kit(partner.name, {
        "VENDOR-KIT.md": text.encode(),
        "ward-public-key.asc": ward_public_key.encode("ascii"),
        "ward-fingerprint.txt": f"{ward_fingerprint}\n".encode("ascii"),
        "known_hosts": f"{known_hosts}\n".encode("ascii"),
    })


def fill(template: str, values: dict[str, str]) -> str:
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise ValueError(f"{TEMPLATE.name}: placeholder(s) with no value: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m[1]], template)


def pinned_host_key(known_hosts: Path, host: str, port: int, where: str) -> tuple[str, str]:
    """(SHA256 fingerprint as ``ssh-keygen -lf`` prints it, a known_hosts line) of the pinned key."""
    pattern = host if port == 22 else f"[{host}]:{port}"
    try:
        keys = paramiko.HostKeys(str(known_hosts)).lookup(pattern)
    except (OSError, paramiko.SSHException) as exc:
        raise ConfigError([f"{where}: {known_hosts} cannot be read ({exc})"]) from None
    if not keys:
        raise ConfigError([f"{where}: {known_hosts} pins no host key for {pattern}"])
    kind = sorted(keys.keys())[0]  # one pinned key is the rule; the first by type if several
    key = keys[kind]
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"SHA256:{digest}", f"{pattern} {kind} {key.get_base64()}"


def _layout(flow: FlowConfig) -> Layout:
    partner, name = flow.layout.split("/", 1)
    return layouts.get(partner, name, flow.layout_version)


def manifest_layout(layout: Layout) -> str:
    """The layout as a manifest names it (the flow's ``layout``, queues/outbound.py)."""
    return f"{layout.partner}/{layout.name}"


def returns_case(layout: Layout) -> str:
    """The kit's shell ``case`` line giving a layout's 返戻 columns (numbered from 1), or "" when it
    takes none. The kit's ``returned`` splits a line at commas, which finds a column only when no
    field before it can hold a comma or a quote: refused here, never shipped wrong."""
    if layout.returns is None:
        return ""
    last = max(layout.returns.notice_no, layout.returns.atena_no)
    for f in layout.kind().fields:
        if f.column is not None and f.column.index <= last and f.converter.name not in UNQUOTED:
            raise ValueError(f"{layout.id}: column {f.column.index + 1} ({f.name}) before the returns columns "
                             "may be quoted; the kit's returned helper cannot split it")
    columns = f"{layout.returns.notice_no + 1} {layout.returns.atena_no + 1}"
    return f'    {manifest_layout(layout)}:{layout.version}) echo "{columns}" ;;'


def layout_section(flow: FlowConfig, layout: Layout) -> str:
    """One print file's description: how it is framed, and each column with its rule."""
    fmt = layout.csv
    assert fmt is not None, f"{layout.id}: a print layout is CSV"
    kind = layout.kind()
    by_column = {f.column.index: f for f in kind.fields if f.column is not None}
    if layout.returns is None:
        returns = "This print file takes no 返戻 (`returns.csv`)."
    else:
        notice, atena = by_column[layout.returns.notice_no], by_column[layout.returns.atena_no]
        returns = (f"For 返戻 (`returns.csv`): `notice_no` is column {_no(notice)} ({notice.label}) and `atena_no` "
                   f"column {_no(atena)} ({atena.label}), the pair as this file carried it.")
    lines = [
        f"### {layout.label} — `{layout.name}` version {layout.version} ({flow.description})",
        "",
        f"Manifest `layout` = `{manifest_layout(layout)}`, `layout_version` = `{layout.version}`, `encoding` = "
        f"`{layout.encoding}`. One record per line, every line ending in CRLF (`\\r\\n`, the last one too), "
        f"{'a header line first' if fmt.header else 'no header line'}, "
        f"{'a BOM' if fmt.bom else 'no BOM'}, fields separated by `{fmt.delimiter}`, "
        + ("every field quoted" if fmt.quoting == "all" else
           f"a field enclosed in `{fmt.quotechar}` only when it holds the separator, a quote or a line break "
           "(a quote inside doubled)") + ". An optional field with no value is empty.",
        "",
        returns,
        "",
        "| column | 項目 | name | type | width | required | values |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in kind.fields:
        kind_text, width, values = describe(f, layout.encoding)
        lines.append(f"| {_no(f)} | {f.label} | `{f.name}` | {kind_text} | {width} | "
                     f"{'yes' if f.required else 'no'} | {values} |")
    return "\n".join(lines) + "\n"


def _no(f: Field) -> int:
    assert f.column is not None, f"{f.name}: a print field is located by its column"
    return f.column.index + 1  # numbered from 1, as a person counts columns


def describe(f: Field, encoding: str) -> tuple[str, str, str]:
    """(type, width, values) of a field, from its converter's own parameters."""
    conv, params = f.converter, f.converter.params
    if conv.name == "digits":
        width = params.get("width")
        return "digits (ASCII 0-9)", (f"exactly {width}" if width else "—"), "leading zeros kept"
    if conv.name in ("number", "amount"):
        width = params.get("width")
        what = "whole yen, ASCII digits" if conv.name == "amount" else "integer, ASCII digits"
        return what, (f"exactly {width}, zero-filled" if width else "as many as needed"), "no sign, no separators"
    if conv.name == "date":
        fmt = params.get("format", "YYYYMMDD")
        return f"date `{fmt}`", str(len(fmt)), "a real calendar day" if fmt == "YYYYMMDD" else "year and month"
    if conv.name == "code":
        codes: dict[str, str] = getattr(conv, "codes", {})
        return "code", "—", ", ".join(f"`{c}` {label}" for c, label in codes.items())
    if conv.name == "text":
        charset = params.get("charset", "any")
        rules = ["any character the encoding holds" if charset == "any" else
                 f"{CHARSET_NAMES.get(charset, charset)} characters only"]
        if params.get("fullwidth_only"):
            rules.append("full-width only")
        if params.get("pattern"):
            rules.append(f"matches `{params['pattern']}`")
        limit = params.get("max_bytes")
        return "text", (f"at most {limit} bytes in {encoding}" if limit else "—"), "; ".join(rules)
    return conv.name, "—", ""
