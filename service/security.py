"""Rate limits and security headers for a public, browser-facing API.

Limits count per client: the API key when one is sent, else the client
address. Every request counts against RATE_LIMIT; writes also count against
RATE_LIMIT_WRITE and page views against RATE_LIMIT_VIEWS (per article).

The counting is the `limits` library's fixed windows and storages, called
from one hook rather than through flask-limiter: the extension's per-request
bookkeeping was a third of the cost of a cheap GET. Counters live in memory
by default, so each gunicorn worker counts on its own (the effective limit is
up to workers x the configured one); with REDIS_URL (or
RATE_LIMIT_STORAGE=redis://host:6379) one budget is shared by every worker
and machine, so X-RateLimit-Limit is what a client really gets.

A limit kept elsewhere fails open: while its storage cannot be reached,
requests are served uncounted (and without X-RateLimit-* headers), said in
the log once per outage, and the storage is tried again every couple of
seconds rather than on each request (domain/outages.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from functools import wraps

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage, Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from .domain.outages import Outage
from .redis_connection import connect

log = logging.getLogger("service.security")

UNLIMITED = frozenset(("/healthz", "/readyz", "/metrics"))

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("Referrer-Policy", "no-referrer"),
)


class WorkerMemoryStorage(Storage):
    """Fixed-window counters in this process's memory, on `limits`' public Storage base.

    Not `limits`' MemoryStorage: that starts a new threading.Timer whenever its
    last one has finished, which under load is nearly every request (and waits
    for the thread to start). A window here expires when it is next counted,
    and the other clients' stale counters are swept at most once a second,
    inline. Not registered for any scheme: memory:// is still `limits`' own.
    """

    STORAGE_SCHEME = None
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options):
        super().__init__(uri, **options)
        self.counts: dict[str, int] = {}
        self.expirations: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            self._sweep(now)
            if self.expirations.get(key, 0) <= now:  # a new window starts with this hit
                self.counts[key] = 0
                self.expirations[key] = now + expiry
            count = self.counts[key] = self.counts[key] + amount
        return count

    def get(self, key: str) -> int:
        with self._lock:
            return self.counts.get(key, 0) if self.expirations.get(key, 0) > time.time() else 0

    def get_expiry(self, key: str) -> float:
        return self.expirations.get(key, time.time())

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            cleared = len(self.counts)
            self.counts.clear()
            self.expirations.clear()
        return cleared

    def clear(self, key: str) -> None:
        with self._lock:
            self.counts.pop(key, None)
            self.expirations.pop(key, None)

    def _sweep(self, now: float) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
        for key in [key for key, expiry in self.expirations.items() if expiry <= now]:
            del self.counts[key], self.expirations[key]


def open_storage(uri: str, redis_url: str = "", prefix: str = "") -> Storage:
    """RATE_LIMIT_STORAGE; if it is the default (memory://) and REDIS_URL is set, that Redis."""
    if uri.startswith("memory://"):
        if redis_url:
            return RedisStorage(redis_url, connection_pool=connect(redis_url).connection_pool,
                                key_prefix=f"{prefix}limits")
        return WorkerMemoryStorage()
    return storage_from_string(uri)


class RateLimits:
    """Per-client counting against the configured limits."""

    def __init__(self, config: dict):
        self.enabled = bool(config["RATE_LIMIT_ENABLED"])
        self.storage = open_storage(config["RATE_LIMIT_STORAGE"], config["REDIS_URL"], config["REDIS_PREFIX"])
        # Failures of a storage elsewhere: served uncounted. The worker's own memory does not fail so.
        self.outages = () if isinstance(self.storage, WorkerMemoryStorage) else self.storage.base_exceptions
        self.outage = Outage(f"the rate limit storage ({type(self.storage).__name__})", log,
                             "rate limits fail open: requests are served uncounted until it is back")
        self.limits = {
            "requests": parse_many(config["RATE_LIMIT"]),
            "writes": parse_many(config["RATE_LIMIT_WRITE"]),
            "views": parse_many(config["RATE_LIMIT_VIEWS"]),
        }

    def hit(self, scope: str, identity: str, what: str) -> None:
        """Count one request against a scope's limits; 429 when one is used up.

        The tightest window seen in this request is kept for the
        X-RateLimit-* headers.
        """
        if not self.enabled or not self.outage.ready():
            return
        for item in self.limits[scope]:
            # What the fixed-window strategy's hit() and get_window_stats() do,
            # with one increment instead of an increment and two reads.
            key = item.key_for(scope, identity)
            try:
                count = self.storage.incr(key, item.get_expiry())
                reset = self.storage.get_expiry(key) if count > item.amount else 0.0
            except self.outages as exc:
                self.outage.failed(exc)
                return
            if self.outages:
                self.outage.succeeded()
            remaining = max(0, item.amount - count)
            tightest = g.get("rate_window")
            if tightest is None or remaining < tightest[1]:
                g.rate_window = (item, remaining, key)
            if count > item.amount:
                retry = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(f"Too many {what}: at most {item} per client. Try again in {retry} s.",
                                      retry_after=retry)

    def expiry(self, key: str) -> float | None:
        """When the window of `key` ends; None if its storage cannot say now."""
        try:
            return self.storage.get_expiry(key)
        except self.outages as exc:
            self.outage.failed(exc)
            return None


def client_identity() -> str:
    """Who a limit counts against: the key (by digest) or the address."""
    header = request.headers.get("Authorization", "")
    if g.get("role") and header:
        return "key:" + hashlib.sha256(header.encode()).hexdigest()[:16]
    return "ip:" + (request.remote_addr or "unknown")


def rate_limits() -> RateLimits:
    return current_app.extensions["rate_limits"]


def limit_requests() -> None:
    """The limit every request counts against; probes are never limited."""
    if request.path not in UNLIMITED:
        rate_limits().hit("requests", client_identity(), "requests")


def limit_writes() -> None:
    """One budget for all writes, counted once the key is known."""
    rate_limits().hit("writes", client_identity(), "writes")


def views_limit(f):
    """Page views are public: each client may count only so many, per article."""

    @wraps(f)
    def wrapper(*args, **kwargs):
        rate_limits().hit("views", f"{client_identity()}:{request.path}", "page views")
        return f(*args, **kwargs)

    return wrapper


def rate_limit_headers(response) -> None:
    window: tuple[RateLimitItem, int, str] | None = g.get("rate_window")
    if window is not None:
        item, remaining, key = window
        reset = rate_limits().expiry(key)
        if reset is None:
            return  # the storage went away since this request was counted: no headers rather than wrong ones
        response.headers.extend((("X-RateLimit-Limit", str(item.amount)), ("X-RateLimit-Remaining", str(remaining)),
                                 ("X-RateLimit-Reset", str(int(reset)))))


class ConstantHeaders:
    """WSGI middleware: headers that do not depend on the response, appended
    as it starts. Adding them to werkzeug's Headers object validates every
    value again on every request; here it is one list concatenation.

    `without_origin` are the CORS headers for a request with no Origin header
    (not a browser's cross-origin call), which are always the same; requests
    with an Origin, and preflights, get theirs from flask-cors per request.
    """

    def __init__(self, app, always: list[tuple[str, str]], without_origin: list[tuple[str, str]]):
        self.app = app
        self.always = list(always)
        self.plain = self.always + list(without_origin)

    def __call__(self, environ, start_response):
        cross_origin = "HTTP_ORIGIN" in environ or environ.get("REQUEST_METHOD") == "OPTIONS"
        extra = self.always if cross_origin else self.plain

        def start(status, headers, exc_info=None):
            return start_response(status, headers + extra, exc_info)

        return self.app(environ, start)


def init_security(app: Flask) -> None:
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["rate_limits"] = RateLimits(app.config)
