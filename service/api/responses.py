"""JSON responses: UTF-8 as-is, collection envelopes, validators and caching.

Every handler answers through these: `json_response` (or `cacheable`, for a
public read), `conditional` (a read with an ETag), `collection` (a page) and
`written` (every POST, PUT and PATCH).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import orjson
from flask import Response, g, request

from ..current import current_services
from .problems import ApiProblem


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    # orjson writes UTF-8 and never \u-escapes Chinese text.
    return json_response_bytes(orjson.dumps(data), status, headers)


def json_response_bytes(body: bytes, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def cacheable(data) -> Response:
    """A read that clients (and caches in between) may keep briefly."""
    return cache_headers(json_response(data))


def written(body: bytes, status: int = 200, etag: str | None = None, location: str | None = None) -> Response:
    """A write's answer (every POST, PUT and PATCH): what was written, as a GET shows it, with the
    ETag that GET gives (so If-Match works right after any write, a create included) and, for a
    201, the Location that names it."""
    headers = {}
    if etag is not None:
        headers["ETag"] = etag
    if location is not None:
        headers["Location"] = location
    return json_response_bytes(body, status, headers)


def cache_headers(response: Response) -> Response:
    """Public reads may be cached briefly; what a key saw is private."""
    if g.get("role"):
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Authorization")
    else:
        response.headers["Cache-Control"] = "public, max-age=30"
    return response


def etag_for(version: int | None, body: bytes) -> str:
    """A strong validator: the version (for versioned resources), then a
    digest of these exact bytes (a sparse or rendered representation is
    different bytes)."""
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f'"{digest}"' if version is None else f'"{version}.{digest}"'


def conditional(body: bytes, etag: str | None = None) -> Response:
    """200 with an ETag (the body's digest unless given), or 304 when
    If-None-Match already has it."""
    etag = etag or etag_for(None, body)
    wanted = request.headers.get("If-None-Match")
    if wanted is not None and _matches(etag, wanted):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.headers["ETag"] = etag
    return cache_headers(response)


def _matches(etag: str, wanted: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return etag in tags or "*" in tags


def if_match_version() -> int | None:
    """The version an If-Match header insists on; None when there is none.

    Any ETag this service gave for the resource starts with its version, so
    a tag from a sparse or rendered GET works as well as a full one.
    """
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            continue  # weak tags never match for If-Match (RFC 9110 13.1.1)
        version = tag.strip('"').split(".", 1)[0]
        if version.isdigit():
            versions.add(int(version))
    if len(versions) != 1:
        raise ApiProblem(412, "If-Match names no current version of this resource.")
    return versions.pop()


def page_slice(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """(start, end, pages) of one page. A page past the last one is empty
    (its Link header still leads back); `page` itself is bounded by the schema."""
    pages = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    return start, start + per_page, pages


def _links(page: int, pages: int) -> str:
    """The RFC 8288 Link header of one page: the same request asks for the same
    header, so it is built once per URL and page count."""
    kept = current_services().caches.links
    key = (request.base_url, request.query_string, page, pages)
    header = kept.get(key)
    if header is None:
        links = {"first": 1, "last": pages}
        if page > 1:
            links["prev"] = min(page - 1, pages)
        if page < pages:
            links["next"] = page + 1
        args = request.args.to_dict()
        parts = []
        for rel, number in links.items():
            args["page"] = str(number)
            parts.append(f'<{request.base_url}?{urlencode(args)}>; rel="{rel}"')
        header = kept.put(key, ", ".join(parts))
    return header


def collection(items: list, total: int, page: int, per_page: int, pages: int, extra=None) -> Response:
    """The collection envelope with X-Total-Count and an RFC 8288 Link header."""
    body = {"items": items, "meta": {"page": page, "per_page": per_page, "total": total, "pages": pages}}
    if extra:
        body.update(extra)
    response = json_response(body, headers={"X-Total-Count": str(total), "Link": _links(page, pages)})
    return cache_headers(response)
