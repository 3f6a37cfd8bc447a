"""adapters.pgp against real GnuPG 2.2: interoperability with the stock ``gpg`` command line (the
vendor's side, in a GnuPG home of its own), signature failures by reason, streaming memory."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.pgp import Gpg
from adapters.pgp_errors import PgpError, SignatureError
from queues.errors import PermanentError

MIB = 1 << 20
SECRET = "個人番号999988887777"  # a marker that must never reach an exception message


# --- the vendor's side: the gpg command line, nothing from adapters.pgp ----------------------


def cli(home: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    cmd = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--status-fd", "2",
           "--pinentry-mode", "loopback", "--passphrase", "", *args]
    res = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)
    if check and res.returncode != 0:
        raise AssertionError(f"gpg {' '.join(args)} exited {res.returncode}: {res.stderr.decode(errors='replace')}")
    return res


def status(res: subprocess.CompletedProcess[bytes], keyword: str) -> list[list[str]]:
    prefix = f"[GNUPG:] {keyword} "
    return [line[len(prefix):].split() for line in res.stderr.decode(errors="replace").splitlines()
            if line.startswith(prefix) or line == prefix.strip()]


def primary_fingerprints(home: Path, secret: bool = False) -> list[str]:
    out = cli(home, "--with-colons", "--list-secret-keys" if secret else "--list-keys").stdout.decode()
    found, want = [], False
    for line in out.splitlines():
        kind = line.split(":")[0]
        if kind in ("pub", "sec"):
            want = True
        elif kind == "fpr" and want:
            found.append(line.split(":")[9])
            want = False
    return found


def cli_sign(home: Path, fpr: str, data: bytes, *extra: str) -> str:
    """A detached ASCII-armoured signature made by the CLI."""
    return cli(home, *extra, "--armor", "--detach-sign", "--local-user", fpr, stdin=data).stdout.decode()


def cli_verified_by(home: Path, data: bytes, signature: str) -> list[str]:
    """Primary fingerprints the CLI reports as good signers of ``data``."""
    sig = home / "check.asc"
    sig.write_text(signature)
    return [s[-1] for s in status(cli(home, "--verify", str(sig), "-", stdin=data), "VALIDSIG")]


def cli_key(home: Path, uid: str, *faked_time: str, expire: str = "0") -> str:
    cli(home, *faked_time, "--quick-gen-key", uid, "ed25519", "sign", expire)
    fpr = primary_fingerprints(home, secret=True)[-1]
    cli(home, *faked_time, "--quick-add-key", fpr, "cv25519", "encr", expire)
    return fpr


class Homes:
    """Short paths under /tmp: gpg-agent's socket path must stay under 108 bytes."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kpgp-"))

    def cli_home(self, name: str) -> Path:
        (self.root / name).mkdir(mode=0o700)
        return self.root / name


@pytest.fixture
def homes() -> Iterator[Homes]:
    h = Homes()
    yield h
    for home in (p for p in h.root.iterdir() if p.is_dir()):  # the gpg-agent of every home in there
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)
    shutil.rmtree(h.root, ignore_errors=True)


@pytest.fixture
def ward(homes: Homes) -> Iterator[Gpg]:
    with Gpg(homes.root / "ward") as gpg:
        yield gpg


@pytest.fixture
def keys(homes: Homes, ward: Gpg) -> dict[str, object]:
    """Ward key made by adapters.pgp; vendor key made by the CLI; each side holds the other's
    public key. Fingerprints as the CLI reports them."""
    ward_fpr = ward.generate_key("Ward Kaigo Bridge", "bridge@ward.example.invalid")
    vendor = homes.cli_home("vendor")
    vendor_fpr = cli_key(vendor, "Print Vendor <ops@vendor.example.invalid>")
    assert ward.import_key(cli(vendor, "--armor", "--export", vendor_fpr).stdout.decode(), vendor_fpr) == vendor_fpr
    cli(vendor, "--import", stdin=ward.export_public(ward_fpr).encode())
    ward_by_cli = [f for f in primary_fingerprints(vendor) if f != vendor_fpr]
    assert ward_by_cli == [ward_fpr]
    return {"ward": ward_by_cli[0], "vendor": vendor_fpr, "vendor_home": vendor}


