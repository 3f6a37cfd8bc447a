"""``kaigo-bridge vendor-kit``: a kit per print vendor with that vendor's real settings filled in —
SFTP endpoint and pinned host key (checked with ``ssh-keygen``), the ward key (imported by a
stock ``gpg``), the columns of the layouts it receives — and clear refusals."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from fixtures.services import SshdServer
from fixtures.vendor import create_key_pair
from fixtures.vendor.keys import short_home, stop_agent
from settings.partners import with_partner
from tests.harness import Home

VENDOR_FPR = "0123456789ABCDEF0123456789ABCDEF01234567"  # pinned, never used to sign here


def sftp_vendor(home: Home, sshd: SshdServer, name: str) -> None:
    """``name`` reached by SFTP on its tree of the session's sshd, its OpenPGP key pinned."""
    gnupg = short_home()
    try:
        key = create_key_pair(gnupg, f"{name} <print@{name}.invalid>")
    finally:
        stop_agent(gnupg)
        shutil.rmtree(gnupg, ignore_errors=True)
    (home.config_dir / f"{name}.asc").write_text(key.public_armored.decode(), encoding="ascii")
    table = f"""
[partner.{name}]
kind = "print-vendor"
name = "委託印刷事業者 {name} (synthetic)"
channel = "sftp"
host = "127.0.0.1"
port = {sshd.tree(name).port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
root = "/"
openpgp_key = "{name}.asc"
openpgp_fingerprint = "{key.fingerprint}"
receipt_sla_hours = 48
"""
    home.edit_config("partners.toml", lambda t: with_partner(t, name, table) if f"[partner.{name}]" in t
                     else t + table)


def second_vendor_flow(home: Home) -> None:
    home.edit_config("flows.toml", lambda t: t + """
[flow."print.hokenryo-b"]
description = "保険料決定通知書 print data for vendor-b"
partner = "vendor-b"
direction = "out"
layout = "vendor/hokenryo-kettei-utf8"
layout_version = 1
route = "print.deliver"
part_size = 50000
""")


