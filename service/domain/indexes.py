"""The indexes derived from a store: search, related lists and the catalogue's columns, loaded or
built, then kept current.

Each is a pure function of the snapshot, so each is saved beside it and loaded by the next
start from the same snapshot (`store/derived.py`); otherwise built, and saved for next time.
The journal's changes since the snapshot then reach them like any other change (their
`on_change`); a compaction saves them as they are at the new snapshot's state (in the forked
child that holds exactly that state), then `prune` drops the old ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .content.catalog import Catalog
from .forked import as_sequence
from .recommend.related import Related
from .search.index import SearchIndex
from .store.derived import SavedIndexes, saved_states
from .store.store import Store

# Tokenising dominates a build: from this many articles, use every core (at most four).
PARALLEL_BUILD_FROM = 20_000
INDEX_DIR = "indexes"
NAMES = ("search", "related", "catalog")


def saved(data_dir: Path) -> set[str]:
    """The states (snapshot ids) both indexes are saved for in this DATA_DIR: where a store
    whose log keeps every change (PostgreSQL) can start from instead of building them."""
    return saved_states(Path(data_dir) / INDEX_DIR, NAMES)


class Indexes:
    def __init__(self, store: Store, topic_names: Callable[[], Mapping[str, str]], catalog: Catalog | None = None):
        self.store = store
        self.topic_names = topic_names
        self.catalog = catalog
        self.search = SearchIndex()
        self.related: Related | None = None
        self.snapshot_id = ""  # the state they were loaded or built for (changes since replayed into them)

    def articles(self) -> Mapping[str, dict]:
        return self.store.all("articles")  # the live mapping, read on each call

    def open(self) -> Indexes:
        """Load or build both from the opened store, before its journal is replayed into them."""
        self.snapshot_id = self.store.snapshot_id
        saved = self._saved(self.snapshot_id)
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
        catalog = self.catalog
        if catalog is not None and saved.load("catalog", catalog.load_saved) is None:
            catalog.build()  # here, before workers fork, so they share its arrays
            saved.save("catalog", catalog)
        return self

    def fold_in_compactions(self) -> None:
        """The store's compactions fold the search delta (and every process then loads the folded
        arrays): ask for one when it is due, and fold here only if none comes."""
        self.search.folded_elsewhere = True
        self.store.wants_compaction = self.wants_fold

    def wants_fold(self) -> bool:
        """A fold is due, and no compaction since these indexes' state is waiting to be loaded."""
        return self.store.snapshot_id == self.snapshot_id and self.search.wants_fold()

    def listeners(self) -> tuple:
        """What hears each change, in order."""
        return tuple(part.on_change for part in (self.search, self.related, self.catalog) if part is not None)

    def load_saved(self, snapshot_id: str) -> Indexes | None:
        """Another set over the files saved for this state (by a compaction), or None when any
        of them is missing or unreadable. Touches nothing of this one: a thread may load it
        while requests are served."""
        saved = self._saved(snapshot_id)
        search = saved.load("search", SearchIndex.load)
        if search is None:
            return None
        related = saved.load("related", lambda path: Related.load(path, self.articles, self.topic_names, search=search))
        catalog = self.catalog.blank() if self.catalog is not None else None
        if related is None or (catalog is not None and saved.load("catalog", catalog.load_saved) is None):
            return None
        loaded = Indexes(self.store, self.topic_names, catalog)
        loaded.search, loaded.related, loaded.snapshot_id = search, related, snapshot_id
        return loaded

    def adopt(self, other: Indexes) -> None:
        """Serve other's state from now on (loaded by load_saved and brought up to this
        process's state): the same objects, which the store's listeners and every caller hold."""
        self.search.adopt(other.search)
        self.related.adopt(other.related)
        if self.catalog is not None:
            self.catalog.adopt(other.catalog)
        self.snapshot_id = other.snapshot_id

    def save(self, snapshot_id: str, prune: bool = True) -> None:
        """Save all three for this state (they hold it: a compaction's, or a checkpoint's); with
        prune, drop those of other states."""
        self.snapshot_id = snapshot_id
        saved = self._saved(snapshot_id)
        self.search.fold()
        saved.save("search", self.search, prune)
        saved.save("related", self.related, prune)
        if self.catalog is not None:
            saved.save("catalog", self.catalog, prune)

    def prune(self, snapshot_id: str) -> None:
        """Drop what is saved for states other than this one."""
        self._saved(snapshot_id).prune(NAMES)

    def _saved(self, snapshot_id: str) -> SavedIndexes:
        return SavedIndexes(self.store.data_dir / INDEX_DIR, snapshot_id)

    def nbytes(self) -> dict[str, int]:
        return {"search_bytes": self.search.nbytes(), "related_bytes": self.related.nbytes()}
