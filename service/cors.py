"""CORS for browsers calling the API from other origins, through flask-cors.

Applied from the app's one after-request hook: a request without an Origin
header (not a browser's cross-origin call) always gets the same CORS headers,
so they are worked out once here and ConstantHeaders appends them to each
such response; requests with an Origin, and preflights, go through flask-cors
every time.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request
from flask_cors import cross_origin

from .security import SECURITY_HEADERS, ConstantHeaders

EXPOSED = ["ETag", "Link", "X-Total-Count", "Location", "X-Request-ID", "Retry-After", "X-RateLimit-Limit",
           "X-RateLimit-Remaining", "X-RateLimit-Reset"]
ALLOWED = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID"]


def init_cors(app: Flask) -> Callable[[Response], None]:
    """The function the after-hook calls on each response; also installs ConstantHeaders."""
    origins = [o.strip() for o in app.config["CORS_ORIGINS"].split(",") if o.strip()]
    # flask-cors' public decorator, applied to the response itself: CORS(app) would add an
    # after-request hook of its own, run on every request (automatic_options=False: Flask's
    # own OPTIONS answer is kept, as CORS(app) keeps it).
    add_headers = cross_origin(origins=origins, expose_headers=EXPOSED, allow_headers=ALLOWED,
                               automatic_options=False)(_unchanged)
    with app.test_request_context("/"):
        without_origin = add_headers(Response()).headers
        reused = [(name, value) for name, value in without_origin.items()
                  if name.startswith("Access-Control-") or name == "Vary"]

    def cors_headers(response: Response) -> None:
        if "Origin" in request.headers or request.method == "OPTIONS":
            add_headers(response)

    app.wsgi_app = ConstantHeaders(app.wsgi_app, SECURITY_HEADERS, reused)
    return cors_headers


def _unchanged(response: Response) -> Response:
    return response
