"""Telling readers apart without keeping who they are.

大家都在搜 counts distinct readers, so the event log needs something per
reader, but never the address itself: a reader is stored as an HMAC of its
identity under a secret kept in the data directory (created once, readable
only by the service's user). Without the secret a token cannot be turned back
into an address by trying every address; with a new secret the same reader
gets a new token.

On several machines (`share`, given a Redis) every machine must use the same
secret, or one reader reaching two machines counts as two: each proposes its
own, the first proposal kept in Redis wins, and each machine keeps the winner
in its file, so after a Redis restart the machines propose, and agree on, the
same secret again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

SECRET_FILE = "readers.key"
TOKEN_BYTES = 9  # 72 bits: collisions are negligible for counting, and lines stay short


class ReaderTokens:
    def __init__(self, data_dir: Path | str, share: Callable[[bytes], bytes | None] | None = None):
        path = Path(data_dir) / SECRET_FILE
        self.secret = _secret(path)
        agreed = share(self.secret) if share else None
        if agreed and agreed != self.secret:
            if len(agreed) < 16:
                raise ValueError("the shared readers' secret is damaged")
            _replace(path, agreed)
            self.secret = agreed

    def __call__(self, identity: str) -> str:
        """The token of a client identity (the same identity, the same token, in every process)."""
        digest = hmac.new(self.secret, identity.encode(), hashlib.sha256).digest()
        return digest[:TOKEN_BYTES].hex()


def _replace(path: Path, secret: bytes) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secret)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _secret(path: Path) -> bytes:
    """Read the secret, creating it if there is none yet.

    Created under a temporary name and linked into place, so a process that
    loses the race to create it reads the winner's whole secret, never a
    half-written one."""
    if not path.exists():
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink()
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ValueError(f"{path}: the readers' secret is damaged (delete it to start a new one)")
    return secret
