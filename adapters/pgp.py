"""OpenPGP to and from print vendors, through python-gnupg on GnuPG 2.2.

- The bridge has a GnuPG home of its own (mode 0700, never ``~/.gnupg``); gpg runs in batch mode
  with loopback pinentry, so it never prompts. A key passphrase, when there is one, is read at
  use from the environment variable named in the configuration (``passphrase_env``).
- Keys are pinned by fingerprint, never by user id or e-mail. Encryption uses
  ``--trust-model always`` in the one call that names the configured recipient fingerprint, after
  checking that this fingerprint is a primary key in the keyring that can still encrypt; nothing
  else relies on the web of trust. Verification checks that the signature is good *and* made by
  the expected fingerprint.
- Payloads stream: ``encrypt_sign_stream`` feeds gpg's stdin from the caller's iterator and writes
  its stdout to disk as it comes, so memory stays flat whatever the size.
- Errors are ``PgpError`` / ``SignatureError`` (adapters/pgp_errors.py) with gpg's status, never
  plaintext. The pipes and the atomic output file: adapters/pgp_io.py.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import gnupg

from adapters.pgp_errors import PgpError, SignatureError
from adapters.pgp_io import AtomicOutput, feed

IO_BUFFER = 256 * 1024  # gpg pipe reads/writes; python-gnupg's 16 KiB default costs throughput
_FPR = re.compile(r"[0-9A-F]{40}")
_OPTIONS = ["--pinentry-mode", "loopback", "--no-auto-key-retrieve", "--no-auto-key-locate", "--no-greeting"]
_KEY_PARAMS = {
    "ed25519": "Key-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\n"
               "Subkey-Type: ECDH\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n",
    "rsa3072": "Key-Type: RSA\nKey-Length: 3072\nKey-Usage: sign\n"
               "Subkey-Type: RSA\nSubkey-Length: 3072\nSubkey-Usage: encrypt\n",
}


@dataclass(frozen=True)
class CipherInfo:
    sha256: str  # of the OpenPGP file written
    size: int
    plaintext_sha256: str  # of the bytes that went in (for the manifest)
    plaintext_size: int


@dataclass(frozen=True)
class PlainInfo:
    sha256: str
    size: int
    signer: str  # primary key fingerprint of the (verified) signer


def normalize_fingerprint(fpr: str) -> str:
    value = fpr.replace(" ", "").upper()
    if not _FPR.fullmatch(value):
        raise PgpError(f"{fpr!r} is not a 40-hex-digit OpenPGP fingerprint")
    return value


class Gpg:
    def __init__(self, home: Path, passphrase_env: str | None = None, gpgbinary: str = "gpg") -> None:
        self.home = Path(home).absolute()
        _prepare_home(self.home)
        self.passphrase_env = passphrase_env
        self._gpg = gnupg.GPG(gpgbinary=gpgbinary, gnupghome=str(self.home), options=list(_OPTIONS))

    def __enter__(self) -> Gpg:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the gpg-agent that gpg started for this home (it would outlive us otherwise)."""
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
                       capture_output=True, timeout=30, check=False)

    # --- keys -----------------------------------------------------------------------------------

    def generate_key(self, name: str, email: str,
                     algorithm: Literal["ed25519", "rsa3072"] = "ed25519", expire: str = "0") -> str:
        """A signing primary key with an encryption subkey; protected by the passphrase when
        ``passphrase_env`` is set, else unprotected (tests, fixtures)."""
        for label, value in (("name", name), ("email", email), ("expire", expire)):
            if any(c in value for c in "\r\n\0"):
                raise PgpError(f"generate_key: {label} must be one line")
        secret = self._passphrase()
        params = (_KEY_PARAMS[algorithm] + f"Name-Real: {name}\nName-Email: {email}\nExpire-Date: {expire}\n"
                  + ("%no-protection\n" if secret is None else f"Passphrase: {secret}\n") + "%commit\n")
        result = self._gpg.gen_key(params)
        if not result.fingerprint:
            raise PgpError(f"gpg could not generate a key in {self.home}: {result.status or 'no key created'}")
        return normalize_fingerprint(result.fingerprint)

    def fingerprint_of(self, armored: str) -> str:
        """Primary fingerprint of the one key in ``armored`` (public or secret), without importing it."""
        keys = self._gpg.scan_keys_mem(armored)
        if len(keys) != 1:
            raise PgpError(f"expected exactly one OpenPGP key, found {len(keys)}")
        return normalize_fingerprint(keys[0]["fingerprint"])

    def import_key(self, armored: str, expected_fpr: str | None = None) -> str:
        """Import one key; with ``expected_fpr`` a key with any other fingerprint is refused unimported."""
        fpr = self.fingerprint_of(armored)
        if expected_fpr is not None and fpr != normalize_fingerprint(expected_fpr):
            raise PgpError(f"key {fpr} is not the pinned key {normalize_fingerprint(expected_fpr)}; not imported")
        result = self._gpg.import_keys(armored, passphrase=self._passphrase())
        if fpr not in {f.upper() for f in result.fingerprints} or result.not_imported:
            raise PgpError(f"gpg did not import key {fpr}: {result.summary()}")
        return fpr

    def export_public(self, fpr: str) -> str:
        fpr = normalize_fingerprint(fpr)
        armored: str = self._gpg.export_keys(fpr, armor=True)
        if not armored.strip():
            raise PgpError(f"no public key {fpr} in {self.home}")
        return armored

    def _check_key(self, fpr: str, role: Literal["recipient", "signer"]) -> None:
        """The fingerprint must be a primary key here that can still encrypt/sign (not expired,
        revoked or disabled: gpg drops those capitals from ``cap``)."""
        keys = self._gpg.list_keys(secret=role == "signer", keys=[fpr])
        match = [k for k in keys if k["fingerprint"].upper() == fpr]
        what = "secret key" if role == "signer" else "public key"
        if not match:
            raise PgpError(f"{role} {fpr}: no such primary {what} in {self.home}")
        if role == "recipient" and "E" not in match[0]["cap"]:
            raise PgpError(f"recipient {fpr} cannot encrypt (expired, revoked or no encryption subkey)")
        if role == "signer" and "S" not in match[0]["cap"]:
            raise PgpError(f"signer {fpr} cannot sign (expired, revoked or no signing key)")

    # --- encrypt / decrypt ----------------------------------------------------------------------

    def encrypt_sign_stream(self, chunks: Iterable[bytes], out_path: Path, recipient_fpr: str, signer_fpr: str,
                            *, compress_level: int | None = None) -> CipherInfo:
        """Encrypt ``chunks`` to the recipient and sign with the signer into ``out_path`` (binary
        OpenPGP, mode 0600, appearing only when complete). ``compress_level`` 0-9 overrides gpg's
        default (6); measured on vendor-like CSV: 6 ≈ 35 MB/s, 1 ≈ 95 MB/s for 15 % more bytes."""
        recipient, signer = normalize_fingerprint(recipient_fpr), normalize_fingerprint(signer_fpr)
        self._check_key(recipient, "recipient")
        self._check_key(signer, "signer")
        args = ["--sign", "--local-user", signer]
        if compress_level is not None:
            if compress_level not in range(10):
                raise PgpError(f"compress_level must be 0-9, not {compress_level!r}")
            args += ["--compress-level", str(compress_level)]
        with AtomicOutput(Path(out_path)) as sink:
            gpg = self._worker(sink)
            plain, result = feed(chunks, lambda reader: gpg.encrypt_file(
                reader, [recipient], armor=False, always_trust=True, passphrase=self._passphrase(), extra_args=args))
            sink.raise_failure()
            if not result.ok or result.returncode != 0:
                raise PgpError(f"gpg could not encrypt to {recipient} signed by {signer}: {result.status}")
            if "[GNUPG:] SIG_CREATED " not in result.stderr:
                raise PgpError(f"gpg encrypted to {recipient} but made no signature with {signer}")
            sink.commit()
        return CipherInfo(sha256=sink.hash.hexdigest(), size=sink.size, plaintext_sha256=plain[0],
                          plaintext_size=plain[1])

    def _worker(self, sink: AtomicOutput) -> gnupg.GPG:
        # A shallow copy carries this call's output callback; the shared instance stays untouched.
        gpg = copy.copy(self._gpg)
        gpg.on_data = sink.write
        gpg.buffer_size = IO_BUFFER
        return gpg

    def decrypt_verify_to(self, path: Path, out: Path, expected_signer_fpr: str) -> PlainInfo:
        """Decrypt ``path`` into ``out`` (mode 0600, written only if the signature is good and by
        the expected key)."""
        expected = normalize_fingerprint(expected_signer_fpr)
        what = Path(path).name
        with AtomicOutput(Path(out)) as sink, open(path, "rb") as source:
            result = self._worker(sink).decrypt_file(source, passphrase=self._passphrase())
            sink.raise_failure()
            _raise_signature_problems(result, what)
            if not result.ok or result.returncode != 0:
                raise PgpError(f"{what}: gpg could not decrypt it: {result.status}")
            signer = _good_signer(result, expected, what)
            sink.commit()
        return PlainInfo(sha256=sink.hash.hexdigest(), size=sink.size, signer=signer)

    # --- detached signatures --------------------------------------------------------------------

    def sign_detached(self, data: bytes, signer_fpr: str) -> str:
        signer = normalize_fingerprint(signer_fpr)
        self._check_key(signer, "signer")
        result = self._gpg.sign(data, clearsign=False, detach=True, passphrase=self._passphrase(),
                                extra_args=["--local-user", signer])
        if result.fingerprint is None or result.returncode != 0:
            raise PgpError(f"gpg could not sign with {signer}: {result.status}")
        signature: str = result.data.decode("ascii")
        return signature

    def verify_detached(self, data: bytes, signature: str, expected_fpr: str) -> None:
        """Raise ``SignatureError`` unless ``signature`` is a good detached signature of ``data``
        by the key ``expected_fpr``."""
        expected = normalize_fingerprint(expected_fpr)
        fd, sig_path = tempfile.mkstemp(dir=self.home, prefix=".sig-")
        try:
            with os.fdopen(fd, "w", encoding="ascii", errors="strict") as f:
                f.write(signature)
            result = self._gpg.verify_data(sig_path, data)
        except UnicodeEncodeError:
            raise SignatureError("bad", "detached signature: not ASCII armour") from None
        finally:
            os.unlink(sig_path)
        _raise_signature_problems(result, "detached signature")
        _good_signer(result, expected, "detached signature")

    def _passphrase(self) -> str | None:
        if self.passphrase_env is None:
            return None
        value = os.environ.get(self.passphrase_env)
        if value is None:
            raise PgpError(f"key passphrase variable {self.passphrase_env} is not set")
        return value


