"""X-Request-ID: the caller's, when it is a sensible one, else one made here."""

from __future__ import annotations

import itertools
import os
import uuid

from flask import request


def request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return next(_request_ids)


def _new_request_ids():
    """Unique, not secret: a random prefix per process and a counter (uuid4
    asks the OS for random bytes on every request)."""
    prefix = uuid.uuid4().hex[:16]
    return (f"{prefix}{n:016x}" for n in itertools.count())


_request_ids = _new_request_ids()


def _after_fork() -> None:
    global _request_ids
    _request_ids = _new_request_ids()  # a forked worker must not repeat its parent's ids


os.register_at_fork(after_in_child=_after_fork)
