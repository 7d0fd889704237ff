"""医保 knowledge API: create_app() builds the Flask application."""

from __future__ import annotations

import itertools
import os
import uuid

from flask import Flask, Response, g, redirect, request
from flask_cors import CORS

from . import config as config_module
from .api import init_api
from .api.problems import ApiProblem, problem_for
from .api.url_rules import check_url
from .auth import parse_keys, role_of
from .current import install
from .observability import init_observability, observe_refresh, record, start_timer
from .security import SECURITY_HEADERS, ConstantHeaders, init_security, limit_requests, rate_limit_headers
from .services import Services


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(config_module.from_env())
    app.config.update(overrides or {})
    app.config["RESTX_ERROR_404_HELP"] = False
    app.config["RESTX_MASK_SWAGGER"] = False
    keys = parse_keys(app.config["API_KEYS"])

    # Opened by the first request, or up front by service.wsgi: CLI commands
    # such as `db upgrade` must see the store before anything touches it.
    services = Services(app.config)
    install(app, services)
    services.store.subscribe(services.caches.on_change)

    # One hook each way, in this order: every request pays for each hook.
    @app.before_request
    def _before():
        start_timer()
        g.request_id = _request_id()
        g.role = _role(keys)
        limit_requests()
        check_url()  # after the limits: malformed requests count too
        observe_refresh(services.open().store.refresh())

    @app.after_request
    def _after(response):
        rate_limit_headers(response)
        cors_headers(response)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        record(response)
        return response

    app.register_error_handler(Exception, problem_for)
    cors_headers = init_cors(app)
    init_security(app)
    init_observability(app)
    app.add_url_rule("/", "index", lambda: redirect("/docs"))
    init_api(app)
    from .cli import register

    register(app)
    return app


CORS_EXPOSED = ["ETag", "Link", "X-Total-Count", "Location", "X-Request-ID", "Retry-After", "X-RateLimit-Limit",
                "X-RateLimit-Remaining", "X-RateLimit-Reset"]


def init_cors(app: Flask):
    """flask-cors with the configured origins, called from our one after-hook.

    A request without an Origin header (not from a browser's cross-origin
    fetch) always gets the same CORS headers, so flask-cors answers that case
    once here and ConstantHeaders adds the answer to each such response;
    requests with an Origin, and preflights, go through flask-cors every time.
    """
    origins = [o.strip() for o in app.config["CORS_ORIGINS"].split(",") if o.strip()]
    # Error responses pass through the after-hook too, so flask-cors need not wrap Flask's error
    # handlers (which, for paths outside the API, added every CORS header a second time).
    CORS(app, origins=origins, expose_headers=CORS_EXPOSED, intercept_exceptions=False,
         allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID"])
    cors_after_request = app.after_request_funcs[None].pop()  # the hook CORS() just added
    with app.test_request_context("/"):
        without_origin = cors_after_request(Response()).headers
        reused = [(name, value) for name, value in without_origin.items()
                  if name.startswith("Access-Control-") or name == "Vary"]

    def cors_headers(response: Response) -> None:
        if "Origin" in request.headers or request.method == "OPTIONS":
            cors_after_request(response)

    app.wsgi_app = ConstantHeaders(app.wsgi_app, SECURITY_HEADERS, reused)
    return cors_headers


def _request_id() -> str:
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


def _role(keys) -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    role = role_of(token.strip(), keys) if scheme.lower() == "bearer" and token.strip() else None
    if role is None:
        raise ApiProblem(401, "Unknown API key: send 'Authorization: Bearer <key>' with a valid key.",
                         headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    return role
