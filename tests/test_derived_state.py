"""Everything kept current from change events answers exactly as a fresh build.

A hypothesis state machine edits the seed store the way editors do (create,
replace, patch, delete, re-create, import a backup, compaction, restart).
After every step, the running service's search index, suggester, 相关推荐,
topic counts and article lists are asked the same questions as ones built
from scratch over a copy of the same data directory: search totals, ranked
ids, scores, highlights and facets (common terms, pinyin, filters, drafts),
suggestions, every related list with its reasons, every topic count and
list order. At the end of each sequence the same is asked through the API
of the running service and of a fresh one (so the HTTP layer's caches are
checked too: list pages, topic pages, whole article pages with ETags).

DIFFERENTIAL_EXAMPLES (default 8) and DIFFERENTIAL_STEPS (default 12) set how
many sequences run and how long each is; `make test` runs the defaults.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from service import create_app
from service.domain.content.catalog import SORTS, ArticleQuery, Catalog
from service.domain.content.regions import normalise_region
from service.domain.popularity.events import EventCounter
from service.domain.popularity.hot import HotSearches
from service.domain.popularity.readers import ReaderTokens
from service.domain.popularity.trending import Trending
from service.domain.recommend.related import Related
from service.domain.search import index as search_index
from service.domain.search.index import SearchIndex
from service.domain.store.compactor import LOCK
from service.domain.store.files import exclusive_lock
from service.domain.store.store import Store
from tests.server import Server

KEY = "differential-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "8"))
STEPS = int(os.environ.get("DIFFERENTIAL_STEPS", "12"))

# What readers search for most, pinyin and initials included.
SEARCHES = ("医保", "医保卡", "报销", "yibaoka", "宝宝出生怎么参保", "异地就医备案", "医保提现", "广州医保",
            "foyibao", "新生儿", "个人账户")
SUGGESTS = ("医保", "yb", "广州", "yibao", "宝宝")
# Words editors write with: common and rare terms, places, synonyms.
WORDS = ("医保", "医保卡", "报销", "提现", "参保", "宝宝", "新生儿", "异地就医", "备案", "广州", "佛山", "南昌",
         "江西", "个人账户", "家庭共济", "门诊", "住院", "缴费", "断缴", "补缴", "社保", "居民医保", "职工医保",
         "怎么办", "多少钱", "可以", "流程", "材料", "线上", "办理", "清零", "异地", "转移", "青光眼")
DATES = ("2025-03-01", "2025-04-19", "2025-04-20", "2025-06-30")
# What readers type into the search box: variants of one query, and spam that must never count.
READER_SEARCHES = ("医保提现", "醫保提現", "医保 提现", "异地就医备案", "新生儿参保", "医保卡",
                   "加微信abc123代办医保提现")


def _app(data_dir: Path):
    # A small journal: the edits of a sequence fold it into new snapshots in the background too.
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": KEY, "TESTING": True, "RATE_LIMIT_ENABLED": False,
                      "ACCESS_LOG": False, "COMPACT_BYTES": 16_000})
    app.extensions["service"].open()
    return app


def _close(app) -> None:
    app.extensions["service"].close()


def fresh_copy(data: Path, copy: Path) -> Path:
    """The data directory with its journal folded into the snapshot and no saved indexes: a
    service opened on it builds everything from the records, replaying no change at all."""
    lock = data / LOCK
    lock.touch(exist_ok=True)
    with exclusive_lock(lock):  # no compaction commits a snapshot half-way through the copy
        shutil.copytree(data, copy, ignore=shutil.ignore_patterns("indexes", "*.lock"))
    Store(copy, seed=dict).open().compact()
    shutil.rmtree(copy / "indexes", ignore_errors=True)
    return copy


phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map("".join)
bodies = st.lists(phrases, min_size=1, max_size=8).map("。".join)
contents = st.fixed_dictionaries(
    {"title": phrases, "body": bodies, "published_at": st.sampled_from(DATES)},
    optional={
        "answer": st.one_of(st.none(), phrases),
        "tags": st.lists(st.sampled_from(WORDS), max_size=3, unique=True),
        "status": st.sampled_from(("published", "draft")),
        "topics": st.lists(st.sampled_from(("enrollment", "benefits", "insurance-card", "newborn")), max_size=2,
                           unique=True),
    },
)
changes = st.one_of(
    st.fixed_dictionaries({"tags": st.lists(st.sampled_from(WORDS), max_size=3, unique=True)}),
    st.fixed_dictionaries({"title": phrases}),
    st.fixed_dictionaries({"body": bodies}),
    st.fixed_dictionaries({"status": st.sampled_from(("published", "draft"))}),
    st.fixed_dictionaries({"published_at": st.sampled_from(DATES)}),
    st.fixed_dictionaries({"topics": st.none()}),
)


class DerivedState(RuleBasedStateMachine):
    """The running service (`live`) against a fresh build over the same files."""

    @initialize()
    def start(self):
        # A fold of the search delta due every few changes: asked of a compaction (which every
        # process then loads, see reopen), or made here when none comes.
        self.delta_docs, search_index.DELTA_DOCS = search_index.DELTA_DOCS, 3
        self.root = Path(tempfile.mkdtemp(prefix="differential-"))
        self.data = self.root / "data"
        self.live = _app(self.data)
        self.client = self.live.test_client()
        self.deleted: list[str] = []
        self.touched: list[str] = []
        self.made = 0
        self.steps = 0

    def teardown(self):
        if hasattr(self, "live"):
            try:
                self.compare_api()
            finally:
                _close(self.live)
                shutil.rmtree(self.root, ignore_errors=True)
                search_index.DELTA_DOCS = self.delta_docs

    # -- helpers -----------------------------------------------------------

    def ids(self) -> list[str]:
        return sorted(self.live.extensions["service"].store.all("articles"))

    def pick(self, data) -> str:
        return data.draw(st.sampled_from(self.ids()), label="article")

    def write(self, method: str, path: str, **kw):
        response = self.client.open(path, method=method, headers=AUTH, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.get_json())
        return response

    def topics(self, content: dict) -> dict:
        known = self.live.extensions["service"].store.all("topics")
        if content.get("topics"):
            content = {**content, "topics": [t for t in content["topics"] if t in known] or None}
        return content

    # -- what editors do ---------------------------------------------------

    @rule(content=contents)
    def create(self, content):
        self.made += 1
        article_id = f"made-{self.made}"
        self.write("POST", "/api/v1/articles", json={"id": article_id, **self.topics(content)})
        self.touched.append(article_id)

    @rule(data=st.data(), content=contents)
    def replace(self, data, content):
        article_id = self.pick(data)
        self.write("PUT", f"/api/v1/articles/{article_id}", json=self.topics(content))
        self.touched.append(article_id)

    @rule(data=st.data(), change=changes)
    def patch(self, data, change):
        article_id = self.pick(data)
        self.write("PATCH", f"/api/v1/articles/{article_id}", json=self.topics(change))
        self.touched.append(article_id)

    @rule(data=st.data(), times=st.integers(1, 13))
    def patch_repeatedly(self, data, times):
        """The reported failure: one article's tags edited again and again."""
        article_id = self.pick(data)
        for n in range(times):
            self.write("PATCH", f"/api/v1/articles/{article_id}", json={"tags": [f"t{n}"]})
        self.touched.append(article_id)

    @rule(data=st.data())
    def delete(self, data):
        article_id = self.pick(data)
        self.write("DELETE", f"/api/v1/articles/{article_id}")
        self.deleted.append(article_id)

    @precondition(lambda self: self.deleted)
    @rule(data=st.data(), content=contents)
    def recreate(self, data, content):
        article_id = data.draw(st.sampled_from(self.deleted), label="deleted")
        self.deleted.remove(article_id)
        self.write("POST", "/api/v1/articles", json={"id": article_id, **self.topics(content)})
        self.touched.append(article_id)

    @rule(data=st.data(), title=phrases)
    def import_backup(self, data, title):
        """An export, edited by hand (retitled pages), imported into the running store."""
        runner = self.live.test_cli_runner()
        exported = runner.invoke(args=["export"])
        assert exported.exit_code == 0, exported.output
        doc = orjson.loads(exported.stdout)
        chosen = set(data.draw(st.lists(st.sampled_from(self.ids()), min_size=1, max_size=4, unique=True)))
        for article in doc["articles"]:
            if article["id"] in chosen:
                article["title"] = title
                article["version"] += 1
        backup = self.root / "backup.json"
        backup.write_bytes(orjson.dumps(doc))
        imported = runner.invoke(args=["import", str(backup)])
        assert imported.exit_code == 0, imported.output
        self.touched.extend(chosen)

    @rule(data=st.data(), keywords=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
    def edit_topic_keywords(self, data, keywords):
        """Articles whose topics were derived are classified again."""
        slug = data.draw(st.sampled_from(sorted(self.live.extensions["service"].store.all("topics"))), label="topic")
        self.write("PATCH", f"/api/v1/topics/{slug}", json={"keywords": keywords})

    @rule(keywords=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True),
          parent=st.sampled_from((None, "benefits")))
    def create_topic(self, keywords, parent):
        self.made += 1
        self.write("POST", "/api/v1/topics", json={"slug": f"topic-{self.made}", "name": f"专题{self.made}",
                                                    "keywords": keywords, "parent": parent})

    @rule(data=st.data(), times=st.integers(1, 3))
    def view(self, data, times):
        article_id = self.pick(data)
        for _ in range(times):
            response = self.client.post(f"/api/v1/articles/{article_id}/views")
            assert response.status_code == 202, response.get_json()

    @rule(reader=st.integers(0, 4), query=st.sampled_from(READER_SEARCHES), times=st.integers(1, 3))
    def reader_searches(self, reader, query, times):
        """An anonymous reader (told apart by address) searching, perhaps again and again."""
        for _ in range(times):
            response = self.client.get("/api/v1/search", query_string={"q": query},
                                       environ_base={"REMOTE_ADDR": f"10.0.0.{reader}"})
            assert response.status_code == 200, response.get_json()

    @rule()
    def compact(self):
        self.live.extensions["service"].store.compact()

    @rule()
    def reopen(self):
        """What the catch-up thread of a serving process does after a compaction in the background:
        move the records onto the new snapshot, load the indexes saved for it and swap them in."""
        service = self.live.extensions["service"]
        service.store.wait_for_compaction()
        service.generations.prepare()
        service.generations.adopt()

    @rule()
    def restart(self):
        _close(self.live)
        self.live = _app(self.data)
        self.client = self.live.test_client()

    # -- the check ---------------------------------------------------------

    @invariant()
    def equals_a_fresh_build(self):
        if hasattr(self, "live"):
            self.compare_domain()

    def fresh_copy(self) -> Path:
        self.live.extensions["service"].store.wait_for_compaction()  # a copy made mid-compaction is torn
        self.steps += 1
        return fresh_copy(self.data, self.root / f"fresh-{self.steps}")

    def compare_domain(self) -> None:
        live = self.live.extensions["service"]
        live.views.flush()  # what this worker counted reaches the logs a fresh build reads
        live.searches.flush()
        copy = self.fresh_copy()
        try:
            store = Store(copy, seed=dict).open()
            records = store.all("articles")
            search = SearchIndex(live.search.synonyms)
            search.build(records.values())
            names = {t["slug"]: t["name"] for t in store.all("topics").values()}
            related = Related(lambda: records, lambda: names, search=search).build()
            catalog = Catalog(store, normalise_region, live.view_count)
            assert sorted(records) == self.ids()
            for q in SEARCHES:
                for drafts in (False, True):
                    assert_same(_found(live.search.search(q, include_drafts=drafts, limit=100)),
                                _found(search.search(q, include_drafts=drafts, limit=100)), f"search {q} {drafts}")
            for topic, region in (("benefits", None), (None, "广州"), ("insurance-card", "广东")):
                assert_same(_found(live.search.search("医保", topic=topic, region=region, limit=100)),
                            _found(search.search("医保", topic=topic, region=region, limit=100)), "filters")
            assert_same(_found(live.search.search("报销", offset=5, limit=5)),
                        _found(search.search("报销", offset=5, limit=5)), "second page")
            for q in SUGGESTS:
                assert live.search.suggest(q) == search.suggest(q), q
            for article_id in records:
                assert_same(live.related.related(article_id), related.related(article_id), f"related {article_id}")
            for slug in names:
                assert live.catalog.topic_count(slug) == catalog.topic_count(slug), slug
                query = ArticleQuery(topic=slug)
                assert _listed(live.catalog.articles(query)) == _listed(catalog.articles(query)), slug
            for sort in (*SORTS, "-views"):
                for drafts in (False, True):
                    query = ArticleQuery(sort=sort, include_drafts=drafts)
                    assert _listed(live.catalog.articles(query)) == _listed(catalog.articles(query)), sort
            config = live.config
            views = EventCounter(copy, "views")
            trending = Trending(lambda: records, config["TRENDING_HALF_LIFE_HOURS"])
            views.subscribe(trending.on_views)
            assert_same(live.trending.trending(20), trending.trending(20), "trending")
            hot = HotSearches(EventCounter(copy, "hot-searches"), store, ReaderTokens(copy),
                              config["HOT_HALF_LIFE_HOURS"], config["HOT_MIN_READERS"])
            assert_same(live.hot.top(10, fallback=False), hot.top(10, fallback=False), "大家都在搜")
            assert_same(live.hot.counted(), hot.counted(), "counted searches")
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    def compare_api(self) -> None:
        self.live.extensions["service"].views.flush()  # what this worker counted reaches the logs
        self.live.extensions["service"].searches.flush()
        fresh = _app(self.fresh_copy())
        try:
            ids = self.ids()
            sample = sorted((set(self.touched) | set(ids[::9])) & set(ids))
            for path in self.probes(sample):
                live, built = self.client.get(path, headers=AUTH), fresh.test_client().get(path, headers=AUTH)
                assert live.status_code == built.status_code, path
                assert_same(live.get_json(), built.get_json(), path)
                if live.headers.get("ETag") or built.headers.get("ETag"):
                    assert live.headers.get("ETag") == built.headers.get("ETag"), path
        finally:
            _close(fresh)

    def probes(self, articles: list[str]) -> list[str]:
        topics = sorted(self.live.extensions["service"].store.all("topics"))
        paths = [f"/api/v1/search?q={q}&per_page=100" for q in SEARCHES]
        paths += ["/api/v1/search?q=医保&region=广州&per_page=100", "/api/v1/search?q=医保&topic=benefits",
                  "/api/v1/search?q=报销&page=2&per_page=5"]
        paths += [f"/api/v1/search/suggest?q={q}" for q in SUGGESTS]
        paths += ["/api/v1/search/hot", "/api/v1/search/hot/counted?per_page=100", "/api/v1/topics",
                  "/api/v1/recommendations/trending"]
        paths += [f"/api/v1/articles?per_page=100&page={p}&sort={s}" for p in (1, 2) for s in
                  ("-published_at", "title", "-views")]
        paths += ["/api/v1/articles?region=广东&per_page=100", "/api/v1/articles?status=draft&per_page=100"]
        paths += [f"/api/v1/topics/{slug}/articles?per_page=100" for slug in topics]
        paths += [f"/api/v1/topics/{slug}" for slug in topics]
        for article_id in articles:
            paths += [f"/api/v1/articles/{article_id}/related",
                      f"/api/v1/articles/{article_id}?include=related,hot&formats=html"]
        return paths


