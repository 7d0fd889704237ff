"""`make bench`: the real service against bare Flask under wrk, plus start-up, memory and build times.

    python -m bench [--sizes 10000,100000] [--load-sizes 10000] [--duration 5] [--rounds 2]
                    [--workers N] [--startup-timeout 360] [--budget 570] [--profile]

For each size: write the synthetic corpus (bench/store_corpus.py) as DATA_DIR/snapshot.json in a
temporary directory, start the real service with the production gunicorn.conf.py (app
bench.timed_wsgi:app = service.wsgi:app with its start-up steps timed), time it to /readyz 200 and
read the RSS/PSS of its master and workers. For the sizes in --load-sizes also: capture the real
responses of every benchmarked path, start bare Flask (bench/bare_app.py) serving those bytes
under gunicorn with the same worker count and sync workers, and run wrk against both in
alternating pairs (real, bare, real, bare ...). --budget caps the whole run: a start-up that would
overrun it is given up and reported as "> N s (timed out)".

Writes bench/RESULTS.md (or --results) and prints the same Markdown. Nothing under service/ is changed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import pickle
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from . import corpus, store_corpus
from .load import BenchError, WrkResult, ensure_wrk, lua_script, run_wrk
from .procs import Server, children, free_port, tree_memory

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"  # git-ignored: corpus cache, profiles, tools
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
NOTES_MARK = "<!-- notes: everything below this line is kept when the bench rewrites this file -->"

ENDPOINTS = ("article", "list", "topics", "search", "related", "hot", "suggest")
TARGETS = {"article": 0.8, "list": 0.6, "topics": 0.6, "related": 0.6, "hot": 0.6, "suggest": 0.6, "search": 0.4}
COLD_START_TARGET_S = 20.0
WORKERS_RSS_TARGET_MB = 600.0
TARGET_SIZE = 100_000  # the size the start-up and memory targets are set for
HIGH_LIMIT = "1000000000 per minute"

SEARCH_QUERIES = list(corpus.QUERIES) + ["帕金森", "天河区", "骨折 报销", "医保局电话", "抚州临川区医保"]
SUGGEST_PREFIXES = ["医", "医保", "医保卡", "医保报", "广州", "异地", "新生儿", "灵活就业", "惠民", "职工医保个",
                    "2025", "yib", "shebao", "门诊统", "生育", "抚州", "佛山医保", "社保卡激", "家庭共", "退休"]


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def endpoint_paths(article_ids: list[str]) -> dict[str, list[str]]:
    return {
        "article": [f"/api/v1/articles/{i}" for i in article_ids],
        "list": ["/api/v1/articles?per_page=20"],
        "topics": ["/api/v1/topics"],
        "search": [f"/api/v1/search?q={_q(q)}" for q in SEARCH_QUERIES],
        "related": [f"/api/v1/articles/{i}/related" for i in article_ids],
        "hot": ["/api/v1/search/hot"],
        "suggest": [f"/api/v1/search/suggest?q={_q(p)}" for p in SUGGEST_PREFIXES],
    }


# -- the corpus ----------------------------------------------------------------


def _corpus_key(size: int, seed: int) -> str:
    h = hashlib.sha256(f"{size}:{seed}".encode())
    for path in (Path(corpus.__file__), Path(store_corpus.__file__), ROOT / "seeds" / "articles.json",
                 ROOT / "seeds" / "topics.json"):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def prepare_store(data_dir: Path, size: int, seed: int, use_cache: bool) -> dict:
    """snapshot.json in data_dir (from the cache when the same corpus was made before);
    returns facts about it and a sample of published article ids."""
    import orjson

    started = time.perf_counter()
    cached = CACHE / f"snapshot-{size}-{seed}-{_corpus_key(size, seed)}.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    if use_cache and cached.exists():
        shutil.copyfile(cached, data_dir / "snapshot.json")
        from_cache = True
    else:
        store_corpus.write(data_dir, size, seed)
        from_cache = False
        if use_cache:
            CACHE.mkdir(parents=True, exist_ok=True)
            for old in CACHE.glob(f"snapshot-{size}-{seed}-*.json"):
                old.unlink()
            shutil.copyfile(data_dir / "snapshot.json", cached)
    raw = (data_dir / "snapshot.json").read_bytes()
    doc = orjson.loads(raw)
    published = [a["id"] for a in doc["articles"] if a["status"] == "published"]
    info = {
        "articles": len(doc["articles"]), "topics": len(doc["topics"]), "snapshot_mb": len(raw) / 2**20,
        "seconds": time.perf_counter() - started, "from_cache": from_cache,
        # the first seed pages (the frontend's demo pages) and a deterministic sample of the rest
        "sample_ids": published[:5] + random.Random(11).sample(published[5:], min(195, len(published) - 5)),
    }
    del doc, raw
    return info


# -- servers ---------------------------------------------------------------------


def worker_count(args) -> int:
    if args.workers:
        return args.workers
    return int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) * 2 + 1))  # as gunicorn.conf.py


def start_real(tmp: Path, data_dir: Path, args) -> tuple[Server, Path]:
    port = free_port()
    metrics = tmp / "metrics-real"
    metrics.mkdir(exist_ok=True)
    timings = tmp / f"timings-{port}.jsonl"
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), DATA_DIR=str(data_dir), API_KEYS="bench-key",
               RATE_LIMIT=HIGH_LIMIT, RATE_LIMIT_VIEWS=HIGH_LIMIT, RATE_LIMIT_WRITE=HIGH_LIMIT,
               PROMETHEUS_MULTIPROC_DIR=str(metrics), BENCH_TIMINGS=str(timings), PYTHONUNBUFFERED="1")
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "bench.timed_wsgi:app"]
    return Server("real", command, env, ROOT, tmp / f"real-{port}.log", port), timings


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


# -- one size ----------------------------------------------------------------------


def capture(server: Server, paths: dict[str, list[str]]) -> tuple[dict, dict]:
    """Warm the service (searches first, so 大家都在搜 has entries), then record every response."""
    for target in paths["search"] * 3:
        server.get(target)
    time.sleep(2.5)  # the search counters flush every 2 s; 大家都在搜 is read from them
    responses: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
    sizes: dict[str, float] = {}
    problems = []
    skip = {"date", "server", "content-length", "connection", "transfer-encoding", "x-request-id"}
    for name, targets in paths.items():
        total = 0
        for target in targets:
            status, headers, body = server.get(target)
            if status != 200:
                problems.append(f"{name}: {target} answered {status}: {body[:200]!r}")
            responses[target] = (status, [(k, v) for k, v in headers if k.lower() not in skip], body)
            total += len(body)
        sizes[name] = total / len(targets)
    if problems:
        raise BenchError("the service did not answer 200 to every benchmarked path:\n" + "\n".join(problems[:10]))
    status, headers, body = server.get("/readyz")
    responses["/readyz"] = (status, [(k, v) for k, v in headers if k.lower() not in skip], body)
    return responses, sizes


def _median(results: list[WrkResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in results)


def drive(wrk: str, real: Server, bare: Server, paths: dict[str, list[str]], tmp: Path, args,
          endpoints: list[str]) -> dict:
    out = {}
    for name in endpoints:
        script = lua_script(paths[name], tmp / f"{name}.lua")
        for server in (real, bare):  # warm-up, not counted
            run_wrk(wrk, f"http://127.0.0.1:{server.port}", script, 1, args.connections)
        runs: dict[str, list[WrkResult]] = {"real": [], "bare": []}
        for _ in range(args.rounds):
            for server in (real, bare):
                if not server.alive():
                    raise BenchError(f"the {server.name} server died:\n{server.log_tail()}")
                runs[server.name].append(
                    run_wrk(wrk, f"http://127.0.0.1:{server.port}", script, args.duration, args.connections))
        row = {}
        for side, results in runs.items():
            row[side] = {"rps": _median(results, "rps"), "p50": _median(results, "p50_ms"),
                         "p99": _median(results, "p99_ms"), "rps_runs": [r.rps for r in results],
                         "non_2xx": sum(r.non_2xx for r in results), "errors": sum(r.errors for r in results)}
        row["ratio"] = row["real"]["rps"] / row["bare"]["rps"] if row["bare"]["rps"] else 0.0
        out[name] = row
        print(f"  {name:8s} real {row['real']['rps']:8.1f} req/s  bare {row['bare']['rps']:8.1f} req/s  "
              f"ratio {row['ratio']:.2f}", flush=True)
    return out


def bench_size(result: dict, load: bool, wrk: str | None, args, tmp_root: Path, deadline: float) -> dict:
    """Fills `result` as it goes, so what was measured before a failure is still reported."""
    size = result["size"]
    result["load"] = load
    tmp = tmp_root / f"n{size}"
    data_dir = tmp / "data"
    tmp.mkdir()
    print(f"[{size}] corpus ...", flush=True)
    store = prepare_store(data_dir, size, args.seed, not args.no_cache)
    result["corpus"] = {k: v for k, v in store.items() if k != "sample_ids"}
    print(f"[{size}] {store['articles']} articles, {store['snapshot_mb']:.0f} MB snapshot "
          f"({'cache' if store['from_cache'] else 'generated'}, {store['seconds']:.1f} s)", flush=True)
    workers = worker_count(args)
    after_start = len(ENDPOINTS) * args.rounds * 2 * (args.duration + 1.5) + 40 if load else 15
    timeout = min(args.startup_timeout, deadline - time.time() - after_start)
    if timeout < 10:
        result["skipped"] = "not enough of the time budget left"
        print(f"[{size}] skipped: {result['skipped']}", flush=True)
        return result
    real, bare = None, None
    try:
        # First start on a fresh data directory: builds the indexes and saves them beside the
        # snapshot. Then a restart, as after a deploy or a crash: loads them. That one is timed as
        # the cold start, and serves the load runs.
        for attempt in ("first_start", "restart"):
            timeout = min(args.startup_timeout, deadline - time.time() - after_start)
            real, timings_path = start_real(tmp, data_dir, args)
            print(f"[{size}] {attempt.replace('_', ' ')} of the service (gives up after {timeout:.0f} s) ...",
                  flush=True)
            ready = real.wait_ready("/readyz", timeout)
            result[f"{attempt}_timings"] = read_timings(timings_path, real.started)
            result["startup_timeout"] = timeout
            result[attempt] = ready
            if ready is None:
                result["timings"] = result[f"{attempt}_timings"]
                result["memory_at_timeout"] = tree_memory(real.pid)
                why = "died" if not real.alive() else "timed out"
                result["cold_start_note"] = why
                print(f"[{size}] {attempt} > {timeout:.0f} s ({why})", flush=True)
                if not real.alive():
                    result["log_tail"] = real.log_tail()
                return result
            print(f"[{size}] {attempt} ready in {ready:.1f} s", flush=True)
            if attempt == "first_start":
                real.stop()
        result["cold_start"] = result["restart"]
        result["timings"] = result["restart_timings"]
        result["workers"] = len(wait_workers(real, workers))
        time.sleep(1)
        result["memory_start"] = tree_memory(real.pid)
        if not load:
            return result
        paths = endpoint_paths(store["sample_ids"])
        responses, sizes = capture(real, paths)
        result["response_bytes"] = sizes
        pickled = tmp / "responses.pickle"
        pickled.write_bytes(pickle.dumps(responses))
        bare = start_bare(tmp, pickled, result["workers"] or workers)
        if bare.wait_ready("/readyz", 60) is None:
            raise BenchError(f"bare Flask did not start:\n{bare.log_tail()}")
        wait_workers(bare, workers)
        result["bare_memory"] = tree_memory(bare.pid)
        endpoints = [e for e in args.endpoints.split(",") if e]
        result["endpoints"] = drive(wrk, real, bare, paths, tmp, args, endpoints)
        result["memory_after_load"] = tree_memory(real.pid)
        if args.profile and size == args.profile_size:
            result["profiles"] = profile(wrk, real, paths, tmp, args)
        return result
    finally:
        for server in (bare, real):
            if server is not None:
                server.stop()


# -- profiling ------------------------------------------------------------------------


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


# -- the report ---------------------------------------------------------------------


def machine() -> dict:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    commit = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10, check=False).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        if dirty:
            commit += " (+ uncommitted changes)"
    wrk_version = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10,
                                     check=False).stdout.split("\n")[0].strip()
    return {"cores": os.cpu_count(), "cpu": model, "memory": memory, "commit": commit,
            "python": platform.python_version(), "kernel": platform.release(), "wrk": wrk_version,
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _mark(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**missed**")


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f} s"


def render(results: list[dict], args, info: dict, elapsed: float) -> str:
    lines = [
        "# Benchmark results", "",
        "Generated by `make bench` (`python -m bench`); see `bench/run.py` for the method.", "",
        f"- machine: {info['cores']} cores, {info['cpu']}, {info['memory']} RAM; Linux {info['kernel']}; "
        f"Python {info['python']}; {info['wrk']}",
        f"- date: {info['date']}; commit {info['commit']}",
        f"- run: sizes {args.sizes} (load at {args.load_sizes or 'none'}), gunicorn workers "
        f"{worker_count(args)} (sync), wrk -t1 -c{args.connections} --latency, {args.duration:g} s a run, "
        f"{args.rounds} alternating real/bare pairs per endpoint (medians shown); whole run {elapsed:.0f} s",
        "",
    ]
    lines += [f"- **{r['size']:,} articles: failed**: {r['failed']}" for r in results if r.get("failed")]
    lines += [""] if any(r.get("failed") for r in results) else []
    verdicts: list[tuple[str, str, str, str]] = []
    for r in results:
        if r.get("endpoints"):
            lines += [f"## Throughput at {r['size']:,} articles", "",
                      "| endpoint | service req/s | bare Flask req/s | ratio | target | | service p50 / p99 ms "
                      "| bare p50 / p99 ms | bytes | non-2xx / socket errors |",
                      "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
            for name, row in r["endpoints"].items():
                target = TARGETS.get(name)
                ok = row["ratio"] >= target if target else None
                rs, bs = row["real"], row["bare"]
                lines.append(
                    f"| {name} | {rs['rps']:.0f} | {bs['rps']:.0f} | {row['ratio']:.2f}× | ≥ {target}× | {_mark(ok)} "
                    f"| {rs['p50']:.1f} / {rs['p99']:.1f} | {bs['p50']:.1f} / {bs['p99']:.1f} "
                    f"| {r['response_bytes'].get(name, 0):,.0f} | {rs['non_2xx'] + bs['non_2xx']} / "
                    f"{rs['errors'] + bs['errors']} |")
                verdicts.append((f"{name} ≥ {target}× bare Flask at {r['size']:,}", f"{row['ratio']:.2f}×", _mark(ok),
                                 ""))
            lines.append("")
    lines += ["## Start-up, memory and build times", "",
              "| articles | snapshot | first start to /readyz 200 (builds, saves indexes) | search.build + save "
              "| related.build + save | cold start to /readyz 200 (restart, saved indexes) | store.open "
              "| search.load | related.load | imports, app, rest of open | fork → ready | master RSS "
              "| worker RSS each | workers RSS sum | all PSS |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: |"]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['size']:,} | | skipped: {r['skipped']} |" + " |" * 12)
            continue
        first_t, t = r.get("first_start_timings", {}), r.get("restart_timings", {})

        def step(name: str, t: dict) -> str:
            steps, running, cpu = t.get("steps", {}), t.get("running", {}), t.get("cpu", {})
            if name in steps:
                return f"{steps[name]:.1f} s (cpu {cpu.get(name, 0):.1f})"
            if name in running:
                return f"> {running[name]:.0f} s (unfinished)"
            return "—"

        def started(key: str, r: dict = r) -> str:
            if r.get(key) is not None:
                return f"{r[key]:.1f} s"
            if key == "restart" and r.get("first_start") is None:
                return "not reached"
            return f"> {r.get('startup_timeout', 0):.0f} s ({r.get('cold_start_note', 'timed out')})"

        cold = r.get("cold_start")
        cold_text = started("restart")
        loaded = t.get("app_loaded_at")
        fork = f"{cold - loaded:.1f} s" if cold is not None and loaded is not None else "—"
        mem = r.get("memory_after_load") or r.get("memory_start") or r.get("memory_at_timeout") or {}
        each = ", ".join(f"{x:.0f}" for x in mem.get("workers_rss", []))
        each = f"{each} MB" if each else "—"
        workers_sum = f"{mem['workers_rss_sum']:.0f} MB" if mem.get("workers_rss") else "—"
        other = t.get("imports_and_other")
        lines.append(
            f"| {r['size']:,} | {r['corpus']['snapshot_mb']:.0f} MB | {started('first_start')} "
            f"| {step('search.build', first_t)} + {step('search.save', first_t)} "
            f"| {step('related.build', first_t)} + {step('related.save', first_t)} | {cold_text} "
            f"| {step('store.open', t)} | {step('search.load', t)} | {step('related.load', t)} | {_s(other)} "
            f"| {fork} | {mem.get('master_rss', 0):.0f} MB | {each} | {workers_sum} "
            f"| {mem.get('total_pss', 0):.0f} MB |")
        if cold is not None:
            ok = cold <= COLD_START_TARGET_S
        elif r.get("cold_start_note") == "died" or r.get("startup_timeout", 0) > COLD_START_TARGET_S:
            ok = False  # died, or still not ready well past the target
        else:
            ok = None
        if r["size"] != TARGET_SIZE:
            continue  # the start-up and memory targets are for 100k; other sizes are for reference
        verdicts.append((f"cold start at {r['size']:,} ≤ {COLD_START_TARGET_S:.0f} s (a restart: indexes saved "
                         "by the first start are loaded)", cold_text, _mark(ok), ""))
        verdicts.append((f"first start at {r['size']:,} on a new data directory (builds and saves the indexes; "
                         "for reference)", started("first_start"), "", ""))
        if mem.get("workers_rss"):
            rss_ok = mem["workers_rss_sum"] <= WORKERS_RSS_TARGET_MB
            verdicts.append((f"all workers ≤ {WORKERS_RSS_TARGET_MB:.0f} MB RSS at {r['size']:,}",
                             f"{mem['workers_rss_sum']:.0f} MB (PSS of master + workers {mem['total_pss']:.0f} MB)",
                             _mark(rss_ok), ""))
        else:
            verdicts.append((f"all workers ≤ {WORKERS_RSS_TARGET_MB:.0f} MB RSS at {r['size']:,}",
                             f"no workers yet: the master alone held {mem.get('master_rss', 0):.0f} MB when the bench "
                             "gave up, and each forked worker maps those pages too",
                             _mark(None), ""))
    for r in results:
        for key, when in (("first_start_timings", "first start"), ("restart_timings", "restart")):
            rss = r.get(key, {}).get("rss", {})
            if rss:
                order = [("wsgi:start", "gunicorn + bench imports"),
                         ("store.open:start", "service imports + create_app"), ("store.open", "store.open"),
                         ("search.build", "search.build"), ("search.load", "search.load"),
                         ("related.build", "related.build"), ("related.load", "related.load"),
                         ("wsgi:loaded", "rest of open()")]
                seen = [(label, rss[k]) for k, label in order if k in rss]
                lines.append(f"- master RSS at {r['size']:,} ({when}) after each step: "
                             + ", ".join(f"{label} {v:.0f} MB" for label, v in seen))
    lines += ["", "Memory is read from /proc after the load runs when there were any (workers touch shared "
              "pages and copy them), else right after start; `all PSS` counts pages shared by the preloaded "
              "master and its forked workers once. Build times are wall (and CPU) seconds of each step in "
              "the gunicorn master, from `bench/timed_wsgi.py`.", ""]
    lines += ["## Targets", "", "| target | measured | |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {mark} |" for name, value, mark, _ in verdicts]
    for r in results:
        for name, prof in (r.get("profiles") or {}).items():
            if "groups" not in prof:
                continue
            lines += ["", f"## Profile: {name} at {r['size']:,} (py-spy on all workers, "
                      f"{prof['request_samples']} samples inside requests)", "",
                      "| time inside requests spent in | share |", "| --- | ---: |"]
            lines += [f"| {g} | {v:.0%} |" for g, v in prof["groups"].items() if v >= 0.005]
            lines += ["", "Hottest functions (self time): " + "; ".join(f"`{n}` {v:.0%}" for n, v in prof["self"][:8])]
    return "\n".join(lines) + "\n"


def write_results(path: Path, text: str) -> None:
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARK in old:
            notes = old[old.index(NOTES_MARK) + len(NOTES_MARK):]
    path.write_text(text + "\n" + NOTES_MARK + (notes or "\n"), encoding="utf-8")


# -- main ------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    return [int(s.replace("_", "").replace("k", "000")) for s in text.split(",") if s.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="corpus sizes (articles), comma-separated")
    parser.add_argument("--load-sizes", default="10000",
                        help="sizes that also get the wrk runs; the others: start-up, memory, build times only")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating real/bare pairs per endpoint")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: as gunicorn.conf.py)")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="which endpoints to drive")
    parser.add_argument("--startup-timeout", type=float, default=360, help="seconds to wait for /readyz")
    parser.add_argument("--budget", type=float, default=570,
                        help="seconds for the whole run; start-ups are given up to stay inside it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="generate the corpus even if var/bench has it")
    parser.add_argument("--profile", action="store_true", help="py-spy the workers under GET article and search")
    parser.add_argument("--profile-size", type=int, default=10000)
    parser.add_argument("--profile-endpoints", default="article,search")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the Markdown")
    args = parser.parse_args(argv)
    args.size_list = _sizes(args.sizes)
    args.load_list = set(_sizes(args.load_sizes))
    unknown = set(args.endpoints.split(",")) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    begun = time.time()
    deadline = begun + args.budget

    def _stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _stop)
    try:
        wrk = ensure_wrk() if args.load_list & set(args.size_list) else None
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
        for size in args.size_list:
            result: dict = {"size": size, "corpus": {"snapshot_mb": 0}}
            results.append(result)
            try:
                bench_size(result, size in args.load_list, wrk, args, Path(tmp), deadline)
            except BenchError as exc:
                print(f"bench: {size}: {exc}", file=sys.stderr)
                result["failed"] = str(exc).splitlines()[0]
                failed = True
            except KeyboardInterrupt:
                print("bench: interrupted; the servers it started are stopped", file=sys.stderr)
                return 130
    text = render(results, args, machine(), time.time() - begun)
    print()
    print(text)
    write_results(args.results, text)
    print(f"written to {args.results}")
    return 1 if failed else 0
