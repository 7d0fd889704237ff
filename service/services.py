"""The service's parts wired together, without Flask: what a worker holds."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .caches import Caches
from .domain.content.article_writes import ArticleWrites
from .domain.content.catalog import Catalog
from .domain.content.regions import editor_regions, find_regions, normalise_region
from .domain.content.taxonomy import assign_topics
from .domain.content.topic_writes import TopicWrites
from .domain.popularity.events import EventCounter
from .domain.popularity.hot import HotRules, HotSearches
from .domain.popularity.readers import ReaderTokens
from .domain.popularity.trending import Trending
from .domain.recommend.for_you import ForYou
from .domain.recommend.related import Related
from .domain.search.index import SearchIndex
from .domain.store.derived import SavedIndexes
from .domain.store.seeds import seed_document
from .domain.store.store import Store

PARALLEL_BUILD_FROM = 20_000
INDEX_DIR = "indexes"

log = logging.getLogger(__name__)


class Services:
    def __init__(self, config: dict):
        self.config = config
        # What the HTTP layer reuses between requests: per instance, as the counters that key it are.
        self.caches = Caches()
        seeds_dir = Path(config["SEEDS_DIR"])
        self.store = Store(
            Path(config["DATA_DIR"]),
            seed=lambda: seed_document(seeds_dir),
            compact_bytes=config["COMPACT_BYTES"],
        )
        self.catalog = Catalog(self.store, normalise_region, self.view_count)
        self.article_writes = ArticleWrites(self.store, assign_topics, find_regions, editor_regions)
        self.topic_writes = TopicWrites(self.store, self.article_writes.reclassify)
        self.hot_rules = HotRules(self.store)
        self.search = SearchIndex()
        self.store.subscribe(self._index_change)
        self._indexing = False
        self.ready = False

    def open(self) -> Services:
        """Load the store (seeding or migrating it first if need be), then
        build what is derived from it: search index, related lists, counters.

        The indexes are derived from the snapshot and saved beside it, so a
        restart loads them instead of building them; the journal's changes
        are then replayed into them like any other change.
        """
        if self.ready:
            return self
        store, config = self.store, self.config
        store.open(replay=False)
        articles = lambda: store.all("articles")  # noqa: E731 - the live mapping, read on each call
        topic_names = lambda: {t["slug"]: t["name"] for t in store.all("topics").values()}  # noqa: E731
        saved = SavedIndexes(store.data_dir / INDEX_DIR, store.snapshot_id)
        loaded = saved.load("search", SearchIndex.load)
        if loaded is not None:
            self.search = loaded
        else:
            # Tokenising dominates the build: on a large store, use every core (forked
            # before any thread exists: in the gunicorn master, or a CLI).
            workers = min(os.cpu_count() or 1, 4) if len(articles()) > PARALLEL_BUILD_FROM else 1
            self.search.build(articles().values(), workers=workers)
            saved.save("search", self.search)
        related = saved.load("related", lambda path: Related.load(path, articles, topic_names, search=self.search))
        if related is None:
            related = Related(articles, topic_names, search=self.search).build()
            saved.save("related", related)
        self.related = related
        store.subscribe(self.related.on_change)
        store.on_compaction(self._save_indexes)
        self._indexing = True
        store.refresh()
        self.views = EventCounter(store.data_dir, "views")
        self.trending = Trending(articles, config["TRENDING_HALF_LIFE_HOURS"])
        self.views.subscribe(self.trending.on_views)
        # Not "searches": that log (from before readers were counted) holds counts anyone could inflate.
        self.searches = EventCounter(store.data_dir, "hot-searches")
        self.hot = HotSearches(self.searches, store, ReaderTokens(store.data_dir), config["HOT_HALF_LIFE_HOURS"],
                               config["HOT_MIN_READERS"], fallback=self.topic_phrases)
        self.for_you = ForYou(self.related, self.trending, articles)
        self.ready = True
        return self

    def _save_indexes(self, snapshot_id: str) -> None:
        """After a compaction here: the indexes hold exactly the new snapshot's
        state, so save them for it, or the next start would rebuild them."""
        saved = SavedIndexes(self.store.data_dir / INDEX_DIR, snapshot_id)
        saved.save("search", self.search)
        saved.save("related", self.related)

    def start_background(self) -> None:
        """In each serving process: publish counted events every few seconds."""
        self.views.start()
        self.searches.start()

    def close(self) -> None:
        """Flush what is counted but not yet written (a worker exiting)."""
        if self.ready:
            self.views.close()
            self.searches.close()

    def topic_phrases(self) -> list[str]:
        """大家都在搜 before readers have searched enough: the names of the topics that have
        published articles (real phrases that find something), the fullest first."""
        counted = [(self.catalog.topic_count(slug), topic["name"]) for slug, topic in self.store.all("topics").items()]
        return [name for n, name in sorted(counted, key=lambda c: (-c[0], c[1])) if n]

    def view_count(self, article_id: str) -> int:
        return self.views.total(article_id) if self.ready else 0

    def _index_change(self, kind: str, key: str, old: dict | None, new: dict | None) -> None:
        if kind != "articles" or not self._indexing:
            return  # before open() the whole index is built or loaded in one go
        if new is None:
            self.search.remove(key)
        else:
            self.search.upsert(new)

    def index_sizes(self) -> dict[str, int]:
        """Entries in each derived structure, for /metrics."""
        return {
            "articles": len(self.store.all("articles")),
            "topics": len(self.store.all("topics")),
            "search_bytes": self.search.nbytes(),
            "related_bytes": self.related.nbytes(),
        }