def _found(result) -> dict:
    return {"total": result.total, "hits": [(h.id, h.score, h.highlights) for h in result.hits],
            "facets": result.facets}


def _listed(articles: list[dict]) -> list[str]:
    return [a["id"] for a in articles]


def assert_same(live, built, where: str, path: str = "") -> None:
    """Equal JSON, floats within a tolerance (scores are sums of float32 terms)."""
    if isinstance(live, tuple):
        live, built = list(live), list(built) if isinstance(built, tuple) else built
    if isinstance(live, float) or isinstance(built, float):
        assert isinstance(live, int | float) and isinstance(built, int | float), (where, path, live, built)
        assert math.isclose(live, built, rel_tol=1e-4, abs_tol=1e-4), (where, path, live, built)
    elif isinstance(live, dict) and isinstance(built, dict):
        assert live.keys() == built.keys(), (where, path, sorted(live.keys() ^ built.keys()))
        for key in live:
            assert_same(live[key], built[key], where, f"{path}.{key}")
    elif isinstance(live, list) and isinstance(built, list):
        assert len(live) == len(built), (where, path, live, built)
        for n, (a, b) in enumerate(zip(live, built, strict=True)):
            assert_same(a, b, where, f"{path}[{n}]")
    else:
        assert live == built, (where, path, live, built)


