"""REDIS_URL: view and search counts and rate limits shared by every process on every machine,
counting as the file log does, and going on (failing open) while Redis is away.

Against a real Redis: the `redis_url` fixture's (each test under a key prefix of its own), or a
private redis-server a test stops and starts again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
import requests

from service.domain import outages
from service.domain.content.seeds import seed_document
from service.domain.popularity.events import FLUSH_SECONDS, EventCounter
from service.domain.popularity.file_log import FileEventLog
from service.domain.popularity.hot import HotSearches
from service.domain.popularity.readers import SECRET_FILE, ReaderTokens
from service.domain.popularity.redis_log import RedisEventLog, redis_counter, shared_secret
from service.domain.popularity.trending import Trending
from service.domain.store.store import Store
from service.redis_connection import connect
from service.security import WorkerMemoryStorage
from tests.conftest import RedisTarget, open_app
from tests.server import Server, free_port

ARTICLE = "e9231330f69d2e16"  # a published article of the seeds
ARTICLES = ["a1", "a2", "a3"]
QUERY = "医保提现"
NOW = 1_800_000_000.0


def counter_on(target, **options) -> EventCounter:
    """What each process would make: its own client and counter, on the shared keys."""
    return redis_counter(connect(target.url), target.prefix, options.pop("name", "views"), **options)


def published_everywhere(*counters: EventCounter) -> None:
    for counter in counters:
        counter.flush()
    for counter in counters:
        counter.refresh()


def trending_of(counter: EventCounter) -> list[tuple[str, float]]:
    trending = Trending(lambda: {aid: {"status": "published"} for aid in ARTICLES})
    counter.subscribe(trending.on_views)
    return trending.trending(now=NOW)


def hot_on(counter: EventCounter, tmp_path: Path, tokens: ReaderTokens) -> HotSearches:
    store = Store(tmp_path / f"store-{id(counter)}", seed=lambda: seed_document(tmp_path / "no-seeds"))
    store.open()
    return HotSearches(counter, store, tokens)


# -- two processes, one Redis ----------------------------------------------------------------


def test_two_counters_see_each_others_events_and_agree_with_a_fresh_one(redis_url, tmp_path):
    clock = lambda: NOW  # noqa: E731
    one, two = (counter_on(redis_url, flush_seconds=3600, clock=clock) for _ in range(2))
    for i in range(30):
        (one if i % 2 else two).record(ARTICLES[i % 3 if i < 24 else 0], now=NOW - i * 600)
    assert one.total("a1") == two.total("a1") == 7  # each its own, until published
    published_everywhere(one, two)
    fresh = counter_on(redis_url, clock=clock)
    assert one.totals() == two.totals() == fresh.totals() == {"a1": 14, "a2": 8, "a3": 8}
    assert trending_of(one) == trending_of(two) == trending_of(fresh)
    assert [aid for aid, _ in trending_of(fresh)][0] == "a1"

    tokens = ReaderTokens(tmp_path)
    searches = [counter_on(redis_url, name="hot-searches", clock=clock) for _ in range(2)]
    hots = [hot_on(counter, tmp_path, tokens) for counter in searches]
    for n in range(3):
        assert hots[n % 2].record(QUERY, f"ip:10.0.0.{n}", found=1, now=NOW)
    published_everywhere(*searches)
    fresh_hot = hot_on(counter_on(redis_url, name="hot-searches", clock=clock), tmp_path, tokens)
    for hot in (*hots, fresh_hot):
        assert hot.top(now=NOW) == [{"query": QUERY, "count": 3, "pinned": False, "source": "search"}]


def test_a_reader_counts_once_across_counters_and_again_the_next_hour(redis_url):
    clock = lambda: NOW  # noqa: E731
    one, two = (counter_on(redis_url, name="hot-searches", flush_seconds=3600, clock=clock) for _ in range(2))
    one.record(QUERY, NOW, reader="r1")
    two.record(QUERY, NOW + 5, reader="r1")  # one has not published it yet
    one.flush()
    two.refresh()  # two's own copy would be dropped on replay, so it goes now
    assert (two.total(QUERY), two.readers(QUERY, NOW)) == (1, 1)
    two.flush()
    one.record(QUERY, NOW + 60, reader="r1")  # the same hour, already counted: not again
    two.record(QUERY, NOW + 3600, reader="r1")  # the next hour: again
    two.record(QUERY, NOW + 3600, reader="r2")
    published_everywhere(one, two)
    fresh = counter_on(redis_url, name="hot-searches", clock=clock)
    for counter in (one, two, fresh):
        assert (counter.total(QUERY), counter.readers(QUERY, NOW + 3600)) == (3, 2)
    one.compact()
    two.record(QUERY, NOW + 3700, reader="r2")  # counted before the fold: still not again
    published_everywhere(one, two)
    assert one.total(QUERY) == two.total(QUERY) == counter_on(redis_url, name="hot-searches").total(QUERY) == 3


def _random_traffic(make, seed: int) -> list:
    """Two processes recording, flushing, refreshing and compacting in a random order; what each,
    and a process started afterwards, ends up with."""
    rnd = random.Random(seed)
    clock = lambda: NOW  # noqa: E731
    procs = [make(clock), make(clock)]
    for _ in range(300):
        counter, roll, when = rnd.choice(procs), rnd.random(), NOW - rnd.randint(0, 3 * 86400)
        if roll < 0.5:
            counter.record(rnd.choice("abcde"), now=when)
        elif roll < 0.85:
            counter.record(rnd.choice("pq"), now=when, reader=f"u{rnd.randint(0, 6)}")
        elif roll < 0.95:
            counter.flush()
        elif roll < 0.98:
            counter.refresh()
        else:
            counter.compact()
    published_everywhere(*procs)
    seen = []
    for counter in [*procs, make(clock)]:
        trending = Trending(lambda: {aid: {"status": "published"} for aid in "abcdepq"})
        counter.subscribe(trending.on_views)
        scores = {aid: round(trending.score(aid, NOW), 9) for aid in "abcdepq"}
        seen.append((counter.totals(), {k: counter.readers(k, NOW) for k in "pq"}, sorted(counter._history()), scores))
    return seen


@pytest.mark.parametrize("seed", range(3))
def test_the_same_events_in_the_same_order_count_as_with_the_file_log(redis_url, tmp_path, seed):
    options = {"flush_seconds": 3600, "flush_events": 10_000}
    on_file = _random_traffic(lambda clock: EventCounter(tmp_path, "views", clock=clock, **options), seed)
    on_redis = _random_traffic(lambda clock: counter_on(redis_url, clock=clock, **options), seed)
    assert on_redis == on_file
    assert on_redis[0] == on_redis[1] == on_redis[2]


def _flushing_worker(url: str, prefix: str, seed: int, views: int, hour: float, start) -> None:
    """One 'gunicorn worker' on another machine: flushes and compacts as it goes."""
    counter = redis_counter(connect(url), prefix, "views", flush_seconds=0.02, flush_events=13, compact_entries=5)
    start.wait(60)  # all at once, not one after another as they finish starting
    for i in range(views):
        counter.record(ARTICLES[(seed + i) % len(ARTICLES)])
        counter.record("q", now=hour + i, reader=f"r{(seed + i) % 10}")  # one hour, whenever the test runs
        time.sleep(0.001)
    counter.close()


def test_compaction_under_concurrent_flushes_loses_nothing(redis_url):
    ctx = multiprocessing.get_context("spawn")
    hour, start = time.time() // 3600 * 3600, ctx.Barrier(4)
    procs = [ctx.Process(target=_flushing_worker, args=(redis_url.url, redis_url.prefix, seed, 300, hour, start))
             for seed in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    counter = counter_on(redis_url)
    assert {aid: counter.total(aid) for aid in ARTICLES} == {"a1": 400, "a2": 400, "a3": 400}
    assert (counter.total("q"), counter.readers("q")) == (10, 10)  # ten readers, each once
    client = redis_url.client()
    assert int(client.hget(redis_url.prefix + "views:snapshot", "generation")) > 10  # it did compact, often
    assert client.xlen(redis_url.prefix + "views:log") < 50


def test_forced_compactions_racing_each_other_and_flushes_lose_nothing(redis_url):
    hour = time.time() // 3600 * 3600

    def work(seed: int) -> None:
        counter = counter_on(redis_url, flush_seconds=3600, flush_events=10**9, compact_entries=3)
        for i in range(200):
            counter.record(ARTICLES[i % 3])
            counter.record("q", now=hour + i, reader=f"r{(seed * 7 + i) % 25}")
            if i % 5 == 0:
                counter.flush()
            if i % 17 == seed:
                counter.compact()  # the fold of whoever gets there first; the others' scripts do nothing
        counter.close()

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    fresh = counter_on(redis_url)
    assert fresh.totals() == {"a1": 6 * 67, "a2": 6 * 67, "a3": 6 * 66, "q": 25}
    assert fresh.readers("q") == 25


# -- Redis away ------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk, to kill and restart."""

    def __init__(self, workdir: Path):
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, so the Redis tests must run: no redis-server on PATH")
        pytest.skip("no redis-server on PATH to start a private Redis")
    monkeypatch.setattr(outages, "RETRY_SECONDS", 0.05)  # try Redis again soon, so the test need not wait
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()


