"""Writes and cross-node visibility: the embedded JSON store against PostgreSQL.

    PYTHONPATH=. .venv/bin/python -m bench.store_bench [--clients 4,16] [--duration 10] [--samples 200]
                                                       [--postgres URL] [--no-results]

Real gunicorn nodes with the production gunicorn.conf.py and 2 sync workers each (tests/server.py),
each on its own temporary DATA_DIR seeded from seeds/; the PostgreSQL nodes share one database made
for this run (CREATE DATABASE with a random name on --postgres, default TEST_POSTGRES_URL or the
local server; dropped at the end). Three setups, in this order, each figure from this one run:

* write throughput: N client threads (requests.Session each) PATCH an article of their own, as
  fast as answers come, for --duration seconds after a one-second warm-up: writes/s, p50/p99
  latency, errors (anything but 200). (a) one node on the JSON store, (b) one node on PostgreSQL,
  (c) two nodes on that PostgreSQL with the clients spread over both. Afterwards every client's
  last acknowledged version must be read back on every node.
* visibility: PATCH through node A, then GET the article on node B every ~2 ms, each GET on a new
  connection, until its ETag carries the new version: the time from the PATCH's answer to the
  answer of the first GET that shows it (that GET's own time included). --samples writes, one at
  a time, with no other load. Across nodes (PostgreSQL: NOTIFY, or the 1 s poll) and, for the
  JSON store and PostgreSQL alike, within one node, where either of its two workers may answer
  the GET: that is how soon the worker that did not write sees it (the journal, or the signal
  file in DATA_DIR) or how soon the writer answers again.

Prints a Markdown table and writes it into bench/RESULTS.md between its own markers, placed below
the notes mark so that `make bench` keeps it; the rest of the file is left as it is.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.server import Server

from .report import machine, write_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
START_MARK = "<!-- store_bench: start (bench/store_bench.py rewrites this section) -->"
END_MARK = "<!-- store_bench: end -->"
KEY = "bench-store-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WORKERS = 2  # per node
WARM_UP = 1.0  # seconds of load not counted: first connections to the database, first requests
POLL = 0.002  # between the GETs that look for a write
GIVE_UP = 5.0  # a write not seen by then counts as not seen
TARGET_S = 1.0  # p99 of cross-node visibility


# -- a database and the nodes --------------------------------------------------------


class Database:
    """A database of its own on the server at admin_url, dropped on close."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.name = f"bench_store_{secrets.token_hex(4)}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.url = make_conninfo(admin_url, dbname=self.name)

    def version(self) -> str:
        with psycopg.connect(self.url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def close(self) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))

    def _admin(self, query) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(query)


def article_ids(node: Server) -> list[str]:
    answer = requests.get(node.url + "/api/v1/articles", params={"per_page": 100}, timeout=10)
    answer.raise_for_status()
    return [item["id"] for item in answer.json()["items"]]


def version_on(node: Server, article_id: str, timeout: float = 10.0) -> int | None:
    """The article's version as a GET on a new connection shows it (the ETag starts with it)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        conn.request("GET", f"/api/v1/articles/{article_id}")
        response = conn.getresponse()
        response.read()
        etag = response.getheader("ETag") or ""
        head = etag.strip('"').split(".", 1)[0]
        return int(head) if response.status == 200 and head.isdigit() else None
    finally:
        conn.close()


# -- figures ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass
class Throughput:
    setup: str
    clients: int
    writes: int
    seconds: float
    latencies: list[float]
    errors: int
    lost: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.writes / self.seconds


@dataclass
class Visibility:
    setup: str
    lags: list[float]  # seconds; the unseen are left out and counted
    unseen: int
    first_read: int  # samples already new at the first GET


# -- write throughput ------------------------------------------------------------------


def throughput(setup: str, nodes: list[Server], ids: list[str], clients: int, duration: float) -> Throughput:
    """`clients` threads, client i PATCHing ids[i] on nodes[i % len(nodes)]."""
    began = time.perf_counter()
    start, end = began + WARM_UP, began + WARM_UP + duration
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    last: dict[str, int] = {}

    def client(i: int) -> None:
        node, article_id = nodes[i % len(nodes)], ids[i]
        n = 0
        with requests.Session() as session:
            while True:
                sent = time.perf_counter()
                if sent >= end:
                    return
                n += 1
                ok = False
                try:
                    response = session.patch(f"{node.url}/api/v1/articles/{article_id}", headers=AUTH, timeout=10,
                                             json={"answer": f"第{n}次修改:带上医保卡到窗口办理。"})
                    ok = response.status_code == 200
                    if ok:
                        last[article_id] = response.json()["version"]
                except requests.RequestException:
                    pass
                done = time.perf_counter()
                if sent >= start and done <= end:
                    if ok:
                        latencies[i].append(done - sent)
                    else:
                        errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [x for per in latencies for x in per]
    result = Throughput(setup, clients, len(flat), duration, flat, sum(errors))
    result.lost = lost_writes(nodes, last)
    return result


def lost_writes(nodes: list[Server], acknowledged: dict[str, int], within: float = 3.0) -> list[str]:
    """Acknowledged versions some node still does not show after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        missing = [f"{aid} v{v} on :{node.port}" for aid, v in acknowledged.items() for node in nodes
                   if (version_on(node, aid) or 0) < v]
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.1)


