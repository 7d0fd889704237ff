"""Starting the real service and the bare Flask app under gunicorn, and reading the real one's
start-up step timings (bench/timed_wsgi.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

from .paths import ROOT
from .procs import Server, children, free_port

HIGH_LIMIT = "1000000000 per minute"


def worker_count(args) -> int:
    if args.workers:
        return args.workers
    return int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1))  # as gunicorn.conf.py


def _real_env(tmp: Path, port: int, data_dir: Path, workers: int, keys: str) -> dict[str, str]:
    metrics = tmp / "metrics-real"
    metrics.mkdir(exist_ok=True)
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), DATA_DIR=str(data_dir), API_KEYS=keys,
               RATE_LIMIT=HIGH_LIMIT, RATE_LIMIT_VIEWS=HIGH_LIMIT, RATE_LIMIT_WRITE=HIGH_LIMIT,
               PROMETHEUS_MULTIPROC_DIR=str(metrics), PYTHONUNBUFFERED="1")
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


def start_real(tmp: Path, data_dir: Path, args) -> tuple[Server, Path]:
    port = free_port()
    timings = tmp / f"timings-{port}.jsonl"
    env = dict(_real_env(tmp, port, data_dir, args.workers, "bench-key"), BENCH_TIMINGS=str(timings))
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "bench.timed_wsgi:app"]
    return Server("real", command, env, ROOT, tmp / f"real-{port}.log", port), timings


def start_as_make_run(tmp: Path, data_dir: Path, workers: int, keys: str) -> Server:
    """The service started the way `make run` starts it: `python -m service.upgrade`, then
    gunicorn -c gunicorn.conf.py (service.wsgi:app), so the time to /readyz includes both. The
    shell execs gunicorn: the pid is its master's."""
    port = free_port()
    upgrade, gunicorn = (f"{shlex.quote(sys.executable)} -m {m}" for m in ("service.upgrade", "gunicorn"))
    command = ["sh", "-c", f"{upgrade} && exec {gunicorn} -c gunicorn.conf.py"]
    env = _real_env(tmp, port, data_dir, workers, keys)
    return Server("real", command, env, ROOT, tmp / f"make-run-{port}.log", port)


def start_bare(tmp: Path, responses: Path, workers: int) -> Server:
    port = free_port()
    env = dict(os.environ, BENCH_BARE_RESPONSES=str(responses), PYTHONUNBUFFERED="1")
    # gunicorn.conf.py's settings less the service's hooks (its own config file, or gunicorn would
    # pick up ./gunicorn.conf.py): sync workers, preload, same timeouts, no access log.
    conf = tmp / "bare.conf.py"
    conf.write_text(
        f"bind = '127.0.0.1:{port}'\nworkers = {workers}\nworker_class = 'sync'\npreload_app = True\n"
        "timeout = 30\ngraceful_timeout = 10\naccesslog = None\nerrorlog = '-'\nloglevel = 'info'\n",
        encoding="utf-8")
    command = [sys.executable, "-m", "gunicorn", "-c", str(conf), "bench.bare_app:app"]
    return Server("bare", command, env, ROOT, tmp / f"bare-{port}.log", port)


def wait_workers(server: Server, expected: int, timeout: float = 15.0) -> list[int]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = children(server.pid)
        if len(pids) >= expected:
            return pids
        time.sleep(0.2)
    return children(server.pid)


INDEX_STEPS = ("store.open", "search.build", "search.save", "search.load", "related.build", "related.save",
               "related.load")


def read_timings(path: Path, started: float) -> dict:
    """Steps finished in the master (bench/timed_wsgi.py), and the one still running."""
    steps: dict[str, float] = {}
    cpu: dict[str, float] = {}
    running: dict[str, float] = {}
    marks: dict[str, float] = {}
    rss: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                name = event["step"]
                if name.endswith(":start"):
                    running[name[:-6]] = event["at"]
                elif "seconds" in event:
                    steps.setdefault(name, event["seconds"])
                    if "cpu_seconds" in event:
                        cpu.setdefault(name, event["cpu_seconds"])
                    running.pop(name, None)
                marks.setdefault(name, event["at"])
                if "rss_mb" in event:
                    rss.setdefault(name, event["rss_mb"])
    out = {"steps": steps, "cpu": cpu, "running": {k: time.time() - v for k, v in running.items()}, "rss": rss}
    if "wsgi:start" in marks:
        out["boot_to_app_import"] = marks["wsgi:start"] - started
    if "wsgi:loaded" in marks:
        out["app_loaded_at"] = marks["wsgi:loaded"] - started
        out["imports_and_other"] = steps["wsgi:loaded"] - sum(steps.get(k, 0) for k in INDEX_STEPS)
    return out