def said(caplog, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


def test_counts_wait_in_memory_while_redis_is_away_and_arrive_when_it_is_back(private_redis, caplog):
    target = RedisTarget(private_redis.url, "t:")
    counter, other = counter_on(target, flush_seconds=3600), counter_on(target, flush_seconds=3600)
    counter.record("a1")
    counter.flush()
    other.refresh()
    assert other.total("a1") == 1
    private_redis.kill()
    caplog.set_level(logging.WARNING, logger="service.events")
    for _ in range(5):
        counter.record("a1")
        counter.record(QUERY, reader="r1")
        counter.flush()
        counter.refresh()
        time.sleep(0.06)  # past the retry pause: each round tries Redis again
    assert (counter.total("a1"), counter.total(QUERY)) == (6, 1)
    assert said(caplog, "is unreachable") == 1  # once per outage, not per flush
    other.refresh()
    assert other.total("a1") == 1  # as last replayed
    counter.close()  # a worker exiting while Redis is away: nothing raised

    private_redis.start()  # empty: it kept nothing
    time.sleep(0.06)
    counter.flush()  # the buffer, then this counter's fold as the new snapshot
    assert said(caplog, "is reachable again") == 1
    other.refresh()  # Redis restarted under it: it reloads from that fold
    fresh = counter_on(target)
    assert counter.totals() == other.totals() == fresh.totals() == {"a1": 6, QUERY: 1}
    assert fresh.readers(QUERY) == 1


def test_the_buffer_is_bounded_while_redis_is_away(private_redis, caplog):
    target = RedisTarget(private_redis.url, "t:")
    counter = counter_on(target, flush_seconds=3600, flush_events=2, max_pending=3)
    private_redis.kill()
    caplog.set_level(logging.WARNING, logger="service.events")
    for second in range(6):
        counter.record("a1", now=NOW + second)  # one buffer entry per second
        time.sleep(0.06)
    counter.record("a1", now=NOW)  # adds to an entry already there
    assert counter.total("a1") == 4
    assert said(caplog, "buffer full") == 1
    private_redis.start()
    time.sleep(0.06)
    counter.flush()
    assert counter_on(target).total("a1") == 4


# -- rate limits -----------------------------------------------------------------------------


def test_two_apps_on_one_redis_share_one_views_budget(tmp_path, seeded_dir, api_keys, redis_url):
    apps = [open_app(tmp_path / f"node{n}", seeded_dir, api_keys, RATE_LIMIT_VIEWS="10 per minute",
                     **redis_url.config()) for n in range(2)]
    clients = [app.test_client() for app in apps]
    answers = [clients[n % 2].post(f"/api/v1/articles/{ARTICLE}/views") for n in range(12)]
    assert [a.status_code for a in answers] == [202] * 10 + [429] * 2
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == [str(9 - n) for n in range(10)] + ["0", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"10"}
    published_everywhere(*(app.extensions["service"].views for app in apps))
    assert [c.get(f"/api/v1/articles/{ARTICLE}").get_json()["views"] for c in clients] == [10, 10]


def test_a_reader_through_two_apps_with_one_readers_secret_counts_once(tmp_path, seeded_dir, api_keys, redis_url):
    first = open_app(tmp_path / "node0", seeded_dir, api_keys, **redis_url.config())
    (tmp_path / "node1").mkdir()
    shutil.copy2(tmp_path / "node0" / SECRET_FILE, tmp_path / "node1" / SECRET_FILE)  # as the README says
    second = open_app(tmp_path / "node1", seeded_dir, api_keys, **redis_url.config())
    for app in (first, second, first):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.1.0.7"
        assert client.get("/api/v1/search", query_string={"q": QUERY}).status_code == 200
    published_everywhere(*(app.extensions["service"].searches for app in (first, second)))
    for app in (first, second):
        rows = app.extensions["service"].hot.counted()
        assert [(r["query"], r["count"], r["readers"]) for r in rows] == [(QUERY, 1, 1)]


def test_rate_limits_fail_open_while_redis_is_away(tmp_path, seeded_dir, api_keys, private_redis, caplog):
    app = open_app(tmp_path / "data", seeded_dir, api_keys, RATE_LIMIT_VIEWS="3 per minute",
                   REDIS_URL=private_redis.url, REDIS_PREFIX="t:")
    client = app.test_client()
    views = f"/api/v1/articles/{ARTICLE}/views"
    assert [client.post(views).status_code for _ in range(4)] == [202, 202, 202, 429]
    private_redis.kill()
    caplog.set_level(logging.WARNING)
    answers = []
    for _ in range(4):
        answers += [client.post(views), client.get("/api/v1/topics"), client.get(f"/api/v1/articles/{ARTICLE}")]
        time.sleep(0.06)  # past the retry pause: each round tries Redis again
    assert {a.status_code for a in answers} == {200, 202}
    assert "X-RateLimit-Limit" not in answers[-1].headers  # no count, so no claim about one
    assert said(caplog, "rate limits fail open") == 1
    private_redis.start()
    time.sleep(0.06)
    back = client.post(views)
    assert back.status_code == 202 and back.headers["X-RateLimit-Remaining"] == "2"  # a new Redis, a new window
    assert said(caplog, "rate limit storage (RedisStorage) is reachable again") == 1


def test_without_redis_url_nothing_is_shared_beyond_the_data_directory(app):
    services = app.extensions["service"]
    assert isinstance(app.extensions["rate_limits"].storage, WorkerMemoryStorage)
    assert isinstance(services.views._log, FileEventLog) and isinstance(services.searches._log, FileEventLog)


def test_with_redis_url_the_counters_use_it(tmp_path, seeded_dir, api_keys, redis_url):
    services = open_app(tmp_path / "data", seeded_dir, api_keys, **redis_url.config()).extensions["service"]
    assert isinstance(services.views._log, RedisEventLog)
    assert services.searches._log.stream_key == redis_url.prefix + "hot-searches:log"


# -- real gunicorn ---------------------------------------------------------------------------


def test_two_gunicorn_nodes_with_their_own_data_dirs_share_view_counts(tmp_path, redis_url):
    env = {**redis_url.config(), "RATE_LIMIT_VIEWS": "1000000 per minute"}
    with Server(tmp_path / "a" / "data", workers=2, **env) as a, Server(tmp_path / "b" / "data", workers=2, **env) as b:
        for n in range(10):
            with requests.Session() as session:  # a new connection each time: any worker may answer
                posted = session.post(f"{(a, b)[n % 2].url}/api/v1/articles/{ARTICLE}/views", timeout=10,
                                      headers={"Connection": "close"})
            assert posted.status_code == 202

        def views(node) -> int:
            with requests.Session() as session:
                return session.get(f"{node.url}/api/v1/articles/{ARTICLE}", timeout=10,
                                   headers={"Connection": "close"}).json()["views"]

        deadline = time.monotonic() + 20
        while {views(a), views(b)} != {10} and time.monotonic() < deadline:
            time.sleep(0.2)
        # All ten are in Redis now; each worker catches up at its flusher's next tick (every 2 s).
        time.sleep(FLUSH_SECONDS + 0.5)
        assert [views(node) for node in (a, b) for _ in range(6)] == [10] * 12  # new connections: any worker


def test_every_machine_agrees_on_the_readers_secret(redis_url, tmp_path):
    """One reader reaching two machines is one reader: the machines share the secret its token is
    keyed with, and keep it, so they agree again after Redis loses it."""
    share = shared_secret(redis_url.client(), redis_url.prefix)
    for name in "abc":
        (tmp_path / name).mkdir()
    first, second = ReaderTokens(tmp_path / "a", share), ReaderTokens(tmp_path / "b", share)
    assert first("203.0.113.9") == second("203.0.113.9")
    assert (tmp_path / "b" / SECRET_FILE).read_bytes() == first.secret  # kept by the machine too
    redis_url.client().delete(f"{redis_url.prefix}readers-key")  # a Redis restart
    again = [ReaderTokens(tmp_path / name, share) for name in ("b", "c", "a")]
    assert {tokens("203.0.113.9") for tokens in again} == {first("203.0.113.9")}