# -- visibility ------------------------------------------------------------------------


def visibility(setup: str, writer: Server, reader: Server, ids: list[str], samples: int) -> Visibility:
    lags: list[float] = []
    unseen = first_read = 0
    with requests.Session() as session:
        for n in range(samples):
            article_id = ids[n % len(ids)]
            response = session.patch(f"{writer.url}/api/v1/articles/{article_id}", headers=AUTH, timeout=10,
                                     json={"answer": f"第{n}次可见性检查。"})
            response.raise_for_status()
            wanted, acknowledged = response.json()["version"], time.perf_counter()
            reads = 0
            while True:
                reads += 1
                seen = (version_on(reader, article_id) or 0) >= wanted
                now = time.perf_counter()
                if seen:
                    lags.append(now - acknowledged)
                    first_read += reads == 1
                    break
                if now - acknowledged > GIVE_UP:
                    unseen += 1
                    break
                time.sleep(POLL)
    return Visibility(setup, lags, unseen, first_read)


# -- the run ---------------------------------------------------------------------------


def start_node(tmp: Path, name: str, database: str | None = None) -> Server:
    env = {"DATABASE_URL": database} if database else {}
    node = Server(tmp / name / "data", workers=WORKERS, keys=KEY, **env)
    begun = time.monotonic()
    node.start(timeout=120)
    print(f"  node {name} ready on :{node.port} in {time.monotonic() - begun:.1f} s", flush=True)
    return node


def run(args, tmp: Path) -> tuple[list[Throughput], list[Visibility], dict]:
    clients = [int(c) for c in args.clients.split(",")]
    writes: list[Throughput] = []
    seen: list[Visibility] = []
    started: list[Server] = []
    database: Database | None = None
    info: dict = {}

    def load(setup: str, nodes: list[Server], ids: list[str]) -> None:
        for n in clients:
            result = throughput(setup, nodes, ids, n, args.duration)
            p50, p99 = percentile(result.latencies, 50), percentile(result.latencies, 99)
            print(f"  {setup}, {n} clients: {result.rate:.0f} writes/s, p50 {_ms(p50)} ms, p99 {_ms(p99)} ms, "
                  f"{result.errors} errors, {len(result.lost)} not read back", flush=True)
            writes.append(result)

    def look(setup: str, writer: Server, reader: Server, ids: list[str]) -> None:
        result = visibility(setup, writer, reader, ids, args.samples)
        print(f"  {setup}: p50 {_ms(percentile(result.lags, 50))} ms, p99 {_ms(percentile(result.lags, 99))} ms, "
              f"{result.unseen} unseen", flush=True)
        seen.append(result)

    try:
        print("JSON store, one node", flush=True)
        node = start_node(tmp, "json")
        started.append(node)
        ids = article_ids(node)
        if len(ids) < max(clients) + 10:
            raise SystemExit(f"the seeds have {len(ids)} articles; {max(clients) + 10} are needed")
        load("JSON store, 1 node", [node], ids)
        look("JSON store: within one node (2 workers)", node, node, ids[max(clients):])
        node.stop()
        started.remove(node)

        print("PostgreSQL, one node, then two", flush=True)
        database = Database(args.postgres)
        info["postgres"] = database.version()
        a = start_node(tmp, "pg-a", database.url)
        started.append(a)
        load("PostgreSQL, 1 node", [a], ids)
        look("PostgreSQL: within one node (2 workers)", a, a, ids[max(clients):])
        b = start_node(tmp, "pg-b", database.url)
        started.append(b)
        load("PostgreSQL, 2 nodes", [a, b], ids)
        look("PostgreSQL: node A → node B", a, b, ids[max(clients):])
    finally:
        for node in started:
            node.stop()
        if database is not None:
            database.close()
    return writes, seen, info


