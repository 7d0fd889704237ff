"""Metrics (Prometheus text at /metrics) and JSON access logs.

Under gunicorn every worker is a process, so prometheus_client runs in its
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py) and
/metrics adds up what all workers recorded.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import orjson
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds", "Time to answer a request", ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
JOURNAL_BYTES = Gauge("store_journal_bytes", "Size of the change journal", multiprocess_mode="max")
REPLAYED = Counter("store_replayed_changes_total", "Journal changes a worker replayed from other workers")
LAG = Histogram("store_lag_changes", "Changes a worker was behind when a request arrived",
                buckets=(0, 1, 2, 5, 10, 50, 100, 1000))
INDEX_SIZE = Gauge("index_entries", "Entries in a derived index", ["index"], multiprocess_mode="max")



def metrics_response(sizes: dict[str, int], journal_bytes: int) -> Response:
    """The Prometheus text; gauges are set from this worker's view first."""
    JOURNAL_BYTES.set(journal_bytes)
    for name, size in sizes.items():
        INDEX_SIZE.labels(name).set(size)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def observe_refresh(replayed: int) -> None:
    LAG.observe(replayed)
    if replayed:
        REPLAYED.inc(replayed)


class AccessLog:
    """One JSON line per request on stderr.

    Not the logging module: this runs on every request, and a record, a
    formatter and a stream handler cost more than the rest of a cached GET.
    Each line is one write() to the file descriptor, so lines from several
    workers sharing stderr never interleave (a pipe keeps writes under 4 KiB
    whole; a file opened for appending keeps every write whole).
    """

    def __init__(self, fd: int = 2):
        self.fd = fd
        self.enabled = True

    def write(self, fields: dict) -> None:
        if not self.enabled:
            return
        line = orjson.dumps({"timestamp": datetime.now(UTC), "level": "INFO", "message": "request", **fields})
        try:
            os.write(self.fd, line + b"\n")
        except OSError:
            pass  # a closed or full stderr must not fail the request it describes


access_log = AccessLog()


def init_observability(app: Flask) -> None:
    access_log.enabled = app.config["ACCESS_LOG"]


def start_timer() -> None:
    g.started = time.perf_counter()


def record(response: Response) -> None:
    """Count and time the request, and log it as one JSON line."""
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    rule = request.url_rule
    route = rule.rule if rule else "unmatched"
    method = request.method
    status = response.status_code
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(elapsed)
    access_log.write({
        "request_id": g.get("request_id"), "method": method, "path": request.path,
        "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2),
        "remote": request.remote_addr, "bytes": response.calculate_content_length(),
    })
