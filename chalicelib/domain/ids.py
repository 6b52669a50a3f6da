"""Identifiers: random, URL-safe, and sortable by creation time where that helps listing."""

from __future__ import annotations

import hashlib
import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


def new_id(now_ms: int | None = None) -> str:
    """A ULID-like id: 10 chars of millisecond time then 16 random chars (80 bits)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return _encode(ms, 10) + _encode(secrets.randbits(80), 16)


def mediateur_id_for(idp_id: str, sub: str) -> str:
    """Stable mediator id derived from the ProConnect identity (`idp_id` + `sub`).

    Deriving it (instead of a lookup table) makes the first sign-in race-free: two tabs
    signing in at once address the same item.
    """
    digest = hashlib.sha256(f"{idp_id}\x00{sub}".encode()).digest()
    return "m" + _encode(int.from_bytes(digest[:15], "big"), 24)


def looks_like_id(value: str) -> bool:
    """Cheap shape check so that garbage in a URL never reaches the database."""
    return 1 <= len(value) <= 40 and all(c in _CROCKFORD or c == "-" for c in value)