# -- the report ------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def render(writes: list[Throughput], seen: list[Visibility], args, info: dict, elapsed: float) -> str:
    m = machine()
    lines = [
        "## Store: writes and cross-node visibility, JSON store vs PostgreSQL", "",
        "Generated by `PYTHONPATH=. .venv/bin/python -m bench.store_bench`; see the module for the method.", "",
        f"- machine: {m['cores']} cores, {m['cpu']}, {m['memory']} RAM; Linux {m['kernel']}; Python {m['python']}; "
        f"PostgreSQL {info.get('postgres', '?')} on the same machine",
        f"- date: {m['date']}; commit {m['commit']}",
        f"- run: gunicorn (production config) with {WORKERS} sync workers a node, the 105 seeded articles; clients "
        f"are Python threads on the same {m['cores']} cores, {args.duration:g} s a run after {WARM_UP:g} s of "
        f"warm-up; {args.samples} visibility samples a row; whole run {elapsed:.0f} s",
        "",
        "| setup | clients | writes/s | p50 ms | p99 ms | errors | acknowledged, not read back |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in writes:
        lines.append(f"| {w.setup} | {w.clients} | {w.rate:.0f} | {_ms(percentile(w.latencies, 50))} "
                     f"| {_ms(percentile(w.latencies, 99))} | {w.errors} | {len(w.lost)} |")
    lines += ["", "| visibility (PATCH answered → first GET showing it) | samples | p50 ms | p99 ms | max ms "
              "| already on the first GET | not seen in 5 s | target p99 ≤ 1 s |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for v in seen:
        across = "→" in v.setup
        ok = v.unseen == 0 and percentile(v.lags, 99) <= TARGET_S
        verdict = ("**met**" if ok else "**missed**") if across else "(within a node)"
        total = len(v.lags) + v.unseen
        lines.append(f"| {v.setup} | {total} | {_ms(percentile(v.lags, 50))} | {_ms(percentile(v.lags, 99))} "
                     f"| {_ms(max(v.lags, default=float('nan')))} | {v.first_read / total:.0%} | {v.unseen} "
                     f"| {verdict} |")
    lines += ["", "Within one node either worker may answer the GET: the row says how soon a read through "
              "the node, whichever worker takes it, shows the write (the JSON store's workers read the "
              "journal, PostgreSQL's the signal file in DATA_DIR, at their next request). Across nodes the "
              "second node hears of the write by NOTIFY (or its 1 s poll). Each GET is on a new connection, "
              "so the figures include one request's time: where nearly every write is already there at the "
              "first GET, the store's own delay is below what this can resolve. The clients share the two "
              "cores with the nodes and PostgreSQL."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="4,16", help="client counts for the write runs")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each write run")
    parser.add_argument("--samples", type=int, default=200, help="writes timed for each visibility row")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a database on the server to CREATE/DROP this run's database from")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file to put the section in")
    parser.add_argument("--no-results", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if conninfo_to_dict(args.postgres).get("dbname") is None:
        parser.error("--postgres needs a database name (postgres, say)")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        writes, seen, info = run(args, Path(tmp))
    section = render(writes, seen, args, info, time.monotonic() - began)
    print()
    print(section)
    if not args.no_results:
        write_section(args.results, START_MARK, END_MARK, section)
        print(f"written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
