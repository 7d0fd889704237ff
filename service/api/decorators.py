"""Declarative endpoint decorators: parse and document in one place.

Each decorator both does its job at request time and records it in the
Swagger document, from the same marshmallow schema; `answers` only documents.
"""

from __future__ import annotations

from functools import wraps
from types import MappingProxyType

import orjson
from flask import request
from flask_restx import Namespace
from marshmallow import Schema, ValidationError

from ..current import current_services
from ..security import limit_writes
from .openapi import registry
from .problems import ApiProblem, validation_problem
from .roles import require_role
from .schemas import ProblemSchema

# Only its documentation decorators are used; they are namespace-agnostic.
_doc = Namespace("docs")


def arguments(schema_cls: type[Schema]):
    """Load the query string with `schema_cls`.

    Which parameters may appear at all, and only once, is checked for every
    endpoint by url_rules before this runs, from the `query_schema` recorded
    here. A query string always loads to the same values, and most requests
    repeat one, so valid ones are kept (read-only) per schema and query.
    """
    schema = schema_cls()

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            kept = current_services().caches.queries
            key = (schema_cls, request.query_string)
            loaded = kept.get(key)
            if loaded is None:
                try:
                    loaded = MappingProxyType(schema.load(request.args.to_dict()))
                except ValidationError as exc:
                    raise validation_problem(exc.messages, "query parameters") from None
                kept.put(key, loaded)
            return f(*args, loaded, **kwargs)

        wrapper.query_schema = schema_cls  # outer decorators copy it (functools.wraps)
        return _doc.doc(params=registry.query_params(schema_cls))(wrapper)

    return decorator


def path_arguments(schema_cls: type[Schema]):
    """Validate the URL's variables with `schema_cls`, documented from it: the
    spec's limits for a path parameter are exactly the ones enforced."""
    schema = schema_cls()

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            try:
                loaded = schema.load(kwargs)
            except ValidationError as exc:
                raise validation_problem(exc.messages, "path") from None
            return f(*args, **loaded)

        return _doc.doc(params=registry.query_params(schema_cls, location="path"))(wrapper)

    return decorator


def body(schema_cls: type[Schema]):
    """Load a JSON object body with `schema_cls`; unknown fields are named in the 400."""
    schema = schema_cls()

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            try:
                loaded = schema.load(json_body())
            except ValidationError as exc:
                raise validation_problem(exc.messages, "body") from None
            return f(*args, loaded, **kwargs)

        return _doc.expect(registry.model(schema_cls))(wrapper)

    return decorator


def json_body() -> dict:
    if request.mimetype != "application/json":
        raise ApiProblem(415, f"Send the body as application/json, not '{request.mimetype or 'nothing'}'.")
    raw = request.get_data(cache=True)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiProblem(400, f"The body is not valid JSON in UTF-8: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "The body must be a JSON object.")
    return data


def answers(schema_cls: type[Schema], status: int = 200, description: str = "OK"):
    """Document what the endpoint answers with `schema_cls`. Only documents: every handler
    builds its own response with responses.py (writes with `written`), often from bytes
    made once and reused, which a dump here on every request would undo."""
    return _doc.response(status, description, registry.model(schema_cls))


def other_responses(responses: dict[int, str]):
    """Document the problem responses an endpoint can give."""
    problem_model = registry.model(ProblemSchema)

    def decorator(f):
        for status, description in responses.items():
            f = _doc.response(status, description, problem_model)(f)
        return f

    return decorator


def authenticated(write: bool = True):
    """Require a key: any key to read drafts, a read-write key to write."""

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            require_role(write)
            if write:
                limit_writes()
            return f(*args, **kwargs)

        wrapper = _doc.doc(security="bearer")(wrapper)
        responses = {401: "No key, or an unknown key.", 403: "A read-only key.", 429: "Too many writes."}
        return other_responses(responses)(wrapper)

    return decorator