def _raise_signature_problems(result: Any, what: str) -> None:
    # NO_SECKEY during decryption concerns other recipients of the message, not the signature.
    problems = [p for p in result.problems if p["status"] != "no secret key"]
    statuses = {p["status"] for p in problems}
    key_ids = ", ".join(sorted({p.get("keyid") or "?" for p in problems}))
    if "signature bad" in statuses:
        raise SignatureError("bad", f"{what}: bad signature (data or signature altered) by key {key_ids}")
    if "signing key was revoked" in statuses:
        raise SignatureError("revoked", f"{what}: signed by key {key_ids}, which is revoked")
    if statuses & {"signing key has expired", "signature expired"}:
        raise SignatureError("expired", f"{what}: signed by key {key_ids}, which (or whose signature) has expired")
    if "no public key" in statuses:
        raise SignatureError("unknown-key", f"{what}: signed by key {key_ids}, which is not in the keyring")
    if statuses:
        raise SignatureError("error", f"{what}: signature could not be checked ({', '.join(sorted(statuses))})")


def _good_signer(result: Any, expected: str, what: str) -> str:
    """The signer's primary fingerprint, if there is a good signature and every one is by ``expected``."""
    if not result.valid:
        # Crypt results have ``ok`` (decrypted fine, just unsigned); Verify results only a status.
        why = "the message is not signed" if getattr(result, "ok", False) else (
            result.status or f"gpg exited {result.returncode}")
        raise SignatureError("missing", f"{what}: no good signature ({why})")
    signers = {(info.get("pubkey_fingerprint") or info.get("fingerprint") or "").upper()
               for info in result.sig_info.values()}
    signers.add((result.pubkey_fingerprint or result.fingerprint or "").upper())
    if signers != {expected}:
        raise SignatureError("wrong-signer", f"{what}: signed by {', '.join(sorted(signers))}, expected {expected}")
    return expected


def _prepare_home(home: Path) -> None:
    if home.resolve() == (Path.home() / ".gnupg").resolve():
        raise PgpError(f"{home}: the bridge needs a GnuPG home of its own, not the user's ~/.gnupg")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = home.stat()
    if st.st_uid != os.geteuid():
        raise PgpError(f"GnuPG home {home} belongs to uid {st.st_uid}, not to this process (uid {os.geteuid()})")
    if st.st_mode & 0o077:
        raise PgpError(f"GnuPG home {home} has mode {st.st_mode & 0o777:o}; it must be 0700")


