"""Rate limits and security headers for a public, browser-facing API.

Limits count per client: the API key when one is sent, else the client
address. Every request counts against RATE_LIMIT; writes also count against
RATE_LIMIT_WRITE. flask-limiter keeps the counters in memory by default, so
each gunicorn worker counts on its own (the effective limit is up to
workers x the configured one); RATE_LIMIT_STORAGE=redis://host:6379 shares
them between workers and machines.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix


def client_identity() -> str:
    """Who a limit counts against: the key (by digest) or the address."""
    header = request.headers.get("Authorization", "")
    if g.get("role") and header:
        return "key:" + hashlib.sha256(header.encode()).hexdigest()[:16]
    return "ip:" + (request.remote_addr or "unknown")


UNLIMITED = ("/healthz", "/readyz", "/metrics")

limiter = Limiter(key_func=client_identity, headers_enabled=True)

# Applied by the write decorator, after the key is known: one budget for all writes.
write_limit = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_WRITE"], scope="writes")


# Page views are public: each client may count only so many, per article.
views_limit = limiter.limit(
    lambda: current_app.config["RATE_LIMIT_VIEWS"], key_func=lambda: f"{client_identity()}:{request.path}"
)


def init_security(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # Callables, because the limiter outlives one app (tests make many).
    app.config["RATELIMIT_APPLICATION"] = lambda: current_app.config["RATE_LIMIT"]
    # Probes from load balancers and scrapers are never limited.
    app.config["RATELIMIT_APPLICATION_EXEMPT_WHEN"] = lambda: request.path in UNLIMITED
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE"]
    app.config["RATELIMIT_ENABLED"] = app.config["RATE_LIMIT_ENABLED"]

    # Registered before the limiter's own hook, so it runs after it (Flask runs
    # after_request hooks in reverse): Retry-After means something only on a 429.
    @app.after_request
    def _retry_after_only_when_limited(response):
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response
