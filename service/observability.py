"""Metrics (Prometheus text at /metrics) and JSON access logs.

Under gunicorn every worker is a process, so prometheus_client runs in its
multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set up by gunicorn.conf.py) and
/metrics adds up what all workers recorded.
"""

from __future__ import annotations

import logging
import os
import sys
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

access_log = logging.getLogger("service.access")


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


ACCESS_FIELDS = ("request_id", "method", "path", "route", "status", "duration_ms", "remote", "bytes")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, message and the access fields.

    orjson rather than a generic JSON formatter: this runs on every request,
    and the fields are known.
    """

    def format(self, record: logging.LogRecord) -> str:
        doc = {"timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
               "level": record.levelname, "message": record.getMessage()}
        fields = record.__dict__
        for name in ACCESS_FIELDS:
            if name in fields:
                doc[name] = fields[name]
        return orjson.dumps(doc).decode()


def init_observability(app: Flask) -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLineFormatter())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


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
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("request", extra={
            "request_id": g.get("request_id"), "method": method, "path": request.path,
            "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2),
            "remote": request.remote_addr, "bytes": response.calculate_content_length(),
        })
