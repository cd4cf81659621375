"""Checksums of migration files that survive a CRLF checkout."""

from __future__ import annotations

import hashlib

__all__ = ["checksum"]


def checksum(data: bytes) -> str:
    """SHA-256 of ``data`` with CRLF and lone CR line endings normalised to LF, as hex.

    A file checked out with Windows line endings must not look modified.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()
