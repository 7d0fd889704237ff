"""The catalogue's columns, kept current change by change, answer as a fresh build and as the reference.

A hypothesis state machine writes articles and topics into a JSON store the way the
service and other processes do: create, replace, publish, unpublish, retitle, re-date,
retopic, delete, re-create; topics created, re-parented (a child becoming a parent, a
parent losing its children) and deleted; some writes made by a second process and heard
through the journal, some folded into a snapshot by it (heard as the differences between
snapshots); views counted. The catalogue under test has heard every change since it was
first asked something; after every step it, a catalogue built fresh over a store opened
anew on the same files, and the catalogue as it was before its columns
(tests/catalog_reference.py) are asked every kind of list (each filter alone and
together, each sort, with and without drafts, pages of it) and every topic count.

CATALOG_EXAMPLES (default 30) and CATALOG_STEPS (default 25) set how many sequences run
and how long each is.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from service.domain.content.catalog import ArticleQuery, Catalog
from service.domain.content.regions import normalise_region
from service.domain.store.snapshot import empty_document
from service.domain.store.store import Store
from tests.catalog_reference import ReferenceCatalog

EXAMPLES = int(os.environ.get("CATALOG_EXAMPLES", "30"))
STEPS = int(os.environ.get("CATALOG_STEPS", "25"))

IDS = tuple(f"a{n}" for n in range(10))
SLUGS = ("enrollment", "newborn", "benefits", "card", "outpatient")
UNKNOWN_SLUG = "ghost"  # named by articles, never a topic: lists and counts still take it in
# ties, case, the empty title, and NULs (which numpy's strings would drop at the end)
TITLES = ("医保卡怎么办", "宝宝参保", "医保卡怎么办", "报销流程", "Abc", "abc", "", "医保\x00", "医保")
DATES = ("2025-03-01", "2025-04-19", "2025-04-20", "2025-06-30", "2024-12-31T23:59:59Z")
REGIONS = ("广东", "广州", "天河区", "江西", "抚州")
ASKED_REGIONS = (*REGIONS, "广州市", "江西省", "火星")  # aliases are normalised; an unknown place matches nothing
CATEGORIES = ("健康新闻", "办事指南", "政策解读")
TAGS = ("提现", "备案", "新生儿", "异地")
STATUSES = ("published", "draft")
SORTS = ("-published_at", "published_at", "title", "-views")

articles = st.fixed_dictionaries(
    {
        "title": st.sampled_from(TITLES),
        "status": st.sampled_from(STATUSES),
        "category": st.sampled_from(CATEGORIES),
        # duplicates and unknown topics too: each article counts once
        "topics": st.lists(st.sampled_from((*SLUGS, UNKNOWN_SLUG)), max_size=3),
        "regions": st.lists(st.sampled_from(REGIONS), max_size=3, unique=True),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3),
    },
    # no published_at, null or empty: it sorts (and filters) as ""
    optional={"published_at": st.one_of(st.sampled_from(DATES), st.none(), st.just(""))},
)
changes = st.one_of(
    st.fixed_dictionaries({"status": st.sampled_from(STATUSES)}),  # publish, unpublish
    st.fixed_dictionaries({"title": st.sampled_from(TITLES)}),
    st.fixed_dictionaries({"published_at": st.sampled_from(DATES)}),
    st.fixed_dictionaries({"topics": st.lists(st.sampled_from((*SLUGS, UNKNOWN_SLUG)), max_size=3)}),
    st.fixed_dictionaries({"regions": st.lists(st.sampled_from(REGIONS), max_size=2, unique=True)}),
    st.fixed_dictionaries({"tags": st.lists(st.sampled_from(TAGS), max_size=2)}),
    st.fixed_dictionaries({"category": st.sampled_from(CATEGORIES)}),
)
queries = st.builds(
    ArticleQuery,
    topic=st.one_of(st.none(), st.sampled_from((*SLUGS, UNKNOWN_SLUG, "nothing"))),
    region=st.one_of(st.none(), st.sampled_from(ASKED_REGIONS)),
    category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    tag=st.one_of(st.none(), st.sampled_from(TAGS)),
    status=st.one_of(st.none(), st.sampled_from((*STATUSES, "archived"))),
    published_after=st.one_of(st.none(), st.sampled_from(DATES)),
    published_before=st.one_of(st.none(), st.sampled_from(DATES)),
    sort=st.sampled_from(SORTS),
    include_drafts=st.booleans(),
)


def every_query() -> list[ArticleQuery]:
    """Each filter alone (each value), a few together, every sort, drafts or not."""
    filters: list[dict] = [{}]
    filters += [{"topic": s} for s in (*SLUGS, UNKNOWN_SLUG, "nothing")]
    filters += [{"region": r} for r in ASKED_REGIONS]
    filters += [{"category": c} for c in CATEGORIES]
    filters += [{"tag": t} for t in (*TAGS, "none")]
    filters += [{"status": s} for s in (*STATUSES, "archived")]
    filters += [{"published_after": d} for d in DATES] + [{"published_before": d} for d in DATES]
    filters += [{"published_after": "2025-04-19", "published_before": "2025-04-20"},
                {"published_after": "2025-06-30", "published_before": "2025-03-01"},
                {"topic": "enrollment", "region": "广州市", "status": "published"},
                {"topic": "benefits", "tag": "提现", "category": "办事指南", "published_after": "2025-04-19"}]
    return [ArticleQuery(**f, sort=sort, include_drafts=drafts)
            for f, sort, drafts in itertools.product(filters, SORTS, (False, True))]


EVERY_QUERY = every_query()


class CatalogChanges(RuleBasedStateMachine):
    """The live catalogue (incremental) against a fresh one and the reference."""

    @initialize(fold_at=st.sampled_from((0, 2, 1024)), resort_share=st.sampled_from((1, 8, 10**6)),
                asked_first=st.booleans())
    def start(self, fold_at, resort_share, asked_first):
        self.root = Path(tempfile.mkdtemp(prefix="catalog-"))
        self.store = Store(self.root, seed=empty_document)
        self.store.open()
        self.other = None  # another process on the same files, opened when first used
        self.views: dict[str, int] = {}
        self.views_revision = 0  # the live catalogue keeps the counts it read until this moves
        # Small bounds, so that folds and re-sorts happen at this size too.
        self.tuning = {"fold_at": fold_at, "resort_share": resort_share}
        self.live = Catalog(self.store, normalise_region, self.view_count,
                            views_revision=lambda: self.views_revision, **self.tuning)
        self.reference = ReferenceCatalog(self.store, normalise_region, self.view_count)
        self.store.subscribe(lambda *change: self.live.on_change(*change))  # whichever is live now
        self.store.subscribe(self.reference.on_change)
        if asked_first:  # built now, over no article: everything after reaches it as changes
            self.live.articles(ArticleQuery())

    def teardown(self):
        if hasattr(self, "root"):
            shutil.rmtree(self.root, ignore_errors=True)

    def view_count(self, article_id: str) -> int:
        return self.views.get(article_id, 0)

    def existing(self) -> list[str]:
        return sorted(self.store.all("articles"))

    def writer(self, elsewhere: bool) -> Store:
        if not elsewhere:
            return self.store
        if self.other is None:
            self.other = Store(self.root, seed=dict).open()
        return self.other

    def heard(self) -> None:
        """This process catches up on what the other one wrote (as before every request)."""
        self.store.refresh()

    # -- articles ----------------------------------------------------------

    @rule(article_id=st.sampled_from(IDS), content=articles, elsewhere=st.booleans())
    def put_article(self, article_id, content, elsewhere):
        """Create, or replace whole."""
        record = {"id": article_id, **content}
        self.writer(elsewhere).write("articles", article_id, lambda old: record)
        self.heard()

    @precondition(lambda self: self.store.all("articles"))
    @rule(data=st.data(), change=changes, elsewhere=st.booleans())
    def patch_article(self, data, change, elsewhere):
        article_id = data.draw(st.sampled_from(self.existing()), label="article")
        self.writer(elsewhere).write("articles", article_id, lambda old: {**old, **change} if old else None)
        self.heard()

    @precondition(lambda self: self.store.all("articles"))
    @rule(data=st.data(), elsewhere=st.booleans())
    def delete_article(self, data, elsewhere):
        article_id = data.draw(st.sampled_from(self.existing()), label="article")
        self.writer(elsewhere).write("articles", article_id, lambda old: None)
        self.heard()

    # -- topics ------------------------------------------------------------

    @rule(slug=st.sampled_from(SLUGS), parent=st.one_of(st.none(), st.sampled_from(SLUGS)),
          elsewhere=st.booleans())
    def put_topic(self, slug, parent, elsewhere):
        """Create a topic or move it under another parent (or none): lists and counts follow."""
        record = {"slug": slug, "name": slug, "parent": parent if parent != slug else None}
        self.writer(elsewhere).write("topics", slug, lambda old: record)
        self.heard()

    @precondition(lambda self: self.store.all("topics"))
    @rule(data=st.data())
    def delete_topic(self, data):
        slug = data.draw(st.sampled_from(sorted(self.store.all("topics"))), label="topic")
        self.store.write("topics", slug, lambda old: None)

    # -- elsewhere ---------------------------------------------------------

    @rule(article_id=st.sampled_from(IDS), times=st.integers(1, 3))
    def view(self, article_id, times):
        self.views[article_id] = self.views.get(article_id, 0) + times
        self.views_revision += 1

    @rule(contents=st.lists(st.tuples(st.sampled_from(IDS), articles), min_size=1, max_size=6))
    def compacted_elsewhere(self, contents):
        """Another process writes and folds its journal into a snapshot before this one looks:
        this one hears the differences between the snapshots."""
        other = self.writer(True)
        for article_id, content in contents:
            other.write("articles", article_id, lambda old, r={"id": article_id, **content}: r)
        other.compact()
        self.heard()

    @rule()
    def compact(self):
        self.store.compact()

    @rule()
    def saved_and_loaded(self):
        """A restart: the columns saved, loaded by a new catalogue, which then hears every change."""
        path = self.root / f"catalog-{len(self.existing())}.arrays"
        self.live.save(path)
        loaded = Catalog(self.store, normalise_region, self.view_count,
                         views_revision=lambda: self.views_revision, **self.tuning)
        assert loaded.load(path)
        self.live = loaded

    @rule(query=queries)
    def ask(self, query):
        """Asked between changes: what is folded when, and the results kept, vary."""
        assert self.live.articles(query).ids() == ids(self.reference.articles(query)), query

    # -- the check ---------------------------------------------------------

    @invariant()
    def answers_as_a_fresh_build_and_the_reference(self):
        if not hasattr(self, "store"):
            return
        fresh_store = Store(self.root, seed=dict).open()
        fresh = Catalog(fresh_store, normalise_region, self.view_count)
        assert sorted(fresh_store.all("articles")) == self.existing()
        for query in EVERY_QUERY:
            expected = ids(self.reference.articles(query))
            assert self.live.articles(query).ids() == expected, query
            assert fresh.articles(query).ids() == expected, query
        query = ArticleQuery(include_drafts=True)
        listing, expected = self.live.articles(query), self.reference.articles(query)
        assert listing.total == len(expected)
        assert listing[1:4] == expected[1:4] and listing[len(expected):] == []  # pages are the records
        if expected:
            assert listing[0] == self.store.get("articles", expected[0]["id"])
        for slug in (*SLUGS, UNKNOWN_SLUG, "nothing"):
            count = self.reference.topic_count(slug)
            assert self.live.topic_count(slug) == count, slug
            assert fresh.topic_count(slug) == count, slug


def ids(articles: list[dict]) -> list[str]:
    return [a["id"] for a in articles]


CatalogChanges.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_catalog_answers_as_a_fresh_build_and_the_reference = CatalogChanges.TestCase


def test_first_list_on_a_store_with_articles_builds_the_columns(tmp_path):
    """Built on first use from what the store holds; later changes go to the columns."""
    store = Store(tmp_path, seed=empty_document).open()
    for n in range(40):
        record = {"id": f"x{n:02}", "title": f"标题{n % 7}", "status": STATUSES[n % 3 == 0], "category": "办事指南",
                  "topics": ["newborn"] if n % 2 else ["enrollment"], "regions": ["广东", "广州"][: n % 3],
                  "tags": [], "published_at": DATES[n % len(DATES)]}
        store.write("articles", record["id"], lambda old, r=record: r)
    store.write("topics", "newborn", lambda old: {"slug": "newborn", "name": "n", "parent": "enrollment"})
    catalog, reference = Catalog(store, normalise_region), ReferenceCatalog(store, normalise_region)
    store.subscribe(catalog.on_change)
    store.subscribe(reference.on_change)
    for query in EVERY_QUERY:
        assert catalog.articles(query).ids() == ids(reference.articles(query)), query
    assert catalog.topic_count("enrollment") == reference.topic_count("enrollment") > 0
    store.write("articles", "x01", lambda old: {**old, "status": "draft"})
    assert catalog.topic_count("enrollment") == reference.topic_count("enrollment")
    for query in EVERY_QUERY:
        assert catalog.articles(query).ids() == ids(reference.articles(query)), query


class _ReferenceListing(list):
    """The reference's list of records, with the total a Listing gives."""

    @property
    def total(self) -> int:
        return len(self)


