"""create_app(): the Flask application, its hooks, the API and the CLI over one Services."""

from __future__ import annotations

from flask import Flask, g, redirect

from . import config as config_module
from .api import init_api
from .api.problems import problem_for
from .api.roles import caller_role
from .api.url_rules import check_url
from .auth import parse_keys
from .cors import init_cors
from .current import install
from .observability import init_observability, observe_refresh, record, start_timer
from .request_ids import request_id
from .security import init_security, limit_requests, rate_limit_headers
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

    # One hook each way (and one at the end), in this order: every request pays for each hook.
    @app.before_request
    def _before():
        services.catch_up.serving()  # first: a failing hook below still ends in _served
        g.serving = True
        start_timer()
        g.request_id = request_id()
        g.role = caller_role(keys)
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

    @app.teardown_request
    def _served(_exc):
        if g.pop("serving", False):
            services.catch_up.served()

    app.register_error_handler(Exception, problem_for)
    cors_headers = init_cors(app)
    init_security(app)
    init_observability(app)
    app.add_url_rule("/", "index", lambda: redirect("/docs"))
    init_api(app)
    from .cli import register

    register(app)
    return app
