"""Who is calling: the role of the API key a request sends, and what an endpoint requires."""

from __future__ import annotations

from flask import g, request

from ..auth import WRITE, Key, role_of
from .problems import ApiProblem


def caller_role(keys: list[Key]) -> str | None:
    """The role of the request's key; None without one; 401 for a key that is not known."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    role = role_of(token.strip(), keys) if scheme.lower() == "bearer" and token.strip() else None
    if role is None:
        raise ApiProblem(401, "Unknown API key: send 'Authorization: Bearer <key>' with a valid key.",
                         headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    return role


def require_role(write: bool) -> str:
    """Any key (set by caller_role for this request), or a read-write one when `write`."""
    role = g.get("role")
    if role is None:
        raise ApiProblem(
            401, "This needs an API key: send 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if write and role != WRITE:
        raise ApiProblem(403, "This key is read-only; writing needs a read-write key.")
    return role
