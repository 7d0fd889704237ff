"""API keys: who may write, who may only read drafts.

API_KEYS is a comma-separated list. Each entry is a key, optionally prefixed
`ro:` for a read-only key; a key may be given as `sha256:<hex digest>` so the
plain key never sits in configuration. Keys are compared by their SHA-256
digests with hmac.compare_digest, so timing says nothing about a key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

READ = "read"
WRITE = "write"


@dataclass(frozen=True)
class Key:
    digest: bytes
    role: str


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def hash_key(key: str) -> str:
    """The `sha256:...` form of a key, for API_KEYS."""
    return "sha256:" + digest(key).hex()


def parse_keys(value: str) -> list[Key]:
    keys = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        role = WRITE
        if entry.startswith("ro:"):
            role, entry = READ, entry[3:]
        if entry.startswith("sha256:"):
            hexdigest = entry[len("sha256:"):]
            try:
                raw = bytes.fromhex(hexdigest)
            except ValueError:
                raise ValueError(f"API_KEYS: '{hexdigest[:8]}…' is not a hex SHA-256 digest") from None
            if len(raw) != 32:
                raise ValueError("API_KEYS: a sha256 digest has 64 hex digits")
            keys.append(Key(raw, role))
        else:
            keys.append(Key(digest(entry), role))
    return keys


def role_of(presented: str, keys: list[Key]) -> str | None:
    """The role of a presented key, or None; every key is compared."""
    candidate = digest(presented)
    role = None
    for key in keys:
        if hmac.compare_digest(candidate, key.digest):
            role = key.role
    return role
