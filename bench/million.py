"""`make bench-1m`: every figure of the million-article targets in one run, on one store, with
bare Flask and tantivy measured in the same run.

    python -m bench.million [--size 1000000] [--soak-minutes 5] [--workers 3] [--first-start-timeout 1800]
                            [--restart-timeout 300] [--inprocess-timeout 3600] [--queries 300] ...

Steps, in this order, on the synthetic store of --size articles (bench/corpus_cache.py, cached in
var/bench):

1. first start on the new data directory (the production gunicorn.conf.py, bench.timed_wsgi:app):
   builds and saves the indexes; wall time to /readyz 200 and the CPU seconds of the master and
   the build processes it forked (how many cores the build kept busy); then stopped;
2. in a process of its own (bench/store_inprocess.py): the store and indexes opened as the
   service opens them, the search scorer with the answer cache bypassed against tantivy over the
   same articles, and related lookups;
3. restart as `make run` does it (`python -m service.upgrade`, then gunicorn -c
   gunicorn.conf.py) on the saved state: from process start to /readyz 200. This server, with
   --workers workers, serves every step after;
4. --queries searches no cache has seen, each once, through HTTP (bench/http_search.py);
5. article GET against bare Flask serving the same bytes under wrk (bench/workload.py);
6. the soak's mixed load (bench/soak.py run_load) for --soak-minutes: reads p50/p99, PSS over
   time, then the PSS of every serving process.

Each step's figures go into `result` as they are measured, and the section of bench/RESULTS.md
(bench/million_report.py, between its own markers) is rewritten after every step, so a step that
fails or times out leaves what the earlier ones measured.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import http_search, soak, store_inprocess
from .corpus import COMMON_QUERIES, QUERIES
from .corpus_cache import corpus_key, prepare_store
from .load import BenchError, ensure_wrk
from .million_report import marks, render
from .paths import CACHE
from .procs import cpu_seconds, in_child, tree_memory
from .report import machine, write_section
from .servers import read_timings, start_as_make_run, start_real, wait_workers
from .workload import SEARCH_QUERIES, against_bare, endpoint_paths

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _step(result: dict, name: str, run, args, begun: float) -> object | None:
    """run() into result[name]; a failure is recorded there and the run goes on. The section is
    rewritten either way."""
    print(f"[{name}] ...", flush=True)
    started = time.time()
    try:
        value = run()
        result[name] = value
        return value
    except (BenchError, RuntimeError, TimeoutError, OSError, ValueError) as exc:
        result[name] = {"failed": str(exc).splitlines()[0] if str(exc) else repr(exc)}
        print(f"[{name}] failed: {exc}\n{traceback.format_exc()[-1200:]}", file=sys.stderr, flush=True)
        return None
    finally:
        result.setdefault("step_seconds", {})[name] = time.time() - started
        print(f"[{name}] {_short(result.get(name))} ({time.time() - started:.0f} s)", flush=True)
        _write(result, args, begun)


def _short(value, within: str = "") -> str:
    """The figures of a step's result on one line (nested ones named by their path)."""
    if not isinstance(value, dict):
        return str(value)[:300]
    parts = []
    for k, v in value.items():
        if isinstance(v, dict) and k not in ("timings", "memory", "memory_after", "bare_memory", "response_bytes"):
            parts.append(_short(v, f"{within}{k}."))
        elif isinstance(v, float):
            parts.append(f"{within}{k}={v:.2f}")
        elif not isinstance(v, dict | list):
            parts.append(f"{within}{k}={v}")
    return ", ".join(p for p in parts if p)[:600]


def _write(result: dict, args, begun: float) -> None:
    if args.results:
        write_section(args.results, *marks(args.size), render(result, args, result["machine"], time.time() - begun))


def _start(server, timeout: float) -> dict:
    ready = server.wait_ready("/readyz", timeout)
    out = {"seconds": ready, "timeout": timeout, "cpu_seconds": cpu_seconds(server.pid)}
    if ready is None:  # a failure, with what was measured until then
        out["failed"] = ("died" if not server.alive() else "timed out") + f" after {time.time() - server.started:.0f} s"
        out["log_tail"] = server.log_tail()
        out["memory"] = tree_memory(server.pid)
    return out


def _first_start(tmp: Path, data_dir: Path, args) -> dict:
    real, timings = start_real(tmp, data_dir, args)
    try:
        out = _start(real, args.first_start_timeout)
        out["timings"] = read_timings(timings, real.started)
        if out["seconds"]:
            out["cores_used"] = out["cpu_seconds"] / out["seconds"]
        return out
    finally:
        real.stop()


