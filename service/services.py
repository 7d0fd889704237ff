"""The service's parts wired together, without Flask: what a worker holds."""

from __future__ import annotations

import logging
from functools import partial

from .backend import store_from
from .caches import Caches
from .catch_up import CatchUp
from .domain import indexes
from .domain.content import ArticleWrites, Catalog, TopicWrites
from .domain.content.regions import editor_regions, find_regions, normalise_region
from .domain.content.taxonomy import assign_topics
from .domain.generations import Generations
from .domain.indexes import Indexes
from .domain.popularity import EventCounter, HotSearches, Trending
from .domain.popularity.hot import HotRules
from .domain.popularity.readers import ReaderTokens
from .domain.popularity.redis_log import redis_counter, shared_secret
from .domain.recommend import ForYou
from .domain.store import Store
from .redis_connection import connect

log = logging.getLogger(__name__)


class Services:
    def __init__(self, config: dict):
        self.config = config
        # What the HTTP layer reuses between requests: per instance, as the counters that key it are.
        self.caches = Caches()
        self.store = store_from(config)
        self.catalog = Catalog(self.store, normalise_region, self.view_count, views_revision=self.views_revision)
        self.article_writes = ArticleWrites(self.store, assign_topics, find_regions, editor_regions)
        self.topic_writes = TopicWrites(self.store, self.article_writes.reclassify)
        self.hot_rules = HotRules(self.store)
        self.ready = False
        self.generations: Generations | None = None
        self.catch_up = CatchUp(lambda: self.store.refresh() if self.ready else 0,
                                prepare=lambda: self.generations and self.generations.prepare(),
                                adopt=lambda: self.generations and self.generations.adopt())

    def open(self) -> Services:
        """Load the store (seeding or migrating it first if need be), then what is derived
        from it: the indexes (loaded or built, `domain/indexes.py`) and the counters.

        Every listener is wired here, before the journal is replayed, so each change since
        the snapshot reaches every derived structure once, in the same order as a live one.
        """
        if self.ready:
            return self
        store, config = self.store, self.config
        store.open(replay=False, resumable=indexes.saved(store.data_dir))
        articles = lambda: store.all("articles")  # noqa: E731 - the live mapping, read on each call
        self.indexes = Indexes(store, self.topic_names, self.catalog).open()
        self.search, self.related = self.indexes.search, self.indexes.related
        # Every listener, in one place: the indexes first, then the caches of what was shown.
        for listener in (self.search.on_change, self.related.on_change, self.catalog.on_change, self.caches.on_change):
            store.subscribe(listener)
        store.on_compaction(partial(self.indexes.save, prune=False), self.indexes.prune)
        store.checkpoint(store.refresh())
        self.generations = Generations(store, self.indexes)
        if isinstance(store, Store):  # its compactions run in the background and save the indexes
            self.indexes.fold_in_compactions()
        # One Redis client (its pool) for the counters and the readers' secret alike.
        self.redis = connect(config["REDIS_URL"]) if config["REDIS_URL"] else None
        self.views = self._counter("views")
        self.trending = Trending(articles, config["TRENDING_HALF_LIFE_HOURS"])
        self.views.subscribe(self.trending.on_views)
        # Not "searches": that log (from before readers were counted) holds counts anyone could inflate.
        self.searches = self._counter("hot-searches")
        share = shared_secret(self.redis, config["REDIS_PREFIX"]) if self.redis else None
        self.hot = HotSearches(self.searches, store, ReaderTokens(store.data_dir, share), config["HOT_HALF_LIFE_HOURS"],
                               config["HOT_MIN_READERS"], fallback=self.topic_phrases)
        self.for_you = ForYou(self.related, self.trending, articles)
        self.ready = True
        return self

    def _counter(self, name: str) -> EventCounter:
        """Counted in DATA_DIR, shared by this machine's workers; with REDIS_URL, by every machine's."""
        if self.redis:
            return redis_counter(self.redis, self.config["REDIS_PREFIX"], name)
        return EventCounter(self.store.data_dir, name)

    def start_background(self) -> None:
        """In each serving process: publish counted events every few seconds, and replay
        other processes' changes between requests."""
        self.views.start()
        self.searches.start()
        self.catch_up.start()

    def close(self) -> None:
        """Flush what is counted but not yet written (a worker exiting)."""
        self.catch_up.stop()
        if self.ready:
            self.views.close()
            self.searches.close()
        self.store.close()

    def topic_names(self) -> dict[str, str]:
        return {t["slug"]: t["name"] for t in self.store.all("topics").values()}

    def topic_phrases(self) -> list[str]:
        """大家都在搜 before readers have searched enough: the names of the topics that have
        published articles (real phrases that find something), the fullest first."""
        counted = [(self.catalog.topic_count(slug), topic["name"]) for slug, topic in self.store.all("topics").items()]
        return [name for n, name in sorted(counted, key=lambda c: (-c[0], c[1])) if n]

    def view_count(self, article_id: str) -> int:
        return self.views.total(article_id) if self.ready else 0

    def views_revision(self) -> int:
        """Moves whenever any view_count() does."""
        return self.views.revision if self.ready else -1

    def index_sizes(self) -> dict[str, int]:
        """Entries in each derived structure, for /metrics."""
        return {
            "articles": len(self.store.all("articles")),
            "topics": len(self.store.all("topics")),
            **self.indexes.nbytes(),
        }
