"""The service's parts wired together, without Flask: what a worker holds."""

from __future__ import annotations

from pathlib import Path

from .domain.article_writes import ArticleWrites
from .domain.catalog import Catalog
from .domain.regions import find_regions, normalise_region
from .domain.seeds import seed_document
from .domain.store import Store
from .domain.topic_writes import TopicWrites
from .domain.topics import assign_topics


class Services:
    def __init__(self, config: dict):
        seeds_dir = Path(config["SEEDS_DIR"])
        self.store = Store(
            Path(config["DATA_DIR"]),
            seed=lambda: seed_document(seeds_dir),
            compact_bytes=config["COMPACT_BYTES"],
        )
        self.catalog = Catalog(self.store, normalise_region)
        self.article_writes = ArticleWrites(self.store, assign_topics, find_regions)
        self.topic_writes = TopicWrites(self.store)
        self.ready = False

    def index_sizes(self) -> dict[str, int]:
        """Entries in each derived structure, for /metrics."""
        return {
            "articles": len(self.store.all("articles")),
            "topics": len(self.store.all("topics")),
        }

    def open(self) -> Services:
        """Load the store (seeding or migrating it first if need be)."""
        if not self.ready:
            self.store.open()
            self.ready = True
        return self
