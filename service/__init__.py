"""医保 knowledge API: create_app() builds the Flask application."""

from __future__ import annotations

import uuid

from flask import Flask, g, redirect, request
from flask_cors import CORS

from . import config as config_module
from .api import init_api
from .api.problems import ApiProblem, problem_for
from .auth import parse_keys, role_of
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
    app.extensions["service"] = services

    @app.before_request
    def _before():
        g.request_id = _request_id()
        g.role = _role(keys)
        services.open().store.refresh()

    @app.after_request
    def _after(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    app.register_error_handler(Exception, problem_for)
    origins = [o.strip() for o in app.config["CORS_ORIGINS"].split(",") if o.strip()]
    CORS(app, origins=origins, expose_headers=["ETag", "Link", "X-Total-Count", "Location",
                                               "X-Request-ID", "Retry-After"],
         allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID"])

    app.add_url_rule("/", "index", lambda: redirect("/docs"))
    init_api(app)
    from .cli import register

    register(app)
    return app


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


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