def test_list_pages_are_the_same_bytes_as_from_the_reference(app, client, write_headers, monkeypatch):
    """Through the API, after writes (drafts, re-dated, retopicked, deleted, a new child topic):
    every list page and topic answer, headers and ETags too, is what the reference gives."""
    services = app.extensions["service"]
    ids_ = sorted(services.store.all("articles"))
    edits = ({"status": "draft"}, {"title": "医保卡怎么办"}, {"published_at": "2025-04-20"}, {"topics": ["newborn"]},
             {"tags": ["提现"]})
    for n, article_id in enumerate(ids_[:15]):
        response = client.patch(f"/api/v1/articles/{article_id}", json=edits[n % 5], headers=write_headers)
        assert response.status_code == 200
    assert client.delete(f"/api/v1/articles/{ids_[15]}", headers=write_headers).status_code == 204
    topic = {"slug": "withdrawal", "name": "提现", "keywords": ["提现"], "parent": "benefits"}
    assert client.post("/api/v1/topics", json=topic, headers=write_headers).status_code == 201
    for article_id in ids_[20:26]:
        assert client.post(f"/api/v1/articles/{article_id}/views").status_code == 202
    paths = [f"/api/v1/articles?sort={sort}&page={page}&per_page=7{extra}"
             for sort in SORTS for page in (1, 3)
             for extra in ("", "&topic=benefits", "&region=广州市", "&category=办事指南", "&tag=提现", "&status=draft",
                           "&published_after=2025-01-01&published_before=2025-04-20", "&fields=id,title")]
    paths += [f"/api/v1/topics/{slug}/articles?per_page=50" for slug in sorted(services.store.all("topics"))]
    paths += ["/api/v1/topics", *(f"/api/v1/topics/{slug}" for slug in sorted(services.store.all("topics")))]

    def answers() -> list:
        services.caches.pages.clear()
        services.caches.topics.clear()
        out = []
        for path in paths:
            for headers in ({}, write_headers):
                response = client.get(path, headers=headers)
                kept = {k: v for k, v in response.headers.items()  # but what each request has its own of
                        if k != "X-Request-ID" and not k.startswith("X-RateLimit-")}
                body = response.data if response.status_code < 400 else None  # a problem names its request
                out.append((path, response.status_code, kept, body))
        return out

    ours = answers()
    reference = ReferenceCatalog(services.store, normalise_region, services.view_count)
    lists = lambda query: _ReferenceListing(reference.articles(query))  # noqa: E731
    monkeypatch.setattr(services.catalog, "articles", lists)
    monkeypatch.setattr(services.catalog, "topic_count", reference.topic_count)
    for theirs, mine in zip(answers(), ours, strict=True):
        assert theirs == mine, mine[0]
