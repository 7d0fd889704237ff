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

This module reads the options and runs each size; the parts live beside it: corpus_cache.py (the
corpus), servers.py (starting both servers, start-up timings), workload.py (the paths, the captured
answers, the wrk runs), profiling.py (--profile) and report.py (the Markdown).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from .corpus_cache import prepare_store
from .load import BenchError, ensure_wrk
from .procs import tree_memory
from .profiling import profile
from .report import machine, render, write_results
from .servers import read_timings, start_real, wait_workers, worker_count
from .workload import ENDPOINTS, against_bare, endpoint_paths

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# -- one size ----------------------------------------------------------------------


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
    real = None
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
        endpoints = [e for e in args.endpoints.split(",") if e]
        result.update(against_bare(wrk, real, paths, tmp, args, result["workers"] or workers, endpoints))
        result["memory_after_load"] = tree_memory(real.pid)
        if args.profile and size == args.profile_size:
            result["profiles"] = profile(wrk, real, paths, tmp, args)
        return result
    finally:
        if real is not None:
            real.stop()


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
