"""相关推荐: up to 20 related articles per article, each list exactly what a build gives.

What is kept current on every change is only what an article itself
determines (candidates.CandidateIndex): its raw term counts (a row), the
vocabulary's document frequencies and lengths, its topics, places, date,
status and curated links. Everything that depends on the whole corpus is
derived from that when it is needed and forgotten at the next change that
ranks: an article's weighted vector (vectors.WeighedVectors, with the
document frequencies as they are now), the reference day for recency, and
the lists themselves (ranked per article at its first lookup, about 2 ms at
10k articles). So a list is always the one a build from scratch over the
same articles would give; nothing is patched in place.

Ranking one article (the anchor):

1. Candidates (candidates.py): the anchor's heaviest words run as a query on
   the search index, its best matches by match score and by the ranking's
   formula on that score, plus the anchor's curated links. Never all-pairs.
2. The candidates are scored exactly (ranking.py): content cosine of pruned
   BM25 vectors (title-weighted), topic overlap, the most specific shared
   place (or a penalty for different places), the page's curated 相关推荐
   link, and a light recency prior. Curated links are scraped and noisy (a
   吉林延边 back-pain hospital under a question about a 380元 premium), so they
   weigh less than a fair content match.
3. MMR on the best MMR_POOL: a candidate too similar to one already chosen is
   pushed down, so the list is not five copies of one story.
4. Each card says why it is there (explain.py).

Ties break on the article id, never on a row number. Only published articles
are ever recommended; an article is never its own. save()/load() keep the
index in one file beside the data (saving.py). One re-entrant lock guards the
index and all that is derived from it; the search index has its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from ..forked import as_sequence, batch_map
from ..lru import LRU
from ..search.index import SearchIndex
from ..store import saved_arrays
from . import explain, ranking, saving
from .candidates import CandidateIndex
from .vectors import WeighedVectors, batch_terms

LIMIT = 20
BUILD_BATCH = 1024  # articles whose terms a build counts per task
# Finished card lists (with reasons) kept for repeat lookups: about 12 KB each, per worker; any
# change that ranks clears them all, so under writes few are ever looked up twice.
CACHE_SIZE = 1_000
TEXT_FIELDS = ("title", "answer", "summary", "body")
# What ranks: the text, the signals, and what the search index scores candidates on (tags, category).
RANK_FIELDS = TEXT_FIELDS + ("topics", "regions", "status", "published_at", "related_curated", "tags", "category")

log = logging.getLogger(__name__)


class Related:
    """Related-article lists for a collection of article records.

    `articles` returns the current records by id (the store's
    ``lambda: store.all("articles")``); `topic_names` returns slug -> name for
    the reasons. Subscribe on_change to the store to keep lists current.
    """

    FORMAT = 2  # bump when the saved layout changes
    VECTORS_KEPT = 50_000

    def __init__(
        self,
        articles: Callable[[], Mapping[str, dict]],
        topic_names: Callable[[], Mapping[str, str]] | None = None,
        limit: int = LIMIT,
        reference_day: float | None = None,
        search: SearchIndex | None = None,
    ):
        # Candidates come from the search index. Given one, the caller keeps it
        # current (the service's); without, this builds and updates its own.
        self._owns_search = search is None
        self.search = search if search is not None else SearchIndex()
        self._articles = articles
        self._topic_names = topic_names or dict
        self.limit = limit
        self._fixed_reference = reference_day
        self._lock = threading.RLock()
        self.changes_since_build = 0
        self._use(CandidateIndex())

    @classmethod
    def from_articles(cls, articles: Iterable[dict], topic_names: Mapping[str, str] | None = None, **kw) -> Related:
        records = {a["id"]: a for a in articles}
        names = dict(topic_names or {})
        return cls(lambda: records, lambda: names, **kw).build()

    def _use(self, index: CandidateIndex) -> None:
        """Rank over this index from now on, with nothing derived yet."""
        self.index = index
        # Derived from the index, so forgotten on every change that ranks:
        self._cache = LRU(CACHE_SIZE)  # row -> its cards
        self._vectors = WeighedVectors(index.raw, index.vocab, self.VECTORS_KEPT)
        self._reference: float | None = None  # the newest publication day, for recency

    def adopt(self, other: Related) -> None:
        """Rank over other's candidate index from now on (a newer generation's, loaded from its
        file); this one's search index adopts the matching generation too."""
        with self._lock:
            self._use(other.index)
            self.changes_since_build = other.changes_since_build

    def build(self, workers: int = 1) -> Related:
        """Count every article's terms (lists are ranked at their first lookup);
        workers > 1 counts them on that many forked processes."""
        with self._lock:
            records = as_sequence(self._articles())
            self._use(CandidateIndex(len(records)))
            counted = (terms for batch in batch_map(batch_terms, records, BUILD_BATCH, workers) for terms in batch)
            for article, terms in zip(records, counted, strict=True):
                self.index.set(self.index.row(article["id"], ranked=False), article, terms=terms)
            self.index.rank_ids()
            if self._owns_search:
                self.search.build(records)
            self.changes_since_build = 0
            return self

    # -- looking up ----------------------------------------------------------

    def related(self, article_id: str, limit: int = LIMIT) -> list[dict]:
        """The article's cards, best first: [{id, score, reasons}]; [] for an unknown id."""
        with self._lock:
            records = self._articles()
            row = self.index.row_of.get(article_id)
            if row is None or article_id not in records or not self.index.counted[row]:
                return []
            cards = self._cache.get_or_put(row, lambda: self._cards(row, records))
            return [dict(c) for c in cards[:limit]]

    def _cards(self, row: int, records: Mapping[str, dict]) -> list[dict]:
        rows, scores = self._rank(row)
        if not len(rows):
            return []
        index, vectors = self.index, self._vectors
        words = explain.keywords(vectors.one(row), vectors.of(rows), index.vocab, vectors.dense())
        others = [records.get(index.ids[other]) for other in rows.tolist()]
        curated = np.isin(rows, index.curated_rows(row)).tolist()
        return explain.cards(records[index.ids[row]], others, scores, words, curated, self._topic_names())

    def _rank(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One article's list: (rows, scores), best first."""
        index, signals = self.index, self.index.signals
        cands = self._candidates(row)
        if len(cands) == 0:
            return cands, np.zeros(0, dtype=np.float32)
        cos = self._cosines(row, cands)
        score = ranking.scores(
            cos,
            signals.topic_overlap(row, cands),
            signals.region_match(row, cands),
            np.isin(cands, index.curated_rows(row)),
            signals.recency(cands, self._reference_day()),
        )
        keep = score >= ranking.MIN_SCORE
        pool, pool_score = cands[keep], score[keep]
        top = ranking.by_score(pool_score, index.id_rank[pool])[: ranking.MMR_POOL]
        pool, pool_score = pool[top], pool_score[top]
        chosen = ranking.mmr(pool_score, ranking.pairwise(*self._vectors.of(pool)), self.limit)
        return pool[chosen], pool_score[chosen].astype(np.float32)

    def _candidates(self, row: int) -> np.ndarray:
        return self.index.candidates(row, self._vectors.one(row), self.search, self._reference_day())

    def _cosines(self, row: int, cands: np.ndarray) -> np.ndarray:
        vectors = self._vectors
        return ranking.cosines(vectors.one(row), vectors.of(cands), vectors.dense())

    def _reference_day(self) -> float:
        if self._fixed_reference:
            return self._fixed_reference
        if self._reference is None:
            self._reference = self.index.newest_day()
        return self._reference

    # -- keeping current -----------------------------------------------------

    def on_change(self, kind: str, key: str, old: dict | None, new: dict | None) -> None:
        """Store listener: record what the article now determines; lists follow at the next lookup."""
        if kind == "topics":
            with self._lock:
                self._cache.clear()  # a topic renamed: reasons name it
        if kind != "articles":
            return
        if self._owns_search:
            if new is None:
                self.search.remove(key)
            else:
                self.search.upsert(new)
        if old is not None and new is not None and all(old.get(f) == new.get(f) for f in RANK_FIELDS):
            return  # a timestamp or a version: nothing that ranks
        with self._lock:
            index = self.index
            row = index.row_of.get(key)
            if row is None and new is None:
                return
            row = index.row(key) if row is None else row
            text = old is None or new is None or any(old.get(f) != new.get(f) for f in TEXT_FIELDS)
            text = text or not index.counted[row]  # a row never counted is counted now
            if new is None:
                index.release(key)  # emptied, for the next new article: rows follow the live articles
            else:
                index.set(row, new, text=text)
            self.changes_since_build += 1
            if text:
                self._vectors.clear()  # the statistics moved: every weight may have
            self._reference = None
            self._cache.clear()

    # -- saving and loading --------------------------------------------------

    def save(self, path: Path) -> None:
        """Write what the articles determine to one file, atomically (the layout: saving.py)."""
        with self._lock:  # the arrays are copied out: the lock is not held for the disk write
            arrays = saving.arrays(self.index, self.FORMAT, self.limit, self.changes_since_build)
            arrays = {k: np.array(v) for k, v in arrays.items()}
        saved_arrays.save(path, arrays)

    @classmethod
    def load(
        cls,
        path: Path,
        articles: Callable[[], Mapping[str, dict]],
        topic_names: Callable[[], Mapping[str, str]] | None = None,
        limit: int = LIMIT,
        reference_day: float | None = None,
        search: SearchIndex | None = None,
    ) -> Related | None:
        """The saved structure bound to these accessors, or None when the file is missing,
        unreadable, of another FORMAT, or built with another limit.

        Nothing here checks that the file was built from these articles: the caller
        names the file after the snapshot it was built from."""
        related = cls(articles, topic_names, limit, reference_day, search)
        try:
            with saved_arrays.opened(path) as saved:
                restored = saving.restore(saved, related.FORMAT, related.limit)
        except Exception as exc:  # noqa: BLE001 - a bad cache file costs a rebuild, never a failed start
            log.info("cannot load %s: %r", path, exc)
            return None
        if restored is None:
            return None
        related._use(restored[0])
        related.changes_since_build = restored[1]
        if related._owns_search:
            related.search.build(articles().values())
        return related

    # -- introspection -------------------------------------------------------

    def nbytes(self) -> int:
        return self.index.nbytes() + self._vectors.nbytes()
