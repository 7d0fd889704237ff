"""What every request's URL must be, checked once before any handler runs.

The path and the query string are UTF-8 without NUL, and the query names only
parameters the endpoint takes (those of its `arguments` schema; none without
one), each once, in at most MAX_QUERY_BYTES. werkzeug keeps undecodable bytes
percent-encoded and lets repeats through, so a handler would otherwise see
"%ED%A0%80" as text, or only one of two values.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import current_app, request

from .problems import ApiProblem

# /search with every parameter at its longest is about 3,600 bytes (200
# four-byte characters of q percent-encoded are 2,400, topic and region add
# 1,100). Past this the service refuses the query with a problem document,
# well inside the request line gunicorn takes (gunicorn.conf.py): padding a
# parameter (spaces in fields=, zeros in page=) cannot pass one the service
# would accept but gunicorn refuse.
MAX_QUERY_BYTES = 6144

# Per process, not per Services: what a route's handler takes is fixed by the code, and the keys are
# the (endpoint, method) pairs of routes that matched, so it is bounded by the route table.
_names: dict[tuple[str, str], frozenset[str]] = {}


def check_url() -> None:
    _check_path(request.environ.get("PATH_INFO", ""))
    query = request.query_string
    if query and request.method != "OPTIONS":  # a CORS preflight carries the query of the call it asks for
        _check_query(query)


def _check_path(path: str) -> None:
    # PATH_INFO holds the path's bytes as latin-1 (PEP 3333).
    if "\x00" in path:
        raise ApiProblem(400, "The URL contains a NUL character (%00).")
    if not path.isascii():
        try:
            path.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            raise ApiProblem(400, "The URL path is not valid UTF-8 once percent-decoded.") from None


def _check_query(query: bytes) -> None:
    if len(query) > MAX_QUERY_BYTES:
        raise _too_long(query)
    # surrogateescape keeps every undecodable byte (and every encoded surrogate,
    # which strict UTF-8 refuses) as a lone surrogate, found by encoding back.
    pairs = parse_qsl(query.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                      errors="surrogateescape")
    seen: dict[str, int] = {}
    for name, value in pairs:
        shown = _shown(name)
        if shown != name or _shown(value) != value:
            raise _invalid(shown, "Not valid UTF-8 once percent-decoded.",
                           f"Query parameter '{shown}' is not valid UTF-8.")
        if "\x00" in name or "\x00" in value:
            raise _invalid(name, "Must not contain a NUL character.", "The URL contains a NUL character (%00).")
        seen[name] = seen.get(name, 0) + 1
    repeated = {name: n for name, n in seen.items() if n > 1}
    if repeated:
        name, times = next(iter(repeated.items()))
        raise ApiProblem(400, f"Query parameter '{name}' is given {times} times.",
                         {n: ["Give it once."] for n in repeated}, title="Validation failed")
    if request.url_rule is None:
        return  # no such route (or method): that 404 or 405 says more
    takes = _taken(request.url_rule.endpoint, request.method)
    unknown = sorted(name for name in seen if name not in takes)
    if unknown:
        hint = f"This endpoint takes: {', '.join(sorted(takes))}." if takes else "This endpoint takes none."
        raise ApiProblem(400, f"Unknown query parameter(s): {', '.join(unknown)}.",
                         {name: [f"Unknown parameter. {hint}"] for name in unknown}, title="Validation failed")


def _shown(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _invalid(name: str, message: str, detail: str) -> ApiProblem:
    return ApiProblem(400, detail, {name: [message]}, title="Validation failed")


def _too_long(query: bytes) -> ApiProblem:
    longest = max(query.split(b"&"), key=len).partition(b"=")[0]
    name = _shown(longest.decode("utf-8", "surrogateescape"))
    return ApiProblem(400, f"The query string has {len(query)} bytes; at most {MAX_QUERY_BYTES} are accepted.",
                      {name: ["Too long."]}, title="Validation failed")


def _taken(endpoint: str, method: str) -> frozenset[str]:
    """The parameter names the handler's `arguments` schema loads (none without one)."""
    key = (endpoint, method)
    names = _names.get(key)
    if names is None:
        view = current_app.view_functions[endpoint]
        cls = getattr(view, "view_class", None)
        handler = view
        if cls is not None:
            handler = getattr(cls, method.lower(), None) or getattr(cls, "get", None)
        schema_cls = getattr(handler, "query_schema", None)
        fields = schema_cls().load_fields if schema_cls else {}
        names = _names[key] = frozenset(field.data_key or name for name, field in fields.items())
    return names