def csv_chunks(total: int, seed: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Vendor-CSV-like cp932 text with random digits (compressible like the real thing, not trivially)."""
    rng = random.Random(seed)
    name = "世田谷　花子".encode("cp932")
    rows = b"".join(b"%010d,%s,%s,%08d,2026-04-01,%d\r\n" % (rng.randrange(10**10), name, SECRET.encode(),
                                                            rng.randrange(10**8), rng.randrange(10**6))
                    for _ in range(12_000))
    sent = 0
    while sent < total:
        start = rng.randrange(len(rows) - chunk)
        piece = rows[start:start + min(chunk, total - sent)]
        sent += len(piece)
        yield piece


# --- encrypt + sign, read by the gpg command line ---------------------------------------------


def test_stream_decrypts_with_gpg_cli_and_shows_the_ward_signature(homes: Homes, ward: Gpg, keys: dict) -> None:
    plain = b"".join(csv_chunks(3 * MIB + 17, seed=1))
    out = homes.root / "out" / "t-1.csv.gpg"
    out.parent.mkdir()
    info = ward.encrypt_sign_stream(iter([plain[:MIB], plain[MIB:]]), out, keys["vendor"], keys["ward"])

    assert (info.plaintext_sha256, info.plaintext_size) == (hashlib.sha256(plain).hexdigest(), len(plain))
    assert (info.sha256, info.size) == (hashlib.sha256(out.read_bytes()).hexdigest(), out.stat().st_size)
    assert out.stat().st_mode & 0o777 == 0o600
    assert os.listdir(out.parent) == ["t-1.csv.gpg"]  # no temp file left
    assert out.read_bytes()[0] & 0x80  # binary OpenPGP packet, not ASCII armour

    res = cli(keys["vendor_home"], "--decrypt", "--output", str(homes.root / "plain.csv"), str(out))
    assert status(res, "GOODSIG") and not status(res, "BADSIG")
    assert [s[-1] for s in status(res, "VALIDSIG")] == [keys["ward"]]  # primary-key fingerprint
    assert (homes.root / "plain.csv").read_bytes() == plain


def test_stream_of_100_mib_keeps_memory_flat(homes: Homes, ward: Gpg, keys: dict) -> None:
    total = 100 * MIB
    expected = hashlib.sha256()
    for piece in csv_chunks(total, seed=2):  # the same deterministic stream, hashed here
        expected.update(piece)
    out = homes.root / "big.csv.gpg"
    tracemalloc.start()
    try:
        info = ward.encrypt_sign_stream(csv_chunks(total, seed=2), out, keys["vendor"], keys["ward"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert (info.plaintext_size, info.plaintext_sha256) == (total, expected.hexdigest())
    # The vendor's gpg gets back the same bytes (hashed while streaming out of the CLI).
    proc = subprocess.Popen(["gpg", "--homedir", str(keys["vendor_home"]), "--batch", "--decrypt", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    back = hashlib.sha256()
    while block := proc.stdout.read(MIB):  # type: ignore[union-attr]
        back.update(block)
    assert proc.wait(timeout=120) == 0
    assert back.hexdigest() == expected.hexdigest()


def test_compress_level_is_passed_to_gpg(homes: Homes, ward: Gpg, keys: dict) -> None:
    plain = b"".join(csv_chunks(MIB, seed=3))
    sizes = {}
    for level in (None, 0):
        out = homes.root / f"z{level}.gpg"
        sizes[level] = ward.encrypt_sign_stream(iter([plain]), out, keys["vendor"], keys["ward"],
                                                compress_level=level).size
        res = cli(keys["vendor_home"], "--decrypt", str(out))
        assert res.stdout == plain
    assert sizes[None] < len(plain) // 2 < len(plain) < sizes[0]  # compressed by default; level 0 stores
    with pytest.raises(PgpError, match="0-9"):
        ward.encrypt_sign_stream(iter([plain]), homes.root / "bad.gpg", keys["vendor"], keys["ward"], compress_level=10)


def test_stream_failure_leaves_no_file_and_keeps_the_callers_error(homes: Homes, ward: Gpg, keys: dict) -> None:
    def failing() -> Iterator[bytes]:
        yield b"x" * MIB
        raise ValueError("renderer failed at record 7")

    out = homes.root / "fail.csv.gpg"
    with pytest.raises(ValueError, match="record 7"):
        ward.encrypt_sign_stream(failing(), out, keys["vendor"], keys["ward"])
    assert [p.name for p in homes.root.iterdir() if p.is_file()] == []


@pytest.mark.parametrize("role", ["recipient", "signer"])
def test_unknown_recipient_or_signer_is_refused_before_any_output(homes: Homes, ward: Gpg, keys: dict,
                                                                   role: str) -> None:
    stranger = cli_key(homes.cli_home("stranger"), "Stranger <s@example.invalid>")
    recipient, signer = (stranger, keys["ward"]) if role == "recipient" else (keys["vendor"], stranger)
    out = homes.root / "x.gpg"
    with pytest.raises(PgpError, match=f"{role} {stranger}") as caught:
        ward.encrypt_sign_stream(iter([SECRET.encode()]), out, recipient, signer)
    assert isinstance(caught.value, PermanentError)
    assert not out.exists()


def test_fingerprints_are_pinned_not_names(ward: Gpg, keys: dict) -> None:
    with pytest.raises(PgpError, match="not a 40-hex-digit"):
        ward.encrypt_sign_stream(iter([b"x"]), Path("/nonexistent/x"), "ops@vendor.example.invalid", keys["ward"])


# --- decrypt + verify (what the vendor sends back, or a test reading our output) -----------------


def test_decrypt_verify_to_accepts_the_expected_signer_only(homes: Homes, ward: Gpg, keys: dict) -> None:
    vendor = keys["vendor_home"]
    plain = f"notice_no,atena_no\n1,{SECRET}\n".encode()
    signed = homes.root / "signed.gpg"
    cli(vendor, "--trust-model", "always", "--encrypt", "--sign", "--local-user", keys["vendor"],
        "--recipient", keys["ward"], "--output", str(signed), stdin=plain)

    out = homes.root / "returns.csv"
    info = ward.decrypt_verify_to(signed, out, keys["vendor"])
    assert out.read_bytes() == plain
    assert (info.sha256, info.size, info.signer) == (hashlib.sha256(plain).hexdigest(), len(plain), keys["vendor"])

    other = homes.root / "other.csv"
    with pytest.raises(SignatureError) as caught:
        ward.decrypt_verify_to(signed, other, keys["ward"])
    assert caught.value.reason == "wrong-signer"
    assert SECRET not in str(caught.value)
    assert not other.exists() and not [p for p in homes.root.iterdir() if p.name.startswith(".")]


def test_decrypt_of_unsigned_or_tampered_message_is_refused(homes: Homes, ward: Gpg, keys: dict) -> None:
    vendor = keys["vendor_home"]
    unsigned = homes.root / "unsigned.gpg"
    cli(vendor, "--trust-model", "always", "--encrypt", "--recipient", keys["ward"], "--output", str(unsigned),
        stdin=b"no signature here")
    with pytest.raises(SignatureError) as caught:
        ward.decrypt_verify_to(unsigned, homes.root / "u.csv", keys["vendor"])
    assert caught.value.reason == "missing"

    signed = homes.root / "signed.gpg"
    cli(vendor, "--trust-model", "always", "--encrypt", "--sign", "--local-user", keys["vendor"],
        "--recipient", keys["ward"], "--output", str(signed), stdin=os.urandom(4096))
    data = bytearray(signed.read_bytes())
    data[len(data) // 2] ^= 0x01
    signed.write_bytes(bytes(data))
    with pytest.raises(PgpError):
        ward.decrypt_verify_to(signed, homes.root / "t.csv", keys["vendor"])
    assert not (homes.root / "t.csv").exists() and not (homes.root / "u.csv").exists()


# --- detached signatures ----------------------------------------------------------------------


def test_detached_signature_by_gpg_cli_verifies(homes: Homes, ward: Gpg, keys: dict) -> None:
    receipt = b'{"transfer_id": "t-1", "record_count": 3}'
    sig = cli_sign(keys["vendor_home"], keys["vendor"], receipt)
    ward.verify_detached(receipt, sig, keys["vendor"])  # raises unless good and by the vendor key


def test_our_detached_signature_verifies_with_gpg_cli(homes: Homes, ward: Gpg, keys: dict) -> None:
    manifest = b'{"transfer_id": "t-1"}'
    sig = ward.sign_detached(manifest, keys["ward"])
    assert sig.startswith("-----BEGIN PGP SIGNATURE-----")
    assert cli_verified_by(keys["vendor_home"], manifest, sig) == [keys["ward"]]


def _tamper_armour_text(sig: str) -> str:
    """One base64 character changed: the armour checksum no longer matches."""
    lines = sig.splitlines()
    body = lines.index("") + 1  # first base64 line after the armour headers
    line = lines[body]
    lines[body] = line[:20] + ("A" if line[20] != "A" else "B") + line[21:]
    return "\n".join(lines) + "\n"


def _tamper_signature_value(home: Path, sig: str) -> str:
    """One bit of the signature value flipped, re-armoured (the checksum line is optional): a
    well-formed signature that does not verify."""
    packet = bytearray(cli(home, "--dearmor", stdin=sig.encode()).stdout)
    packet[-3] ^= 0x01  # inside the last MPI (the EdDSA S value)
    body = base64.b64encode(bytes(packet)).decode()
    return "-----BEGIN PGP SIGNATURE-----\n\n" + body + "\n-----END PGP SIGNATURE-----\n"


def test_detached_signature_failures_name_their_reason(homes: Homes, ward: Gpg, keys: dict) -> None:
    vendor = keys["vendor_home"]
    data = b'{"transfer_id": "t-2"}'
    sig = cli_sign(vendor, keys["vendor"], data)

    cases = {
        "tampered data": (data + b" ", sig, keys["vendor"], {"bad"}),
        "tampered signature value": (data, _tamper_signature_value(vendor, sig), keys["vendor"], {"bad"}),
        "tampered armour": (data, _tamper_armour_text(sig), keys["vendor"], {"missing"}),
        "signed by another key we know": (data, ward.sign_detached(data, keys["ward"]), keys["vendor"],
                                          {"wrong-signer"}),
        "expected key is another": (data, sig, keys["ward"], {"wrong-signer"}),
        "not a signature": (data, "hello", keys["vendor"], {"missing"}),
    }
    stranger_home = homes.cli_home("stranger")
    stranger = cli_key(stranger_home, "Stranger <s@example.invalid>")
    cases["signed by a key not in the keyring"] = (
        data, cli_sign(stranger_home, stranger, data), stranger, {"unknown-key"})
    # a complete signed message over other content, offered as a detached signature
    inline = cli(vendor, "--armor", "--sign", "--local-user", keys["vendor"], stdin=b"other content").stdout.decode()
    cases["signed message, not detached"] = (data, inline, keys["vendor"], {"missing"})

    for label, (payload, signature, expected, reasons) in cases.items():
        with pytest.raises(SignatureError) as caught:
            ward.verify_detached(payload, signature, expected)
        assert caught.value.reason in reasons, f"{label}: {caught.value.reason}: {caught.value}"


def test_revoked_signing_key_is_refused(homes: Homes, ward: Gpg) -> None:
    home = homes.cli_home("revoked")
    fpr = cli_key(home, "Revoked Vendor <r@example.invalid>")
    data = b"receipt"
    sig = cli_sign(home, fpr, data)
    # gpg keeps a revocation certificate per key; its armour line is disarmed with a leading ':'
    rev = (home / "openpgp-revocs.d" / f"{fpr}.rev").read_text().replace(":-----BEGIN", "-----BEGIN")
    cli(home, "--import", stdin=rev.encode())
    ward.import_key(cli(home, "--armor", "--export", fpr).stdout.decode(), fpr)
    with pytest.raises(SignatureError) as caught:
        ward.verify_detached(data, sig, fpr)
    assert caught.value.reason == "revoked"


def test_expired_signing_key_is_refused(homes: Homes, ward: Gpg) -> None:
    home = homes.cli_home("expired")
    then = ("--faked-system-time", "20200101T000000!")
    fpr = cli_key(home, "Old Vendor <o@example.invalid>", *then, expire="1d")
    sig = cli_sign(home, fpr, b"old", *then)
    ward.import_key(cli(home, "--armor", "--export", fpr).stdout.decode(), fpr)
    with pytest.raises(SignatureError) as caught:
        ward.verify_detached(b"old", sig, fpr)
    assert caught.value.reason == "expired"


# --- keys and the home ------------------------------------------------------------------------


def test_import_refuses_a_key_other_than_the_pinned_one(homes: Homes, ward: Gpg, keys: dict) -> None:
    home = homes.cli_home("impostor")
    impostor = cli_key(home, "Print Vendor <ops@vendor.example.invalid>")  # same user id, other key
    armored = cli(home, "--armor", "--export", impostor).stdout.decode()
    assert ward.fingerprint_of(armored) == impostor
    with pytest.raises(PgpError, match="not the pinned key"):
        ward.import_key(armored, keys["vendor"])
    listed = cli(homes.root / "ward", "--list-keys", impostor, check=False)
    assert listed.returncode != 0  # not in the ward's keyring


def test_key_text_with_two_keys_is_refused(homes: Homes, ward: Gpg, keys: dict) -> None:
    both = cli(keys["vendor_home"], "--armor", "--export").stdout.decode()  # vendor + ward public keys
    with pytest.raises(PgpError, match="exactly one"):
        ward.fingerprint_of(both)


def test_home_must_be_private(homes: Homes) -> None:
    open_home = homes.root / "open"
    open_home.mkdir(mode=0o755)
    open_home.chmod(0o755)
    with pytest.raises(PgpError, match="mode 755"):
        Gpg(open_home)
    with pytest.raises(PgpError, match="own"):
        Gpg(Path.home() / ".gnupg")


def test_protected_key_uses_the_passphrase_from_the_named_variable(homes: Homes, keys: dict,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIGO_TEST_GPG_PASS", "correct horse")
    with Gpg(homes.root / "prod", passphrase_env="KAIGO_TEST_GPG_PASS") as prod:
        fpr = prod.generate_key("Ward Prod", "prod@ward.example.invalid")
        sig = prod.sign_detached(b"manifest", fpr)
        cli(keys["vendor_home"], "--import", stdin=prod.export_public(fpr).encode())
        assert cli_verified_by(keys["vendor_home"], b"manifest", sig) == [fpr]
        # the key really is protected: once gpg-agent forgets the cached passphrase, the CLI with
        # an empty one cannot sign with it
        subprocess.run(["gpgconf", "--homedir", str(homes.root / "prod"), "--kill", "gpg-agent"], check=True)
        refused = cli(homes.root / "prod", "--detach-sign", "--local-user", fpr, stdin=b"x", check=False)
        assert refused.returncode != 0
        monkeypatch.delenv("KAIGO_TEST_GPG_PASS")
        with pytest.raises(PgpError, match="KAIGO_TEST_GPG_PASS is not set"):
            prod.sign_detached(b"manifest", fpr)
