"""The audit log's signing key: Ed25519, kept outside the run store.

A hash chain alone proves nothing against whoever can write the store: they can append
an entry with a correct hash, or rewrite the chain from any point. Every audit entry is
therefore signed with an Ed25519 private key (RFC 8032) held in a file the store does
not contain: ``$HARNESS_AUDIT_KEY``, else ``$HARNESS_HOME/keys/audit-ed25519.pem``,
created on first use with permissions 0600. Verification needs only the public key, so
``HARNESS_AUDIT_KEY`` may also name a public-key PEM on a machine that only checks.

A key is named by its fingerprint, ``ed25519:`` and the SHA-256 of its 32 raw public
bytes; each entry records the fingerprint of the key that signed it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import InputError
from harness.paths import harness_home

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ENV = "HARNESS_AUDIT_KEY"
KEY_FILE = "audit-ed25519.pem"


def audit_key_path() -> Path:
    """``$HARNESS_AUDIT_KEY``, else ``$HARNESS_HOME/keys/audit-ed25519.pem``."""
    override = os.environ.get(KEY_ENV)
    return Path(override).expanduser() if override else harness_home() / "keys" / KEY_FILE


@dataclass(frozen=True)
class AuditKey:
    """An audit key as loaded: the public half always, the private half where this machine signs."""

    path: Path
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public)

    def sign(self, entry_hash: str) -> str:
        """The Ed25519 signature (hex) of an entry hash's 32 bytes."""
        if self.private is None:
            raise InputError(f"{self.path}: a public key only; signing audit entries needs the private key")
        return self.private.sign(bytes.fromhex(entry_hash)).hex()

    def verifies(self, entry_hash: str, signature: str | None) -> bool:
        """Whether ``signature`` is this key's signature of ``entry_hash``."""
        from cryptography.exceptions import InvalidSignature

        if not signature:
            return False
        try:
            self.public.verify(bytes.fromhex(signature), bytes.fromhex(entry_hash))
        except (InvalidSignature, ValueError):
            return False
        return True


def key_fingerprint(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()


def signing_key() -> AuditKey:
    """The key audit entries are signed with; the default key file is created on first use.

    A key file named by ``HARNESS_AUDIT_KEY`` is never created: a mistyped path would
    otherwise start a second key whose entries the first cannot verify.
    """
    path = audit_key_path()
    if not path.is_file():
        if os.environ.get(KEY_ENV):
            raise InputError(f"{KEY_ENV}={path}: no such key file (the audit log's Ed25519 signing key)")
        _create_key(path)
    key = load_key(path)
    if key.private is None:
        raise InputError(f"{path}: a public key only; signing audit entries needs the private key")
    return key


def verification_key() -> AuditKey | None:
    """The key audit signatures are checked against, None when there is no key file."""
    path = audit_key_path()
    return load_key(path) if path.is_file() else None


def load_key(path: Path) -> AuditKey:
    """An Ed25519 private or public key from a PEM file."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the audit key ({exc.strerror})") from None
    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        try:
            public = load_pem_public_key(data)
        except (ValueError, TypeError):
            raise InputError(f"{path}: not a PEM Ed25519 key (unencrypted PKCS#8 or SubjectPublicKeyInfo)") from None
        if not isinstance(public, Ed25519PublicKey):
            raise InputError(f"{path}: a {type(public).__name__}, not an Ed25519 key") from None
        return AuditKey(path=path, public=public)
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError(f"{path}: a {type(private).__name__}, not an Ed25519 key")
    return AuditKey(path=path, public=private.public_key(), private=private)


def _create_key(path: Path) -> None:
    """Write a new private key to ``path`` (0600); when several processes race, the first link wins
    and every process then reads that one key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd, tmp = tempfile.mkstemp(prefix=".audit-key.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):  # another process made the key first: that one is kept
            os.link(tmp, path)  # atomic and exclusive
    finally:
        Path(tmp).unlink(missing_ok=True)
