"""py-spy on the real service's workers while wrk drives one endpoint, and the summary of where the
request time went."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .load import lua_script
from .paths import CACHE
from .procs import Server


def find_py_spy() -> str | None:
    tools = CACHE / "tools" / "bin" / "py-spy"
    for candidate in (shutil.which("py-spy"), Path(sys.executable).parent / "py-spy", tools):
        if candidate and Path(candidate).exists():
            return str(candidate)
    print("py-spy missing: pip install --target var/bench/tools py-spy", flush=True)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(CACHE / "tools"),
                           "py-spy"], capture_output=True, text=True, timeout=300, check=False)
    found = CACHE / "tools" / "bin" / "py-spy"
    if done.returncode != 0 or not found.exists():
        print(f"py-spy could not be installed: {done.stderr.strip()[-300:]}", flush=True)
        return None
    return str(found)


def profile(wrk: str, real: Server, paths: dict[str, list[str]], tmp: Path, args) -> dict:
    """py-spy on every worker while wrk drives one endpoint; collapsed stacks + SVG in var/bench/profiles."""
    spy = find_py_spy()
    if not spy:
        return {"error": "py-spy not available"}
    out_dir = CACHE / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    seconds = 10
    for name in [e for e in args.profile_endpoints.split(",") if e]:
        script = lua_script(paths[name], tmp / f"profile-{name}.lua")
        load = subprocess.Popen([wrk, "-t1", f"-c{args.connections}", f"-d{seconds + 4}s", "-s", str(script),
                                 f"http://127.0.0.1:{real.port}"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(1.5)
            raw, svg = out_dir / f"{name}.txt", out_dir / f"{name}.svg"
            common = ["record", "-p", str(real.pid), "--subprocesses", "-d", str(seconds), "-r", "100",
                      "--nonblocking"]
            spies = [subprocess.Popen([spy, *common, "--format", "raw", "-o", str(raw)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True),
                     subprocess.Popen([spy, *common, "-o", str(svg)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)]
            for p in spies:
                try:
                    p.wait(timeout=seconds + 60)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            found[name] = summarise_profile(raw) if raw.exists() else {"error": spies[0].stderr.read().decode()[-300:]}
            found[name]["files"] = [str(raw), str(svg)]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(load.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                load.wait(timeout=10)
    return found


# (label, substrings of a py-spy frame "Function (package/file.py:line)"); a sample counts for a group
# when any frame of its stack matches. Shares are of the samples inside gunicorn's handle_request.
PROFILE_GROUPS = [
    ("Flask app (all of wsgi_app)", ("Flask.wsgi_app (",)),
    ("the view (Resource.dispatch_request)", ("Resource.dispatch_request (",)),
    ("rate limits (limits)", ("limits/",)),
    ("JSON access log", ("AccessLog.write (",)),
    ("our request hooks (before/after)", ("_before (service/", "_after (service/", "ConstantHeaders.")),
    ("prometheus_client (metrics files)", ("prometheus_client/",)),
    ("store.refresh (journal check per request)", ("Store.refresh (",)),
    ("event counters (views/searches)", ("EventCounter.",)),
    ("marshmallow (query args, dump)", ("marshmallow/",)),
    ("ETag", ("etag",)),
    ("search index: query", ("SearchIndex.search (",)),
    ("  search: highlighting", ("search/highlight.py",)),
    ("  search: facets", ("search/postings.py",)),
    ("suggest", ("search/suggest.py",)),
    ("related", ("recommend/",)),
    ("catalog (list, filters, sort)", ("catalog.py",)),
    ("JSON encoding (json module; orjson is C, not seen)", ("json/encoder.py",)),
    ("flask-cors", ("flask_cors/",)),
    ("writing the response (gunicorn)", ("gunicorn/http/wsgi.py",)),
    ("reading the request (gunicorn parser)", ("gunicorn/http/parser.py", "gunicorn/http/message.py")),
]


def _frame_name(frame: str) -> str:
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0]})" if where else name


def summarise_profile(path: Path) -> dict:
    """Shares of request-handling samples per group, and the hottest functions (self and inclusive)."""
    total = requests = 0
    groups = dict.fromkeys((g for g, _ in PROFILE_GROUPS), 0)
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        if "handle_request (" not in stack:
            continue  # the master, background flushers, timer threads waiting
        requests += n
        lowered = stack.lower()
        for group, needles in PROFILE_GROUPS:
            if any(needle.lower() in lowered for needle in needles):
                groups[group] += n
        frames = stack.split(";")
        leaf = _frame_name(frames[-1])
        own[leaf] = own.get(leaf, 0) + n
        for name in {_frame_name(f) for f in frames[frames.index(next(f for f in frames if "Flask.wsgi_app (" in f))
                                                           if any("Flask.wsgi_app (" in f for f in frames) else 0:]}:
            inclusive[name] = inclusive.get(name, 0) + n

    def top(d: dict[str, int], k: int) -> list[tuple[str, float]]:
        return [(name, v / requests) for name, v in sorted(d.items(), key=lambda kv: -kv[1])[:k]] if requests else []

    return {"samples": total, "request_samples": requests,
            "groups": {g: v / requests for g, v in groups.items()} if requests else {},
            "self": top(own, 15), "inclusive": top(inclusive, 40)}
