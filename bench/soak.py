"""Soak: the real service under a steady mixed load for N minutes, watching errors and memory.

Starts gunicorn (the production config, via tests/server.py) on a temporary DATA_DIR seeded
from seeds/, then a few client threads on 127.0.0.1 send a bounded mix of reads (article,
list, search, suggest, related, hot, trending) and writes (create/patch/delete articles with
a key, views, searches) for the given time. The set of soak articles is kept at a fixed size
(old ones are deleted as new ones come), so memory should stay flat once warmed up.

Every ~10 s the RSS (and PSS) of the master plus its workers is sampled. At the end it prints
request counts, errors (any 5xx or connection error), unexpected 4xx, latency p50/p99 per kind
and RSS over time (first after warm-up, last, max, least-squares slope), checks that every
acknowledged write is there, and runs `flask --app service db check` on the stopped store.
The load phase (run_load) is on its own, so it can be pointed at a service already running on
another store (bench/million.py does, on its big one).

    python -m bench.soak [--minutes 10] [--workers 3] [--threads 4] [--rps 200]

Exits 1 if there was any error, a lost write, a worker that died, or RSS grew more than
--max-growth (20 %) from the first sample after warm-up.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

from tests.server import ROOT, Server

from .procs import children, tree_memory

KEY = "soak-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUERIES = ["医保", "报销", "异地就医", "医保卡", "yibao", "门诊", "住院", "个人账户", "惠民保", "社保卡密码",
           "生育保险", "大病", "广州", "江西", "慢性病", "ybk"]
SUGGEST = ["医", "医保", "yb", "yibao", "异地", "报", "社保", "门"]
# kind -> weight; reads dominate, as they would in production.
MIX = {
    "article": 20, "list": 10, "search": 14, "suggest": 10, "related": 8, "hot": 4, "trending": 4,
    "create": 6, "patch": 8, "delete": 2, "view": 12,
}
LIVE_PER_THREAD = 40  # soak articles each thread keeps alive; older ones get deleted


class Pacer:
    """Shared token bucket: at most `rps` requests per second over all threads (0: no cap)."""

    def __init__(self, rps: float):
        self.interval = 1.0 / rps if rps > 0 else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            self.next = max(self.next + self.interval, now)
            delay = self.next - now
        if delay > 0:
            time.sleep(delay)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = defaultdict(int)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.unexpected_4xx: list[str] = []

    def record(self, kind: str, seconds: float, status: int | None, expected: tuple[int, ...], detail: str) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.latency[kind].append(seconds)
            if status is None or status >= 500:
                self.errors.append(f"{kind} {detail}: {status}")
            elif status not in expected:
                self.unexpected_4xx.append(f"{kind} {detail}: {status}")


class Client(threading.Thread):
    def __init__(self, n: int, url: str, seed_ids: list[str], stats: Stats, pacer: Pacer, stop: threading.Event):
        super().__init__(name=f"soak-{n}", daemon=True)
        self.n, self.url, self.seed_ids, self.stats, self.pacer, self.stop = n, url, seed_ids, stats, pacer, stop
        self.rng = random.Random(n)
        self.session = requests.Session()
        self.live: dict[str, int] = {}  # our article id -> version acknowledged
        self.deleted: set[str] = set()
        self.counter = itertools.count()
        self.kinds, self.weights = zip(*MIX.items(), strict=True)

    def call(self, kind: str, method: str, path: str, expected=(200,), **kwargs) -> requests.Response | None:
        self.pacer.wait()
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.url + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            self.stats.record(kind, time.perf_counter() - started, None, expected, f"{method} {path} {exc!r}")
            return None
        self.stats.record(kind, time.perf_counter() - started, response.status_code, expected, f"{method} {path}")
        return response

    def run(self) -> None:
        while not self.stop.is_set():
            kind = self.rng.choices(self.kinds, self.weights)[0]
            getattr(self, "do_" + kind)()

    def any_id(self) -> str:
        if self.live and self.rng.random() < 0.3:
            return self.rng.choice(list(self.live))
        return self.rng.choice(self.seed_ids)

    def do_article(self):
        self.call("article", "GET", f"/api/v1/articles/{self.any_id()}",
                  params={"formats": "html,text"} if self.rng.random() < 0.3 else None)

    def do_list(self):
        self.call("list", "GET", "/api/v1/articles", params={"per_page": 20, "page": self.rng.randint(1, 5)})

    def do_search(self):
        self.call("search", "GET", "/api/v1/search", params={"q": self.rng.choice(QUERIES)})

    def do_suggest(self):
        self.call("suggest", "GET", "/api/v1/search/suggest", params={"q": self.rng.choice(SUGGEST)})

    def do_related(self):
        self.call("related", "GET", f"/api/v1/articles/{self.any_id()}/related")

    def do_hot(self):
        self.call("hot", "GET", "/api/v1/search/hot")

    def do_trending(self):
        self.call("trending", "GET", "/api/v1/recommendations/trending")

    def do_view(self):
        self.call("view", "POST", f"/api/v1/articles/{self.rng.choice(self.seed_ids)}/views", expected=(202,))

    def do_create(self):
        article_id = f"soak-{self.n}-{next(self.counter)}"
        body = "\n\n".join(f"{self.rng.choice(QUERIES)}怎么办理?第{i}步:带上医保卡到窗口办理。" for i in range(8))
        response = self.call("create", "POST", "/api/v1/articles", expected=(201,), headers=AUTH,
                             json={"id": article_id, "title": f"{self.rng.choice(QUERIES)}问题{article_id}",
                                   "body": body})
        if response is not None and response.status_code == 201:
            self.live[article_id] = response.json()["version"]
        while len(self.live) > LIVE_PER_THREAD:
            self.do_delete()

    def do_patch(self):
        if not self.live:
            return self.do_create()
        article_id = self.rng.choice(list(self.live))
        response = self.call("patch", "PATCH", f"/api/v1/articles/{article_id}", headers=AUTH,
                             json={"answer": f"第{self.rng.randint(1, 10**6)}次修改"})
        if response is not None and response.status_code == 200:
            self.live[article_id] = response.json()["version"]

    def do_delete(self):
        if not self.live:
            return
        article_id = next(iter(self.live))  # the oldest
        response = self.call("delete", "DELETE", f"/api/v1/articles/{article_id}", expected=(204,), headers=AUTH)
        if response is not None and response.status_code == 204:
            del self.live[article_id]
            self.deleted.add(article_id)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [v for _, v in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rps", type=float, default=200, help="cap on total requests per second (0: none)")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--warmup-seconds", type=float, default=None, help="default: min(60, a quarter of the run)")
    parser.add_argument("--compact-bytes", type=int, default=1_000_000, help="so compactions happen during the run")
    parser.add_argument("--max-growth", type=float, default=0.20)
    args = parser.parse_args(argv)
    duration = args.minutes * 60
    warmup = args.warmup_seconds if args.warmup_seconds is not None else min(60.0, duration / 4)

    with tempfile.TemporaryDirectory(prefix="yibao-soak-") as tmp:
        data = Path(tmp) / "data"
        huge = "100000000 per minute"
        server = Server(data, workers=args.workers, keys=KEY, COMPACT_BYTES=args.compact_bytes,
                        RATE_LIMIT=huge, RATE_LIMIT_WRITE=huge, RATE_LIMIT_VIEWS=huge).start()
        try:
            return soak(server, args, duration, warmup)
        finally:
            server.stop()
            print(f"gunicorn log tail:\n{server.output()[-1500:]}" if "Traceback" in server.output() else "", end="")


READS = ("article", "list", "search", "suggest", "related", "hot", "trending")


def run_load(url: str, master: int, args, duration: float, warmup: float) -> dict:
    """The mixed load against a running service (`master`: its gunicorn master's pid) for
    `duration` seconds: latencies per kind, errors, memory samples of master plus workers, and
    the acknowledged writes read back. Runs against any store; the service is left running."""
    listing = requests.get(url + "/api/v1/articles", params={"per_page": 100, "fields": "id"}, timeout=30)
    seed_ids = [item["id"] for item in listing.json()["items"]]
    workers_at_start = set(children(master))
    stats, stop, pacer = Stats(), threading.Event(), Pacer(args.rps)
    clients = [Client(n, url, seed_ids, stats, pacer, stop) for n in range(args.threads)]
    print(f"soak: {duration / 60:g} min, {args.threads} threads, cap {args.rps or 'none'} rps, "
          f"warm-up {warmup:.0f} s, {url}", flush=True)
    started = time.monotonic()
    for client in clients:
        client.start()
    samples: list[tuple[float, float, float]] = []  # (seconds since start, RSS MB, PSS MB)
    while True:
        elapsed = time.monotonic() - started
        mem = tree_memory(master)
        samples.append((elapsed, mem["master_rss"] + mem["workers_rss_sum"], mem["total_pss"]))
        print(f"  t={elapsed:6.0f}s  requests={sum(stats.counts.values()):7d}  errors={len(stats.errors)}"
              f"  rss={samples[-1][1]:7.1f} MB  pss={samples[-1][2]:7.1f} MB  procs={len(mem['worker_pids']) + 1}",
              flush=True)
        if elapsed >= duration:
            break
        time.sleep(min(args.sample_seconds, max(0.0, duration - elapsed)))
    stop.set()
    for client in clients:
        client.join(60)
    seconds = time.monotonic() - started
    died = workers_at_start - set(children(master))
    return {"stats": stats, "samples": samples, "seconds": seconds, "died": sorted(died),
            "lost": _lost_writes(url, clients), **summary(stats, samples, warmup, seconds)}


def _lost_writes(url: str, clients: list[Client]) -> list[str]:
    """Every acknowledged write is there, at least at the version it was acknowledged with."""
    lost = []
    for client in clients:
        for article_id, version in client.live.items():
            got = requests.get(f"{url}/api/v1/articles/{article_id}", timeout=30)
            if got.status_code != 200 or got.json()["version"] < version:
                lost.append(f"{article_id} v{version}: {got.status_code}")
        for article_id in list(client.deleted)[:200]:
            if requests.get(f"{url}/api/v1/articles/{article_id}", timeout=30).status_code != 404:
                lost.append(f"{article_id} deleted but still there")
    return lost


def summary(stats: Stats, samples: list[tuple[float, float, float]], warmup: float, seconds: float) -> dict:
    """Latency per kind and of all reads together (ms); memory after warm-up (MB): first, last,
    max, growth, least-squares slope per minute."""
    reads = [v for kind in READS for v in stats.latency.get(kind, [])]
    after = [(t - warmup, rss, pss) for t, rss, pss in samples if t >= warmup] or samples[-1:]
    first, last = after[0][1], after[-1][1]
    return {
        "requests": sum(stats.counts.values()), "rps": sum(stats.counts.values()) / seconds if seconds else 0.0,
        "kinds": {kind: {"count": stats.counts.get(kind, 0), "p50": percentile(stats.latency.get(kind, []), .5) * 1000,
                         "p99": percentile(stats.latency.get(kind, []), .99) * 1000} for kind in MIX},
        "read_p50": percentile(reads, .5) * 1000, "read_p99": percentile(reads, .99) * 1000,
        "errors": len(stats.errors), "unexpected_4xx": len(stats.unexpected_4xx),
        "rss_first": first, "rss_last": last, "rss_max": max(r for _, r, _ in after),
        "rss_growth": (last - first) / first if first else 0.0,
        "rss_slope": slope_per_minute([(t, r) for t, r, _ in after]),
        "pss_first": after[0][2], "pss_last": after[-1][2], "pss_max": max(p for _, _, p in after),
        "pss_growth": (after[-1][2] - after[0][2]) / after[0][2] if after[0][2] else 0.0,
        "pss_slope": slope_per_minute([(t, p) for t, _, p in after]),
    }


def soak(server: Server, args, duration: float, warmup: float) -> int:
    print(f"{args.workers} workers")
    result = run_load(server.url, server.process.pid, args, duration, warmup)
    stats, samples, lost = result["stats"], result["samples"], result["lost"]
    server.stop()
    check = subprocess.run([sys.executable, "-m", "flask", "--app", "service", "db", "check"], cwd=ROOT,
                           env={**os.environ, "DATA_DIR": str(server.data_dir)}, capture_output=True, text=True)

    print(f"\nrequests: {result['requests']} in {result['seconds']:.0f} s ({result['rps']:.0f}/s)")
    print(f"{'kind':10} {'count':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, row in result["kinds"].items():
        print(f"{kind:10} {row['count']:8d} {row['p50']:8.1f} {row['p99']:8.1f}")
    print(f"all reads  {'':8} {result['read_p50']:8.1f} {result['read_p99']:8.1f}")
    print(f"errors (5xx or connection): {len(stats.errors)}  {stats.errors[:5]}")
    print(f"unexpected 4xx: {len(stats.unexpected_4xx)}  {stats.unexpected_4xx[:5]}")
    print(f"acknowledged writes missing: {len(lost)}  {lost[:5]}")
    print(f"db check: exit {check.returncode} {check.stdout.strip()[-200:]} {check.stderr.strip()[-300:]}")
    died = result["died"]
    print(f"processes that went away during the run: {died or 'none'}")
    print(f"RSS total (MB) at start {samples[0][1]:.1f}; after warm-up: first {result['rss_first']:.1f}, "
          f"last {result['rss_last']:.1f}, max {result['rss_max']:.1f}, growth {result['rss_growth']:+.1%}, "
          f"slope {result['rss_slope']:+.2f} MB/min")
    print(f"PSS total (MB) after warm-up: first {result['pss_first']:.1f}, last {result['pss_last']:.1f}, "
          f"slope {result['pss_slope']:+.2f} MB/min")
    print("RSS samples (s, MB): " + ", ".join(f"{t:.0f}:{rss:.1f}" for t, rss, _ in samples))

    failures = []
    if stats.errors:
        failures.append(f"{len(stats.errors)} errors")
    if lost:
        failures.append(f"{len(lost)} acknowledged writes missing")
    if check.returncode:
        failures.append("db check failed")
    if died:
        failures.append(f"processes died: {died}")
    if result["rss_growth"] > args.max_growth:
        failures.append(f"RSS grew {result['rss_growth']:.1%} (> {args.max_growth:.0%})")
    print("FAIL: " + "; ".join(failures) if failures else "OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