def test_a_kit_carries_the_partners_real_settings(home: Home, sshd: SshdServer, tmp_path: Path) -> None:
    sftp_vendor(home, sshd, "vendor-a")
    kit = tmp_path / "kit"
    home.cli("vendor-kit", str(kit), "--partner", "vendor-a")
    assert sorted(p.name for p in kit.iterdir()) == ["VENDOR-KIT.md", "known_hosts", "ward-fingerprint.txt",
                                                     "ward-public-key.asc"]
    text = (kit / "VENDOR-KIT.md").read_text(encoding="utf-8")
    port = sshd.tree("vendor-a").port
    assert text.startswith("# Print data exchange with the ward — kit for vendor-a "
                           "(委託印刷事業者 vendor-a (synthetic))")
    assert "@@" not in text and "<!--" not in text
    for never in ("fixtures/", "README", "partners.toml", "python"):
        assert never not in text, f"the vendor never sees {never!r}"
    assert "| host | `127.0.0.1` |" in text and f"| port | `{port}` |" in text
    assert f"| account | `{sshd.username}` (key login only; no password) |" in text
    assert "| deliveries to you | `/inbox` |" in text and "| your answers | `/outbox` |" in text
    assert f"SFTP_PORT={port}\n" in text and "IN=/inbox\n" in text and "OUT=/outbox\n" in text
    # The host key as OpenSSH itself prints it for the kit's known_hosts, and the line the server's pinned by.
    listed = subprocess.run(["ssh-keygen", "-lf", str(kit / "known_hosts")], check=True, capture_output=True,
                            text=True).stdout.split()
    assert listed[2] == f"[127.0.0.1]:{port}" and listed[1].startswith("SHA256:")
    assert f"| host key | `{listed[1]}` |" in text
    assert (kit / "known_hosts").read_text(encoding="ascii") == sshd.known_hosts_line(port) + "\n"
    assert f"```text\n{sshd.known_hosts_line(port)}\n```" in text
    # The OpenPGP fingerprints: the ward's (imported by a stock gpg) and the vendor's as pinned.
    ward = home.bridge.ward_fingerprint
    assert (kit / "ward-fingerprint.txt").read_text(encoding="ascii") == ward + "\n"
    assert f"WARD_FPR={ward}\n" in text and f"`ward-fingerprint.txt`, `{ward}`" in text
    pinned = re.search(r"^openpgp_fingerprint = \"([0-9A-F]{40})\"$",
                       (home.config_dir / "partners.toml").read_text(encoding="utf-8"), re.M)
    assert pinned is not None and f"VENDOR_FPR={pinned[1]}\n" in text
    gnupg = short_home()
    try:
        subprocess.run(["gpg", "--homedir", str(gnupg), "--batch", "--import", str(kit / "ward-public-key.asc")],
                       check=True, capture_output=True)
        listing = subprocess.run(["gpg", "--homedir", str(gnupg), "--batch", "--with-colons", "--fingerprint"],
                                 check=True, capture_output=True, text=True).stdout
        assert f"fpr:::::::::{ward}:" in listing
    finally:
        stop_agent(gnupg)
        shutil.rmtree(gnupg, ignore_errors=True)
    # The layouts vendor-a receives (flows.toml), column by column from the layout files.
    for heading in ("### 保険料決定通知書 印刷データ (Shift_JIS) — `hokenryo-kettei` version 1",
                    "### 要介護認定結果通知書 印刷データ (Shift_JIS) — `nintei-kekka` version 1",
                    "### 介護保険被保険者証 印刷データ (UTF-8) — `hihokenshasho` version 1"):
        assert heading in text
    assert "hokenryo-kettei-utf8" not in text, "a layout of no flow to vendor-a"
    assert "Manifest `layout` = `vendor/hokenryo-kettei`, `layout_version` = `1`, `encoding` = `cp932`." in text
    assert '    vendor/hihokenshasho:1) echo "1 3" ;;\n    vendor/hokenryo-kettei:1) echo "1 3" ;;\n' \
           '    vendor/nintei-kekka:1) echo "1 3" ;;\n' in text
    assert "no header line, no BOM" in text and "every line ending in CRLF" in text
    assert "| 1 | 通知書番号 | `notice_no` | digits (ASCII 0-9) | exactly 10 | yes | leading zeros kept |" in text
    assert "| 6 | 送付先住所 | `address` | text | at most 160 bytes in cp932 | yes |" in text
    assert "| 11 | 徴収区分 | `choshu_kubun` | code | — | yes | `1` 特別徴収, `2` 普通徴収 |" in text
    assert "| 9 | 生年月日 | `birth_date` | date `YYYYMMDD` | 8 | yes | a real calendar day |" in text
    assert ("`notice_no` is column 1 (被保険者番号) and `atena_no` column 3 (宛名番号)") in text
    assert ("`notice_no` is column 1 (通知書番号) and `atena_no` column 3 (宛名番号)") in text
    # The answers: limits, formats, an example of each, the SLA of this partner.
    assert "at most 20 MiB (20971520\nbytes)" in text
    assert "a 受領証 within 48 hours" in text and "a 削除証明書 within\n30 days" in text
    for example in ('"record_count": 400, "received_at": "2026-04-01T09:30:00+09:00"',
                    "notice_no,atena_no,reason_code,returned_on",
                    '"method": "shred -u (overwrite, then unlink)"', '"check": "ciphertext_sha256"',
                    '"outcome":"refused","reason":'):
        assert example in text
    assert "`01` 宛所不明, `02` 受取拒否, `03` 転居先不明, `99` その他" in text
    # The decrypt never mixes gpg's status lines into the data.
    assert "--status-fd 1 --decrypt" not in text.replace("`--status-fd 1`", "")
    assert '--status-file "$ID.csv.status" --output "$ID.csv" --decrypt "$ID.csv.gpg"' in text


