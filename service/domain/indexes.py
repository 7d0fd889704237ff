"""The indexes derived from a store: search and related lists, loaded or built, then kept current.

Both are a pure function of the snapshot, so each is saved beside it and loaded by the next
start from the same snapshot (`store/derived.py`); otherwise built, and saved for next time.
The journal's changes since the snapshot then reach them like any other change (their
`on_change`), and after a compaction here they hold exactly the new snapshot's state, so
`save` keeps them for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .forked import as_sequence
from .recommend.related import Related
from .search.index import SearchIndex
from .store.derived import SavedIndexes, saved_states
from .store.store import Store

# Tokenising dominates a build: from this many articles, use every core (at most four).
PARALLEL_BUILD_FROM = 20_000
INDEX_DIR = "indexes"
NAMES = ("search", "related")


def saved(data_dir: Path) -> set[str]:
    """The states (snapshot ids) both indexes are saved for in this DATA_DIR: where a store
    whose log keeps every change (PostgreSQL) can start from instead of building them."""
    return saved_states(Path(data_dir) / INDEX_DIR, NAMES)


class Indexes:
    def __init__(self, store: Store, topic_names: Callable[[], Mapping[str, str]]):
        self.store = store
        self.topic_names = topic_names
        self.search = SearchIndex()
        self.related: Related | None = None

    def articles(self) -> Mapping[str, dict]:
        return self.store.all("articles")  # the live mapping, read on each call

    def open(self) -> Indexes:
        """Load or build both from the opened store, before its journal is replayed into them."""
        saved = self._saved(self.store.snapshot_id)
        # Builds fork before any thread exists: in the gunicorn master, or a CLI.
        many = len(self.articles()) > PARALLEL_BUILD_FROM
        workers = min(os.cpu_count() or 1, 4) if many else 1
        search = saved.load("search", SearchIndex.load)
        if search is None:
            search = SearchIndex()
            search.build(as_sequence(self.articles()), workers=workers)
            saved.save("search", search)
        self.search = search
        related = saved.load("related", lambda path: Related.load(path, self.articles, self.topic_names, search=search))
        if related is None:
            related = Related(self.articles, self.topic_names, search=search).build(workers)
            saved.save("related", related)
        self.related = related
        return self

    def save(self, snapshot_id: str) -> None:
        saved = self._saved(snapshot_id)
        saved.save("search", self.search)
        saved.save("related", self.related)

    def _saved(self, snapshot_id: str) -> SavedIndexes:
        return SavedIndexes(self.store.data_dir / INDEX_DIR, snapshot_id)

    def nbytes(self) -> dict[str, int]:
        return {"search_bytes": self.search.nbytes(), "related_bytes": self.related.nbytes()}
