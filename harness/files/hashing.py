"""Streamed SHA-256 digests of files and of sets of files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def combine_digests(named_digests: Iterable[tuple[str, str]]) -> str:
    """One digest over ``(name, hex digest)`` pairs, in name order.

    Names (not absolute paths) enter the digest, so the same files in another folder
    give the same fingerprint.
    """
    digest = hashlib.sha256()
    for name, part in sorted(named_digests):
        digest.update(f"{name}\0{part}\n".encode())
    return digest.hexdigest()