def test_without_partner_one_kit_per_sftp_vendor(home: Home, sshd: SshdServer, tmp_path: Path) -> None:
    sftp_vendor(home, sshd, "vendor-a")
    sftp_vendor(home, sshd, "vendor-b")
    second_vendor_flow(home)
    done = home.cli("vendor-kit", str(tmp_path / "kits"))
    assert sorted(p.name for p in (tmp_path / "kits").iterdir()) == ["vendor-a", "vendor-b"]
    assert "vendor kit for vendor-a written to" in done.stdout and "vendor kit for vendor-b written to" in done.stdout
    b = (tmp_path / "kits" / "vendor-b" / "VENDOR-KIT.md").read_text(encoding="utf-8")
    assert f"SFTP_PORT={sshd.tree('vendor-b').port}\n" in b
    assert "`hokenryo-kettei-utf8` version 1" in b and "`nintei-kekka`" not in b
    assert "| 6 | 送付先住所 | `address` | text | at most 240 bytes in utf-8 | yes |" in b
    assert (tmp_path / "kits" / "vendor-b" / "known_hosts").read_text(encoding="ascii") == \
        sshd.known_hosts_line(sshd.tree("vendor-b").port) + "\n"


def test_refusals_name_the_cause_and_write_nothing(home: Home, tmp_path: Path) -> None:
    # As shipped, vendor-a is a drop folder: no vendor answers over SFTP, so there is no kit to give.
    none = home.cli("vendor-kit", str(tmp_path / "a"), check=False)
    assert none.returncode == 1
    assert none.stderr == ("kaigo-bridge: vendor-kit: no print vendor is reached by SFTP, and answers are read "
                           "over SFTP only (print vendors: vendor-a (dropdir))\n")
    unknown = home.cli("vendor-kit", str(tmp_path / "b"), "--partner", "vendor-z", check=False)
    assert unknown.returncode == 2
    assert unknown.stderr == ("kaigo-bridge: vendor-kit: --partner vendor-z: no print vendor of that name in "
                              "partners.toml (print vendors: vendor-a (dropdir))\n")
    dropdir = home.cli("vendor-kit", str(tmp_path / "c"), "--partner", "vendor-a", check=False)
    assert dropdir.returncode == 2 and len(dropdir.stderr.splitlines()) == 1, dropdir.stderr
    assert "partner.vendor-a.channel: dropdir, but a vendor answers over SFTP only" in dropdir.stderr
    assert not any((tmp_path / d).exists() for d in "abc")


def test_a_kit_needs_the_vendors_key_pinned_and_its_host_key(home: Home, sshd: SshdServer, tmp_path: Path) -> None:
    sftp_vendor(home, sshd, "vendor-a")
    elsewhere = tmp_path / "known_hosts"
    elsewhere.write_text(sshd.known_hosts_line(1) + "\n", encoding="ascii")  # pins port 1, not vendor-a's
    home.edit_config("partners.toml", lambda t: t.replace(f'known_hosts = "{sshd.known_hosts}"',
                                                          f'known_hosts = "{elsewhere}"'))
    refused = home.cli("vendor-kit", str(tmp_path / "kit"), "--partner", "vendor-a", check=False)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert (f"partner.vendor-a.known_hosts: {elsewhere} pins no host key for "
            f"[127.0.0.1]:{sshd.tree('vendor-a').port}") in refused.stderr
    assert not (tmp_path / "kit").exists()


def test_no_kit_before_the_vendors_key_is_pinned(home: Home, sshd: SshdServer, tmp_path: Path) -> None:
    sftp_vendor(home, sshd, "vendor-a")
    home.edit_config("partners.toml", lambda t: "\n".join(
        line for line in t.splitlines() if not line.startswith(("openpgp_key", "openpgp_fingerprint"))) + "\n")
    refused = home.cli("vendor-kit", str(tmp_path / "kit"), "--partner", "vendor-a", check=False)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "partner.vendor-a.openpgp_fingerprint: not set; pin the vendor's OpenPGP key" in refused.stderr
    assert not (tmp_path / "kit").exists()
