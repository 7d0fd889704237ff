"""相关推荐: up to 20 related articles per article, each list exactly what a build gives.

What is kept current on every change is only what an article itself
determines: its raw term counts (a row), the vocabulary's document
frequencies and lengths, its topics, places, date, status and curated
links. Everything that depends on the whole corpus is derived from that when
it is needed and forgotten at the next change that ranks: an article's
weighted vector (weigh, with the document frequencies as they are now), the
reference day for recency, and the lists themselves (ranked per article at
its first lookup, about 2 ms at 10k articles). So a list is always the one a
build from scratch over the same articles would give; nothing is patched in
place.

Ranking one article (the anchor):

1. Candidates: the anchor's QUERY_TERMS heaviest words run as a query on the
   search index (as Lucene's MoreLikeThis does), its POOL best, plus the
   anchor's curated links. Never all-pairs.
2. The candidates are scored exactly:
   content cosine of pruned BM25 vectors (title-weighted), topic overlap,
   the most specific shared place (or a penalty for different places), the
   page's curated 相关推荐 link, and a light recency prior. Curated links are
   scraped and noisy (a 吉林延边 back-pain hospital under a question about a
   380元 premium), so they weigh less than a fair content match.
3. MMR on the best MMR_POOL: a candidate too similar (cosine above
   MMR_THRESHOLD) to one already chosen is pushed down, so the list is not
   five copies of one story.

Ties break on the article id (its rank among all ids), never on a row
number: rows are numbered in the order articles arrived, which a build does
not know. Only published articles are ever recommended; an article is never
its own. save()/load() keep the kept part in one .npz beside the data.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from ..search.index import SearchIndex
from ..store import npz
from . import explain, ranking
from .signals import MAX_REGIONS, Signals
from .vectors import RowStore, Vocabulary, article_terms, term_arrays, weigh

LIMIT = 20
QUERY_TERMS = 12  # anchor terms used to probe the index
POOL = 120  # candidates scored exactly
CACHE_SIZE = 20_000  # finished card lists (with reasons) kept for repeat lookups
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
        self._reset(0)

    @classmethod
    def from_articles(cls, articles: Iterable[dict], topic_names: Mapping[str, str] | None = None, **kw) -> Related:
        records = {a["id"]: a for a in articles}
        names = dict(topic_names or {})
        return cls(lambda: records, lambda: names, **kw).build()

    # -- what each article determines ----------------------------------------

    def _reset(self, rows: int) -> None:
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self._sorted_ids: list[str] = []
        self.id_rank = np.zeros(max(rows, 16), dtype=np.int64)  # position of ids[row] among all ids
        self.vocab = Vocabulary()
        self.raw = RowStore(rows)  # term counts per row: weights = tf, flags = in title, size = length
        self.counted = np.zeros(max(rows, 16), dtype=bool)  # the row's article is in vocab.docs
        self.total_len = 0.0
        self.signals = Signals(max(rows, 16))
        self.eligible = np.zeros(max(rows, 16), dtype=bool)
        self.curated: dict[int, tuple[str, ...]] = {}  # row -> the ids its page links to
        self.linked_from: dict[str, set[int]] = {}  # id -> rows whose pages link to it
        # Derived from all of the above, so forgotten on every change that ranks:
        self._cache: dict[int, list[dict]] = {}  # row -> its cards
        self._vectors: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # row -> (term ids, weights)
        self._reference: float | None = None  # the newest publication day, for recency
        self._dense = np.zeros(1024, dtype=np.float32)

    def build(self) -> Related:
        """Count every article's terms (lists are ranked at their first lookup)."""
        with self._lock:
            records = list(self._articles().values())
            self._reset(len(records))
            for article in records:
                self._set(self._row(article["id"], ranked=False), article)
            self._rank_ids()
            if self._owns_search:
                self.search.build(records)
            self.changes_since_build = 0
            return self

    def _rank_ids(self) -> None:
        n = len(self.ids)
        self._sorted_ids = sorted(self.ids)
        self.id_rank[:n] = np.argsort(np.argsort(np.array(self.ids, dtype=object), kind="stable"), kind="stable")

    def _row(self, key: str, ranked: bool = True) -> int:
        """The row of this id, a new one for an id never seen (ranked among the ids unless a build ranks all)."""
        row = self.row_of.get(key)
        if row is not None:
            return row
        row = len(self.ids)
        self.ids.append(key)
        self.row_of[key] = row
        size = row + 1
        self.raw.ensure_rows(size)
        self.signals.ensure_rows(size)
        if size > len(self.eligible):
            grow = max(size, 2 * len(self.eligible)) - len(self.eligible)
            self.eligible = np.concatenate([self.eligible, np.zeros(grow, dtype=bool)])
            self.counted = np.concatenate([self.counted, np.zeros(grow, dtype=bool)])
            self.id_rank = np.concatenate([self.id_rank, np.zeros(grow, dtype=np.int64)])
        if not ranked:
            return row
        at = bisect.bisect_left(self._sorted_ids, key)
        self._sorted_ids.insert(at, key)
        ranks = self.id_rank[:row]
        ranks[ranks >= at] += 1
        self.id_rank[row] = at
        return row

    def _set(self, row: int, article: dict | None, text: bool = True) -> None:
        """Make row hold what this article (None: nothing) determines."""
        if text:
            self._set_text(row, article)
        self.signals.set(row, article or {})
        self.eligible[row] = article is not None and article.get("status") == "published"
        for target in self.curated.pop(row, ()):
            self.linked_from.get(target, set()).discard(row)
        targets = tuple(dict.fromkeys((article or {}).get("related_curated") or ()))
        if targets:
            self.curated[row] = targets
            for target in targets:
                self.linked_from.setdefault(target, set()).add(row)

    def _set_text(self, row: int, article: dict | None) -> None:
        """The row's term counts, and the document frequencies and lengths they add up to."""
        vocab = self.vocab
        if self.counted[row]:
            tids, _ = self.raw.row(row)
            vocab.df[tids] -= 1
            vocab.docs -= 1
            self.total_len -= self.raw.size[row]
            self.counted[row] = False
        if article is None:
            self.raw.set(row, np.zeros(0, np.int32), np.zeros(0, np.float32))
        else:
            counts, title, length = article_terms(article)
            tids, tf, in_title = term_arrays(vocab, counts, title)
            vocab.df[tids] += 1  # ids are unique within one article
            vocab.docs += 1
            self.total_len += length
            self.counted[row] = True
            self.raw.set(row, tids, tf, in_title, length)
        vocab.avg_len = max(1.0, self.total_len / max(vocab.docs, 1))

    # -- what the whole corpus determines (kept until the next change) -----

    VECTORS_KEPT = 50_000

    def _weighed(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term ids, weights, entries per row) of these rows' vectors, in rows' order."""
        wanted = list(dict.fromkeys(rows.tolist()))
        missing = np.array([r for r in wanted if r not in self._vectors], dtype=np.int64)
        if len(missing):
            if len(self._vectors) + len(missing) > self.VECTORS_KEPT:
                self._vectors.clear()  # bounded: start again with just these rows
                missing = np.array(wanted, dtype=np.int64)
            terms, weights, counts = weigh(self.raw, missing, self.vocab)
            ends = np.cumsum(counts)
            for r, a, b in zip(missing.tolist(), (ends - counts).tolist(), ends.tolist(), strict=True):
                self._vectors[r] = (terms[a:b], weights[a:b])
        parts = [self._vectors[r] for r in rows.tolist()]
        lens = np.fromiter((len(t) for t, _ in parts), dtype=np.int64, count=len(parts))
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.float32), lens
        return np.concatenate([t for t, _ in parts]), np.concatenate([w for _, w in parts]), lens

    def _vector(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        terms, weights, _ = self._weighed(np.array([row]))
        return terms, weights

    def _reference_day(self) -> float:
        if self._fixed_reference:
            return self._fixed_reference
        if self._reference is None:
            rows = len(self.ids)
            days = self.signals.day[:rows][self.counted[:rows]]
            self._reference = float(days.max()) if len(days) else 0.0
        return self._reference

    # -- ranking -------------------------------------------------------------

    def _candidates(self, row: int) -> np.ndarray:
        """The POOL articles whose text best matches the anchor's heaviest words, and its curated links."""
        tids, weights = self._vector(row)
        heaviest = zip(tids[:QUERY_TERMS].tolist(), weights[:QUERY_TERMS].tolist(), strict=True)
        words = [(self.vocab.terms[t], w) for t, w in heaviest]
        found = [self.row_of[i] for i in self.search.similar(words, POOL, exclude=self.ids[row]) if i in self.row_of]
        cands = np.array(found, dtype=np.int32)
        linked = self._curated_rows(row)
        if len(linked):
            cands = np.union1d(cands, linked[self.eligible[linked] & (linked != row)])
        return cands[self.eligible[cands]].astype(np.int32)

    def _curated_rows(self, row: int) -> np.ndarray:
        """Rows the anchor's page links to or that link to it, as the articles are now."""
        out = {self.row_of[t] for t in self.curated.get(row, ()) if t in self.row_of and self.counted[self.row_of[t]]}
        out.update(self.linked_from.get(self.ids[row], ()))
        return np.array(sorted(out), dtype=np.int32)

    def _cosines(self, row: int, cands: np.ndarray) -> np.ndarray:
        return ranking.cosines(self._vector(row), self._weighed(cands), self._scratch())

    def _rank(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One article's list: (rows, scores), best first."""
        cands = self._candidates(row)
        if len(cands) == 0:
            return cands, np.zeros(0, dtype=np.float32)
        cos = self._cosines(row, cands)
        score = ranking.scores(
            cos,
            self.signals.topic_overlap(row, cands),
            self.signals.region_match(row, cands),
            np.isin(cands, self._curated_rows(row)),
            self.signals.recency(cands, self._reference_day()),
        )
        keep = score >= ranking.MIN_SCORE
        pool, pool_score = cands[keep], score[keep]
        top = ranking.by_score(pool_score, self.id_rank[pool])[: ranking.MMR_POOL]
        pool, pool_score = pool[top], pool_score[top]
        chosen = ranking.mmr(pool_score, ranking.pairwise(*self._weighed(pool)), self.limit)
        return pool[chosen], pool_score[chosen].astype(np.float32)

    # -- looking up ----------------------------------------------------------

    def related(self, article_id: str, limit: int = LIMIT) -> list[dict]:
        """The article's cards, best first: [{id, score, reasons}]; [] for an unknown id."""
        with self._lock:
            records = self._articles()
            row = self.row_of.get(article_id)
            if row is None or article_id not in records or not self.counted[row]:
                return []
            cards = self._cache.get(row)
            if cards is None:
                cards = self._cards(row, records)
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[row] = cards
            return [dict(c) for c in cards[:limit]]

    def _cards(self, row: int, records: Mapping[str, dict]) -> list[dict]:
        rows, scores = self._rank(row)
        if not len(rows):
            return []
        words = explain.keywords(self._vector(row), self._weighed(rows), self.vocab, self._scratch())
        others = [records.get(self.ids[other]) for other in rows.tolist()]
        curated = np.isin(rows, self._curated_rows(row)).tolist()
        return explain.cards(records[self.ids[row]], others, scores, words, curated, self._topic_names())

    def _scratch(self) -> np.ndarray:
        """A zeroed dense vector over the vocabulary; callers zero what they set."""
        if len(self._dense) < len(self.vocab.terms):
            self._dense = np.zeros(2 * len(self.vocab.terms), dtype=np.float32)
        return self._dense

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
            return  # a views count or timestamp: nothing that ranks
        with self._lock:
            row = self.row_of.get(key)
            if row is None and new is None:
                return
            row = self._row(key) if row is None else row
            text = old is None or new is None or any(old.get(f) != new.get(f) for f in TEXT_FIELDS)
            self._set(row, new, text=text or not self.counted[row])
            self.changes_since_build += 1
            if text:
                self._vectors.clear()  # the statistics moved: every weight may have
            self._reference = None
            self._cache.clear()

    # -- saving and loading --------------------------------------------------

    def save(self, path: Path) -> None:
        """Write what the articles determine to one file, atomically.

        One uncompressed .npz with no object arrays: strings as UTF-8 blobs
        with end offsets, dicts of arrays flattened with end offsets, scalars
        in a JSON blob ("meta"). The derived part is made again at load.
        """
        with self._lock:  # the arrays are copied out: the lock is not held for the disk write
            arrays = {k: np.array(v) for k, v in self._saved_arrays().items()}
        npz.save(path, arrays)

    def _saved_arrays(self) -> dict[str, np.ndarray]:
        n, terms, sig = len(self.ids), len(self.vocab.terms), self.signals
        pos, lens = self.raw.gather(np.arange(n))  # live entries only: garbage is not saved
        curated_rows = sorted(self.curated)
        meta = {
            "format": self.FORMAT, "limit": self.limit, "rows": n, "terms": terms,
            "docs": self.vocab.docs, "total_len": self.total_len,
            "changes_since_build": self.changes_since_build, "topic_bit": sig.topic_bit,
        }
        return {
            **npz.meta(meta),
            **npz.pack_strings("ids", self.ids),
            **npz.pack_strings("terms", self.vocab.terms),
            **npz.pack_strings("region_names", sig.region_names),
            **npz.pack_strings("curated_ids", [t for r in curated_rows for t in self.curated[r]]),
            "curated_rows": np.asarray(curated_rows, dtype=np.int64),
            "curated_counts": np.asarray([len(self.curated[r]) for r in curated_rows], dtype=np.int64),
            "df": self.vocab.df[:terms],
            "term_length": self.vocab.length[:terms],
            "raw_length": self.raw.length[:n],
            "raw_size": self.raw.size[:n],
            "raw_terms": self.raw.terms[pos],
            "raw_tf": self.raw.weights[pos],
            "raw_title": self.raw.flags[pos],
            "counted": self.counted[:n],
            "topics": sig.topics[:n],
            "regions": sig.regions[:n],
            "day": sig.day[:n],
            "region_score": sig.region_score[: len(sig.region_names)],
            "eligible": self.eligible[:n],
        }

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
            with npz.opened(path) as saved:
                if not related._restore(saved):
                    return None
        except Exception as exc:  # noqa: BLE001 - a bad cache file costs a rebuild, never a failed start
            log.info("cannot load %s: %r", path, exc)
            return None
        if related._owns_search:
            related.search.build(articles().values())
        return related

    def _restore(self, saved) -> bool:
        """Fill self from an open .npz; False when it was saved for other settings.

        Shapes, dtypes and index ranges are checked, so a file that reads
        but does not fit raises here rather than at some later lookup.
        """
        meta = npz.read_meta(saved)
        if meta["format"] != self.FORMAT or meta["limit"] != self.limit:
            return False
        n, terms = int(meta["rows"]), int(meta["terms"])
        self._reset(n)
        self.ids = npz.unpack_strings(saved, "ids", n)
        self.row_of = {aid: i for i, aid in enumerate(self.ids)}
        npz.check(len(self.row_of) == n)
        self._rank_ids()

        vocab = self.vocab
        vocab.terms = npz.unpack_strings(saved, "terms", terms)
        vocab.ids = {term: i for i, term in enumerate(vocab.terms)}
        vocab.df = _grown(npz.array(saved, "df", np.int32, (terms,)), 1024)
        vocab.length = _grown(npz.array(saved, "term_length", np.int8, (terms,)), 1024)
        vocab.docs, self.total_len = int(meta["docs"]), float(meta["total_len"])
        vocab.avg_len = max(1.0, self.total_len / max(vocab.docs, 1))

        raw = self.raw
        lengths = npz.array(saved, "raw_length", np.int32, (n,))
        npz.check((lengths >= 0).all())
        raw.terms = npz.in_range(npz.array(saved, "raw_terms", np.int32), terms)
        raw.weights = npz.array(saved, "raw_tf", np.float32, raw.terms.shape)
        raw.flags = npz.array(saved, "raw_title", np.bool_, raw.terms.shape)
        npz.check(int(lengths.sum()) == len(raw.terms))
        raw.length[:n] = lengths
        raw.start[:n] = np.cumsum(lengths) - lengths
        raw.size[:n] = npz.array(saved, "raw_size", np.float64, (n,))
        raw.used = len(raw.terms)
        self.counted[:n] = npz.array(saved, "counted", np.bool_, (n,))

        sig = self.signals
        sig.topic_bit = {str(slug): int(bit) for slug, bit in meta["topic_bit"].items()}
        npz.check(all(0 <= bit < 64 for bit in sig.topic_bit.values()))
        sig.region_names = npz.unpack_strings(saved, "region_names")
        sig.region_id = {name: i for i, name in enumerate(sig.region_names)}
        sig.region_score = _grown(npz.array(saved, "region_score", np.float32, (len(sig.region_names),)), 64)
        sig.topics[:n] = npz.array(saved, "topics", np.uint64, (n,))
        sig.regions[:n] = npz.array(saved, "regions", np.int32, (n, MAX_REGIONS))
        sig.day[:n] = npz.array(saved, "day", np.float32, (n,))
        npz.in_range(sig.regions[:n], len(sig.region_names), -1)
        self.eligible[:n] = npz.array(saved, "eligible", np.bool_, (n,))

        curated_rows = npz.in_range(npz.array(saved, "curated_rows", np.int64), n)
        counts = npz.array(saved, "curated_counts", np.int64, curated_rows.shape)
        targets = npz.unpack_strings(saved, "curated_ids", int(counts.sum()))
        at = 0
        for row, count in zip(curated_rows.tolist(), counts.tolist(), strict=True):
            self.curated[row] = tuple(targets[at:at + count])
            at += count
            for target in self.curated[row]:
                self.linked_from.setdefault(target, set()).add(row)
        self.changes_since_build = int(meta["changes_since_build"])
        return True

    # -- introspection -------------------------------------------------------

    def nbytes(self) -> int:
        arrays = (self.eligible, self.counted, self.id_rank, self._dense, self.vocab.df, self.signals.topics,
                  self.signals.regions, self.signals.day)
        vectors = sum(t.nbytes + w.nbytes for t, w in self._vectors.values())
        return self.raw.nbytes() + vectors + sum(a.nbytes for a in arrays)


def _grown(values: np.ndarray, minimum: int) -> np.ndarray:
    """values in an array of at least `minimum` (zero-filled): growth by doubling needs a non-empty array."""
    out = np.zeros(max(len(values), minimum), dtype=values.dtype)
    out[: len(values)] = values
    return out
