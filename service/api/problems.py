"""RFC 7807 problem documents: the one shape of every error response."""

from __future__ import annotations

import errno
import logging

import orjson
from flask import Response, g
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..domain.errors import Conflict, DomainError, Invalid, NotFound, PreconditionFailed, Unavailable

log = logging.getLogger("service.errors")

NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# Invalid: well-formed, but names things that do not exist (a topic, a parent): 422.
DOMAIN_STATUS = {NotFound: 404, Conflict: 409, PreconditionFailed: 412, Invalid: 422, Unavailable: 503}
PHRASES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
    412: "Precondition Failed", 415: "Unsupported Media Type", 422: "Unprocessable Content",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
    507: "Insufficient Storage",
}


class ApiProblem(Exception):
    """Raised anywhere in the HTTP layer to answer with a problem document."""

    def __init__(self, status: int, detail: str, errors: dict | None = None,
                 title: str | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.title = title
        self.headers = headers or {}


def validation_problem(errors: dict, where: str) -> ApiProblem:
    flat = flatten_errors(errors)
    names = ", ".join(sorted(flat))
    return ApiProblem(400, f"Invalid {where}: {names}.", flat, title="Validation failed")


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"field.sub": ["message", ...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "_schema"
            for k, v in flatten_errors(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(errors, list):
        for item in errors:
            for k, v in flatten_errors(item, prefix).items():
                flat.setdefault(k, []).extend(v)
    else:
        flat[prefix or "_schema"] = [str(errors)]
    return flat


def problem(status: int, detail: str, title: str | None = None, errors: dict | None = None,
            headers: dict | None = None) -> Response:
    doc = {
        "type": "about:blank",
        "title": title or PHRASES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        doc["errors"] = errors
    request_id = g.get("request_id") if g else None
    if request_id:
        doc["request_id"] = request_id
    response = Response(orjson.dumps(doc), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_for(exc: BaseException) -> Response:
    """Map any exception to its problem response; unexpected ones are logged."""
    if isinstance(exc, ApiProblem):
        return problem(exc.status, exc.detail, exc.title, exc.errors, exc.headers)
    if isinstance(exc, DomainError):
        status = DOMAIN_STATUS.get(type(exc), 400)
        title = "Validation failed" if isinstance(exc, Invalid) else None
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
        return problem(status, exc.detail, title, exc.errors or None, headers)
    if isinstance(exc, ValidationError):
        p = validation_problem(exc.messages, "input")
        return problem(p.status, p.detail, p.title, p.errors)
    if isinstance(exc, HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        retry = getattr(exc, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(retry)
        return problem(exc.code or 500, exc.description or exc.name, exc.name, headers=headers)
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        log.error("store write failed: %s", exc)
        return problem(507, "The change could not be saved: the server is out of storage. Nothing was "
                       "written; try again later.", "Insufficient Storage")
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "The server hit an unexpected error; it has been logged.")
