"""service.wsgi with its start-up timed: what `python -m bench` gives gunicorn instead of service.wsgi:app.

The production gunicorn.conf.py is used as it is; only the app path on the
command line differs. Before importing service.wsgi (which opens the store and
builds the indexes in the gunicorn master, preload_app), this wraps
Store.open and the indexes' build, save and load with perf_counter/process_time
and appends one JSON line per finished step to $BENCH_TIMINGS, so a start-up
that the bench gives up on still tells which steps finished and how long they
took, and the master's RSS after each. The wrappers add microseconds; nothing under service/ changes.
"""

from __future__ import annotations

import functools
import json
import os
import time

_OUT = os.environ.get("BENCH_TIMINGS")


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _emit(step: str, **fields) -> None:
    if not _OUT:
        return
    line = json.dumps({"step": step, "at": time.time(), "pid": os.getpid(), "rss_mb": _rss_mb(), **fields})
    with open(_OUT, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _timed(cls, name: str, step: str) -> None:
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _emit(step + ":start")
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            _emit(step, seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)

    setattr(cls, name, wrapper)


_emit("wsgi:start")
_started = time.perf_counter()

from service.domain.recommend.related import Related  # noqa: E402
from service.domain.search.index import SearchIndex  # noqa: E402
from service.domain.store.store import Store  # noqa: E402

_timed(Store, "open", "store.open")
_timed(SearchIndex, "build", "search.build")
_timed(SearchIndex, "save", "search.save")
_timed(SearchIndex, "load", "search.load")  # a classmethod: the wrapper gets the bound method
_timed(Related, "build", "related.build")
_timed(Related, "save", "related.save")
_timed(Related, "load", "related.load")

from service.wsgi import app  # noqa: E402

_emit("wsgi:loaded", seconds=time.perf_counter() - _started)

__all__ = ["app"]