DerivedState.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_derived_state_equals_a_fresh_build = DerivedState.TestCase


# -- through real gunicorn ---------------------------------------------------------


def _worker_answers(url: str, path: str, workers: int) -> dict[str, requests.Response]:
    """One answer from each worker (told apart by their request-id prefixes): concurrent requests on
    fresh connections, so a worker that just answered is not free to take the next one."""
    answers: dict[str, requests.Response] = {}

    def get(_):
        return requests.get(url + path, headers={**AUTH, "Connection": "close"}, timeout=10)

    with ThreadPoolExecutor(2 * workers) as pool:
        for _ in range(30):
            for response in pool.map(get, range(2 * workers)):
                answers.setdefault(response.headers["X-Request-ID"][:16], response)
            if len(answers) == workers:
                return answers
    raise AssertionError(f"only {len(answers)} of {workers} workers answered {path}")


@pytest.mark.parametrize("compact_bytes", [None, 20_000], ids=["one-snapshot", "compacting"])
def test_every_gunicorn_worker_answers_as_a_fresh_build(tmp_path, compact_bytes):
    """Writes spread over the workers (each one replays the others' from the journal); then every
    worker's search, suggest, 相关推荐, lists and pages equal those of a service built fresh.
    Compacting: the journal is folded in the background every few writes, and each worker moves
    onto the new snapshot and the indexes saved for it while the writes go on."""
    workers = 3
    env = {"COMPACT_BYTES": str(compact_bytes)} if compact_bytes else {}
    with Server(tmp_path / "data", workers=workers, keys=KEY, **env) as server:

        def write(method: str, path: str, body: dict | None = None) -> None:
            response = requests.request(method, server.url + path, json=body, timeout=10,
                                        headers={**AUTH, "Connection": "close"})
            assert response.status_code < 300, (method, path, response.text)

        ids = sorted(requests.get(server.url + "/api/v1/articles?per_page=100", timeout=10).json()["items"],
                     key=lambda a: a["id"])
        first = ids[0]["id"]
        for n in range(13):  # the reported failure: one article's tags edited again and again
            write("PATCH", f"/api/v1/articles/{first}", {"tags": [f"t{n}"]})
        for n, article in enumerate(ids[1:21]):  # twenty different articles edited once each
            write("PATCH", f"/api/v1/articles/{article['id']}", {"title": article["title"] + WORDS[n % len(WORDS)]})
        write("POST", "/api/v1/articles", {"id": "made-1", "title": "宝宝出生怎么参保", "body": "新生儿参保。办医保卡"})
        write("DELETE", f"/api/v1/articles/{ids[21]['id']}")
        write("POST", "/api/v1/articles", {"id": ids[21]["id"], "title": "医保卡提现", "body": "广州医保卡提现流程"})
        fresh = _app(fresh_copy(server.data_dir, tmp_path / "fresh"))
        try:
            probe = DerivedState.probes.__get__(SimpleNamespace(live=fresh))
            for path in probe([first, ids[5]["id"], ids[21]["id"], "made-1"]):
                built = fresh.test_client().get(path, headers=AUTH)
                for worker, live in _worker_answers(server.url, path, workers).items():
                    assert live.status_code == built.status_code, (worker, path)
                    assert_same(live.json(), built.get_json(), f"worker {worker}: {path}")
        finally:
            _close(fresh)
