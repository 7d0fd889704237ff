"""Full-text search over articles, in process: the index readers query.

SearchIndex is the front; its parts each read on their own:
- documents.py: the document table (id, title, summary, alive, draft, date
  per docno);
- building.py: articles to postings rows (tokens, pinyin bigrams, impacts),
  for a build and an upsert alike;
- planning.py: a query's text to its plan (synonym groups, question words,
  pinyin keys);
- scoring.py: BM25F impacts and idf; scored_plan.py: a plan's scores of
  any docnos; ranking.py: the page, scoring only what can reach it;
- postings.py, highlight.py, suggest.py: the arrays, the <em> marks and
  the completions (their keys computed by the build, kept current by
  upsert/remove, folded with the postings' delta, renumbered by compaction).

What the front itself does:
- Facets follow the usual faceted-UI rule: topic counts are over the
  query's matches with the region filter applied (not the topic filter),
  region counts with the topic filter applied (not the region filter), so
  a reader sees how many results each alternative choice would give.
- upsert/remove cost about a millisecond: they append to a delta and mask
  the old docno; the delta is folded into the arrays every DELTA_DOCS
  changes or 1/DELTA_SHARE of the index, whichever is more (a fold
  rewrites every posting and leaves each process its own copy of the
  arrays, so a large index folds rarely), and dead docnos are dropped once
  they are a quarter of the index.
- Answers to repeated searches and completions are remembered until the
  index changes.
- One lock serialises the public calls: a threaded worker may refresh
  while it searches.
- save/load: building tokenises every article (tens of seconds at 100k),
  so the built index is saved as one mapped file (store/saved_arrays; each part's flat
  arrays under its name) and loaded at the next start. Derived parts (dense
  rows) are recomputed; the suggester is loaded ready, so the first reader
  typing in the search box waits for nothing. A file of another FORMAT or
  scoring setup, or one that does not read, loads as None: it is a cache,
  the caller rebuilds.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..forked import as_sequence
from ..lru import LRU
from ..store import saved_arrays
from .building import fingerprint, index_all, index_one
from .documents import Documents
from .facets import Facet
from .highlight import highlight
from .planning import Plan, clean_query, plan_query
from .postings import Postings
from .ranking import page, ranked
from .scored_plan import ScoredPlan
from .scoring import Scorer
from .suggest import Suggester, popular_matches
from .synonyms import Synonyms

DELTA_DOCS = 2000
DELTA_SHARE = 50
PRIVATE_FOLD_LATER = 3  # with compactions folding: how many times the fold size this one waits
COMPACT_DEAD = 1000  # dead docnos are dropped once more than this many and a quarter of the index
ANSWERS_KEPT = 2048  # remembered search and suggest answers (cleared by any change)


@dataclass
class Hit:
    id: str
    score: float
    highlights: dict[str, str]


@dataclass
class SearchResult:
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: {"topics": [], "regions": []}
    )


def _locked(method):
    """Serialise public calls: a threaded worker may refresh while it searches."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class SearchIndex:
    """In-process search index; see the module docstring for the design."""

    FORMAT = 5  # bump when the saved layout changes

    def __init__(self, synonyms: Synonyms | None = None):
        self.synonyms = synonyms if synonyms is not None else Synonyms.load()
        self._lock = threading.RLock()
        self.folded_elsewhere = False  # a compaction folds the delta and every process loads the result
        self._reset()

    def _reset(self) -> None:
        self._use(Documents(), Postings(), Postings(), Facet(), Facet(), Suggester())

    def _use(
        self, docs: Documents, postings: Postings, pinyin: Postings, topics: Facet, regions: Facet,
        suggester: Suggester,
    ) -> None:
        self.docs = docs
        self.postings = postings
        self.pinyin = pinyin
        self.topics = topics
        self.regions = regions
        self.suggester = suggester
        self.scorer = Scorer(docs, postings, pinyin)
        # Answers to repeated searches and completions, until the index changes:
        # readers repeat what is popular (大家都在搜 invites it).
        self._answers = LRU(ANSWERS_KEPT)
        self._version = 0  # names the set of documents, for what the facets remember of it

    def adopt(self, other: SearchIndex) -> None:
        """Answer from other's parts from now on (a newer generation's, loaded from its file)."""
        with self._lock:
            self._use(other.docs, other.postings, other.pinyin, other.topics, other.regions, other.suggester)
            self._version = other._version  # what its facets remember is keyed by it

    def _remembered(self, key: tuple, compute):
        return self._answers.get_or_put(key, compute)

    # -- building --------------------------------------------------------

    def _register(self, article: dict) -> int:
        docno = self.docs.add(article)
        self.topics.add(docno, list(article.get("topics") or []))
        self.regions.add(docno, list(article.get("regions") or []))
        return docno

    @_locked
    def build(self, articles: Iterable[dict], workers: int = 1) -> None:
        """Index all articles from scratch (replaces any previous content).

        Tokenising is ~90% of the cost, so workers > 1 splits it over
        forked processes (Linux); call it before starting threads, e.g. in
        the gunicorn master with preload_app, whose forked workers then
        share the arrays copy-on-write.
        """
        self._reset()
        articles = as_sequence(articles)
        for article in articles:
            self._register(article)
        keys = index_all(articles, self.postings, self.pinyin, workers)
        self.suggester = Suggester.build(keys, self.docs)

    # -- incremental -----------------------------------------------------

    @_locked
    def upsert(self, article: dict) -> None:
        """Add or replace one article (cheap: a delta append plus a mask).

        Impacts come from the same code as a build's, on a batch of one, so
        an article indexed here is scored exactly as a rebuild would score it.
        """
        self.remove(str(article["id"]))
        docno = self._register(article)
        self.suggester.add(docno, index_one(article, docno, self.postings, self.pinyin))
        self._changed()
        self._maintain()

    @_locked
    def fold(self) -> None:
        """Fold every delta into the base arrays before a save: the generation a compaction
        saves (which every worker then maps and shares) starts with no delta of its own."""
        for part in (self.postings, self.pinyin, self.topics, self.regions):
            part.merge_delta()
        if self.docs.size > self.suggester.size:
            self.suggester.fold(self.docs)
        self._changed()

    @_locked
    def remove(self, article_id: str) -> None:
        """Forget an article; unknown ids are ignored."""
        docno = self.docs.remove(article_id)
        if docno is None:
            return
        self.suggester.remove(docno)
        self._changed()
        self._maintain()

    def on_change(self, kind: str, key: str, old: dict | None, new: dict | None) -> None:
        """Store listener (as Related.on_change): an article written is upserted, one deleted removed."""
        if kind != "articles":
            return
        if new is None:
            self.remove(key)
        else:
            self.upsert(new)

    def _changed(self) -> None:
        """Forget what depends on the set of live documents."""
        self._version += 1
        self._answers.clear()
        self.scorer.forget()

    def _fold_at(self) -> int:
        return max(DELTA_DOCS, self.docs.size // DELTA_SHARE)

    def wants_fold(self) -> bool:
        """The delta is as large as a fold is for: time for a compaction, which folds it once
        for every process (see folded_elsewhere)."""
        fold_at = self._fold_at()
        return self.postings.delta_docs >= fold_at or self.docs.size - self.suggester.size >= fold_at

    def _maintain(self) -> None:
        # A fold here copies the arrays into this process's memory, each worker its own. Where a
        # compaction folds them for all (folded_elsewhere), this one only waits for it so long.
        fold_at = self._fold_at() * (PRIVATE_FOLD_LATER if self.folded_elsewhere else 1)
        if self.postings.delta_docs >= fold_at:
            self.postings.merge_delta()
            self.pinyin.merge_delta()
        if self.docs.size - self.suggester.size >= fold_at:  # docnos added since its last fold
            self.suggester.fold(self.docs)
        total = self.docs.size
        if self.docs.dead > COMPACT_DEAD and self.docs.dead * 4 > total:
            self._compact()

    def _compact(self) -> None:
        self.suggester.fold(self.docs)  # drops the dead while docs still numbers them
        keep, remap = self.docs.compact()
        for part in (self.postings, self.pinyin, self.topics, self.regions):
            part.compact(keep, remap)
        self.suggester.compact(self.docs, keep, remap)

    def __len__(self) -> int:
        return self.docs.live

    def __contains__(self, article_id: object) -> bool:
        return str(article_id) in self.docs.docno

    # -- querying --------------------------------------------------------

    def _plan(self, query: str) -> Plan:
        return plan_query(query, self.synonyms, lambda w: self.scorer.df(self.postings, w), self.docs.live)

    @_locked
    def search(
        self,
        query: str,
        topic: str | tuple[str, ...] | None = None,
        region: str | None = None,
        include_drafts: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchResult:
        """Ranked matches for the query, with highlights and facet counts (shared: do not modify)."""
        key = ("search", query, topic, region, include_drafts, offset, limit)
        return self._remembered(key, lambda: self._search(query, topic, region, include_drafts, offset, limit))

    def _search(self, query, topic, region, include_drafts, offset, limit) -> SearchResult:
        size = self.docs.size
        query = clean_query(query)
        offset, limit = max(int(offset), 0), max(int(limit), 0)
        if not query.strip() or not size:
            return SearchResult(total=0)
        plan = self._plan(query)
        if not plan.groups and not plan.pinyin:
            return SearchResult(total=0)
        scored = ScoredPlan(self.scorer, plan)
        visible = self.docs.visible(size, include_drafts)
        matched = scored.matches(size) & visible
        in_topic = None
        for name in ((topic,) if isinstance(topic, str) else topic or ()):  # a topic, or a family of them
            mask = self.topics.docs_with(name, size)
            in_topic = mask if in_topic is None else in_topic | mask
        in_region = self.regions.docs_with(region, size) if region else None
        topic_universe = visible & in_region if region else visible
        region_universe = visible & in_topic if topic else visible
        facets = {
            "topics": self.topics.counts(matched & topic_universe, topic_universe,
                                         (self._version, include_drafts, region)),
            "regions": self.regions.counts(matched & region_universe, region_universe,
                                           (self._version, include_drafts, topic)),
        }
        final = matched
        if topic:
            final = final & in_topic
        if region:
            final = final & in_region
        total = int(np.count_nonzero(final))
        if not limit or offset >= total:
            return SearchResult(total=total, facets=facets)
        candidates, scores = ranked(scored, final, total, offset + limit)
        at = page(self.docs, candidates, scores, offset, limit)
        hits = [self._hit(int(candidates[i]), float(scores[i]), plan) for i in at]
        return SearchResult(total=total, hits=hits, facets=facets)

    def _hit(self, docno: int, score: float, plan: Plan) -> Hit:
        keys = {k for k, _ in plan.pinyin}
        return Hit(
            id=self.docs.ids[docno] or "",
            score=round(score, 4),
            highlights={
                "title": highlight(self.docs.titles[docno], plan.terms, keys),
                "summary": highlight(self.docs.summaries[docno], plan.terms),
            },
        )

    @_locked
    def similar(self, terms: Sequence[tuple[str, float]], limit: int, exclude: str | None = None) -> list[str]:
        """Ids of the published articles best matching these weighted words, best first.

        The candidates behind 相关推荐 (as Lucene's MoreLikeThis): an anchor's
        heaviest words as a query, scored like a search, so they are exactly
        what a fresh index would give. Equal scores break on date, then id.
        """
        candidates, scores, _ = self._similar(terms, limit, exclude)
        ids = self.docs.ids
        return [ids[candidates[i]] or "" for i in page(self.docs, candidates, scores, 0, limit)]

    @_locked
    def similar_scored(
        self, terms: Sequence[tuple[str, float]], limit: int, exclude: str | None = None
    ) -> tuple[list[str], np.ndarray, float]:
        """Every published article scoring at least the limit-th best for these weighted words
        (ties at the limit included, so the set is what a fresh index gives), in no set order,
        with their scores; and the excluded article's own score (0 without one), the scale
        against which the others' say how close they come. Cheaper than similar() for a wide
        pool: no order, no tie-breaks."""
        candidates, scores, own = self._similar(terms, limit, exclude)
        if limit < len(candidates):
            at = np.flatnonzero(scores >= np.partition(scores, len(scores) - limit)[len(scores) - limit])
            candidates, scores = candidates[at], scores[at]
        ids = self.docs.ids
        return [ids[d] or "" for d in candidates.tolist()], scores, own

    def _similar(
        self, terms: Sequence[tuple[str, float]], limit: int, exclude: str | None
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(docnos, scores) of published matches holding all that rank in the first limit, and
        the excluded article's own score."""
        size = self.docs.size
        empty = np.zeros(0, np.int64), np.zeros(0, np.float32), 0.0
        if not size or not terms or limit <= 0:
            return empty
        scored = ScoredPlan.of_terms(self.scorer, terms)
        final = scored.matches(size) & self.docs.visible(size)
        skip = self.docs.docno.get(exclude) if exclude is not None else None
        own = 0.0
        if skip is not None:
            final[skip] = False
            own = float(scored.scores_of(np.array([skip], np.int64), size)[0])
        total = int(np.count_nonzero(final))
        if not total:
            return empty[0], empty[1], own
        candidates, scores = ranked(scored, final, total, limit)
        return candidates, scores, own

    # -- suggestions -----------------------------------------------------

    @_locked
    def suggest(self, prefix: str, limit: int = 10, popular: Sequence[str] = ()) -> list[dict]:
        """Popular queries, then titles, that start with the prefix or contain it.

        A prefix matches the normalised text, its full pinyin (yibao) or its
        initials (ybk); words inside a title match by text (search_suggest).
        Drafts are never suggested.
        """
        key = ("suggest", prefix, limit, tuple(popular))
        return [dict(s) for s in self._remembered(key, lambda: self._suggest(prefix, limit, popular))]

    def _suggest(self, prefix: str, limit: int, popular: Sequence[str]) -> list[dict]:
        prefix = clean_query(prefix)
        limit = max(int(limit), 0)
        if not prefix.strip() or not limit:
            return []
        out = [{"text": q, "id": None} for q in popular_matches(prefix, popular)]
        docs = self.docs
        seen = {o["text"] for o in out}
        docnos = [d for d in self.suggester.candidates(prefix, docs) if not docs.draft[d]]
        for d in docnos:  # candidates() returns them ranked
            if docs.titles[d] not in seen:
                seen.add(docs.titles[d])
                out.append({"text": docs.titles[d], "id": docs.ids[d]})
        return out[:limit]

    # -- saving ----------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the whole index to one file, atomically."""
        with self._lock:
            arrays = self._state()
        # Serialised and written outside the lock so searches are not held up:
        # the arrays referenced are replaced on change, never modified in place
        # (those that are were copied by _state).
        saved_arrays.save(path, arrays)

    @classmethod
    def load(cls, path: Path, synonyms: Synonyms | None = None) -> SearchIndex | None:
        """The saved index, or None when the file is missing, unreadable, or of another FORMAT."""
        try:
            with saved_arrays.opened(path) as saved:
                parts = cls._restore(saved)
        except Exception:  # any unreadable cache (truncated, garbage, missing keys) means rebuild
            return None
        if parts is None:
            return None
        index = cls(synonyms)
        index._use(**parts)
        return index

    def _state(self) -> dict[str, np.ndarray]:
        arrays = saved_arrays.meta({"format": self.FORMAT, "scoring": fingerprint()})
        for name in _PARTS:
            for key, value in getattr(self, name).state().items():
                arrays[f"{name}.{key}"] = value
        return arrays

    @classmethod
    def _restore(cls, saved: Mapping[str, np.ndarray]) -> dict[str, object] | None:
        """The parts from a saved file, None if it is of another format."""
        meta = saved_arrays.read_meta(saved)
        if meta.get("format") != cls.FORMAT or meta.get("scoring") != fingerprint():
            return None
        files = saved.keys()
        parts: dict[str, object] = {}
        for name, kind in _PARTS.items():
            prefix = f"{name}."
            parts[name] = kind.from_state({k[len(prefix):]: saved[k] for k in files if k.startswith(prefix)})
        return parts

    # -- diagnostics -----------------------------------------------------

    def nbytes(self) -> int:
        """Bytes held in numpy arrays and the suggester's key blobs (Python-side vocab and strings,
        and what cached_nbytes counts, excluded)."""
        arrays = self.docs.nbytes()
        parts = (self.postings, self.pinyin, self.topics, self.regions, self.suggester)
        return arrays + sum(p.nbytes() for p in parts)

    def cached_nbytes(self) -> int:
        """Bytes of what queries build as they need it (rows of common words, facets by value)."""
        return sum(p.cached_nbytes() for p in (self.postings, self.pinyin, self.topics, self.regions))


# What a saved file holds, each part's arrays under its name.
_PARTS: dict[str, type[Documents] | type[Postings] | type[Facet] | type[Suggester]] = {
    "docs": Documents, "postings": Postings, "pinyin": Postings, "topics": Facet, "regions": Facet,
    "suggester": Suggester,
}