def _soak(real, args) -> dict:
    load = argparse.Namespace(rps=args.soak_rps, threads=args.soak_threads, sample_seconds=args.sample_seconds)
    duration = args.soak_minutes * 60
    warmup = args.soak_warmup if args.soak_warmup is not None else min(60.0, duration / 4)
    out = soak.run_load(f"http://127.0.0.1:{real.port}", real.pid, load, duration, warmup)
    stats = out.pop("stats")
    out["error_samples"] = stats.errors[:3] + stats.unexpected_4xx[:3]
    out["warmup"] = warmup
    out["memory_after"] = tree_memory(real.pid)
    return out


def bench(result: dict, args, tmp: Path, wrk: str, begun: float) -> None:
    data_dir = tmp / "data"
    print(f"corpus of {args.size:,} articles ...", flush=True)
    store = prepare_store(data_dir, args.size, args.seed, not args.no_cache)
    result["corpus"] = {k: v for k, v in store.items() if k not in ("sample_ids", "sample_titles")}
    print(f"  {_short(result['corpus'])}", flush=True)
    if not (_step(result, "first_start", lambda: _first_start(tmp, data_dir, args), args, begun) or {}).get("seconds"):
        return  # nothing was saved to restart from
    tokens = CACHE / f"search-tokens-store-{args.size}-{args.seed}-{corpus_key(args.size, args.seed)}.pickle"
    _step(result, "inprocess", lambda: in_child(store_inprocess.measure, str(data_dir), str(tokens), args.repeat,
                                                timeout=args.inprocess_timeout), args, begun)
    real = start_as_make_run(tmp, data_dir, args.workers, soak.KEY)
    try:
        if not (_step(result, "restart", lambda: _start(real, args.restart_timeout), args, begun) or {}).get("seconds"):
            return
        result["workers"] = len(wait_workers(real, args.workers))
        time.sleep(1)
        result["memory_start"] = tree_memory(real.pid)
        seen = set(QUERIES) | set(COMMON_QUERIES) | set(SEARCH_QUERIES) | set(soak.QUERIES)
        queries = http_search.distinct_queries(store["sample_titles"], args.queries, seen)
        _step(result, "http_search", lambda: http_search.run(real, queries), args, begun)
        paths = endpoint_paths(store["sample_ids"])
        _step(result, "article", lambda: against_bare(wrk, real, paths, tmp, args, args.workers, ["article"]),
              args, begun)
        _step(result, "soak", lambda: _soak(real, args), args, begun)
    finally:
        real.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.million", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="articles in the store")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="generate the corpus even if var/bench has it")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (as the soak's)")
    parser.add_argument("--first-start-timeout", type=float, default=1800, help="seconds to wait for /readyz")
    parser.add_argument("--restart-timeout", type=float, default=300, help="seconds to wait for /readyz")
    parser.add_argument("--inprocess-timeout", type=float, default=3600,
                        help="seconds for the in-process step (tokenising for tantivy included)")
    parser.add_argument("--repeat", type=int, default=10, help="passes over the in-process query mix")
    parser.add_argument("--queries", type=int, default=300, help="distinct never-seen searches through HTTP")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating real/bare wrk pairs")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--soak-minutes", type=float, default=5)
    parser.add_argument("--soak-rps", type=float, default=108, help="cap on the soak's total requests per second")
    parser.add_argument("--soak-threads", type=int, default=4)
    parser.add_argument("--soak-warmup", type=float, default=None, help="seconds; default min(60, a quarter)")
    parser.add_argument("--sample-seconds", type=float, default=10, help="between the soak's memory samples")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file to put the section in")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    begun = time.time()

    def _stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _stop)
    try:
        wrk = ensure_wrk()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    result: dict = {"size": args.size, "machine": machine()}
    try:
        with tempfile.TemporaryDirectory(prefix="yibao-bench-1m-") as tmp:
            bench(result, args, Path(tmp), wrk, begun)
    except KeyboardInterrupt:
        result["interrupted"] = True
        print("bench: interrupted; the servers it started are stopped", file=sys.stderr)
    result["elapsed"] = time.time() - begun
    _write(result, args, begun)
    text = render(result, args, result["machine"], time.time() - begun)
    print()
    print(text)
    print(f"written to {args.results}")
    failed = any(isinstance(v, dict) and "failed" in v for v in result.values())
    return 130 if result.get("interrupted") else (1 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
