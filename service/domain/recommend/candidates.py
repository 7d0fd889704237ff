"""What each article determines for 相关推荐, row by row, and where an anchor's candidates come from.

A row holds one article's raw term counts (vectors.RowStore), its signals
(topics, places, date), whether it may be recommended (published) and the
ids its page links to. The vocabulary's document frequencies and lengths are
the sum of the counted rows. Nothing here depends on the corpus as a whole:
the weighed vectors are made from it when needed (vectors.WeighedVectors).

Rows are numbered in the order articles arrived; id_rank says where each
row's id sorts among all ids, for ties that do not depend on that order. A
deleted article's row is emptied and given to the next new article (its id
is then "" meanwhile), so rows follow the live articles, not every article
ever written: nothing ranks on a row number, so which row an article holds
changes no answer.

Candidates: the anchor's QUERY_TERMS heaviest words run as a query on the
search index (as Lucene's MoreLikeThis does), plus the anchor's curated
links in either direction. Never all-pairs. Of the query's WIDE best
matches two overlapping pools are scored exactly:

* the POOL best matches: the match score follows the cosine only loosely
  (other fields and weights, no pruning), so the cosine's top 20 lie deep
  in it (at 100k articles, 1 in 5 below rank 120);
* the SIGNAL_POOL best by the exact score's own formula, with the match's
  share of the anchor's match with itself standing in for the cosine: the
  lists are ranked on topics, places and recency too, and a same-place,
  same-topic article with a fair text match outranks a closer text from
  elsewhere. The match order alone missed 4 in 10 of that top 20 at 100k.

The signals are a few array reads a row, so looking at the WIDE matches
costs little beside weighing the ones scored exactly.
"""

from __future__ import annotations

import bisect
from itertools import repeat

import numpy as np

from ..content.article_record import is_public
from ..search.index import SearchIndex
from . import ranking
from .signals import Signals
from .vectors import RowStore, Vocabulary, article_terms, term_arrays

QUERY_TERMS = 12  # anchor terms used to probe the index
WIDE = 1000  # matches of the probe looked at
POOL = 200  # best matches scored exactly
SIGNAL_POOL = 200  # best of WIDE by the exact formula on the match score, scored exactly


class CandidateIndex:
    def __init__(self, rows: int = 0):
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
        self.free: list[int] = []  # emptied rows (id ""), for the next new articles

    def rank_ids(self) -> None:
        """id_rank for all rows at once (a build or a load; a new row alone is ranked by row())."""
        n = len(self.ids)
        self._sorted_ids = sorted(i for i in self.ids if i)
        # Empty rows ("") sort first: the ids' ranks start after them, and theirs are -1.
        ranks = np.argsort(np.argsort(np.array(self.ids, dtype=object), kind="stable"), kind="stable")
        self.id_rank[:n] = np.maximum(ranks - (n - len(self._sorted_ids)), -1)

    def row(self, key: str, ranked: bool = True) -> int:
        """The row of this id, a new one for an id never seen (ranked among the ids unless a build ranks all)."""
        row = self.row_of.get(key)
        if row is not None:
            return row
        if self.free:
            row = self.free.pop()
            self.ids[row] = key
        else:
            row = len(self.ids)
            self.ids.append(key)
        self.row_of[key] = row
        size = len(self.ids)
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
        ranks = self.id_rank[: len(self.ids)]
        ranks[ranks >= at] += 1
        self.id_rank[row] = at
        return row

    def release(self, key: str) -> None:
        """Empty the row of an article deleted (what it determined is gone) and keep it for the next new one."""
        row = self.row_of.get(key)
        if row is None:
            return
        self.set(row, None)
        del self.row_of[key]
        self.ids[row] = ""
        at = bisect.bisect_left(self._sorted_ids, key)
        del self._sorted_ids[at]
        ranks = self.id_rank[: len(self.ids)]
        ranks[ranks > at] -= 1
        self.id_rank[row] = -1
        self.free.append(row)

    def set(self, row: int, article: dict | None, text: bool = True, terms: tuple | None = None) -> None:
        """Make row hold what this article (None: nothing) determines; text=False keeps its term counts.
        terms: the article's article_terms when they were counted already (a build)."""
        if text:
            self._set_text(row, article, terms)
        self.signals.set(row, article or {})
        self.eligible[row] = is_public(article)
        for target in self.curated.pop(row, ()):
            rows = self.linked_from.get(target)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del self.linked_from[target]
        targets = tuple(dict.fromkeys((article or {}).get("related_curated") or ()))
        if targets:
            self.curated[row] = targets
            for target in targets:
                self.linked_from.setdefault(target, set()).add(row)

    def _set_text(self, row: int, article: dict | None, terms: tuple | None = None) -> None:
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
            counts, title, length = terms or article_terms(article)
            tids, tf, in_title = term_arrays(vocab, counts, title)
            vocab.df[tids] += 1  # ids are unique within one article
            vocab.docs += 1
            self.total_len += length
            self.counted[row] = True
            self.raw.set(row, tids, tf, in_title, length)
        vocab.avg_len = max(1.0, self.total_len / max(vocab.docs, 1))

    def newest_day(self) -> float:
        """The newest publication day among the articles (0 with none): recency's reference."""
        rows = len(self.ids)
        days = self.signals.day[:rows][self.counted[:rows]]
        return float(days.max()) if len(days) else 0.0

    def curated_rows(self, row: int) -> np.ndarray:
        """Rows the anchor's page links to or that link to it, as the articles are now."""
        out = {self.row_of[t] for t in self.curated.get(row, ()) if t in self.row_of and self.counted[self.row_of[t]]}
        out.update(self.linked_from.get(self.ids[row], ()))
        return np.array(sorted(out), dtype=np.int32)

    def candidates(
        self, row: int, vector: tuple[np.ndarray, np.ndarray], search: SearchIndex, reference_day: float
    ) -> np.ndarray:
        """The eligible rows worth scoring for the anchor (vector: its term ids and weights,
        heaviest first): of the WIDE best matches for its heaviest words, the POOL best, and the
        SIGNAL_POOL best by the exact score's formula with the match's share of the anchor's own
        match standing in for the cosine; and its curated links."""
        tids, weights = vector
        heaviest = zip(tids[:QUERY_TERMS].tolist(), weights[:QUERY_TERMS].tolist(), strict=True)
        words = [(self.vocab.terms[t], w) for t, w in heaviest]
        found, matched, own = search.similar_scored(words, WIDE, exclude=self.ids[row])
        wide = np.fromiter(map(self.row_of.get, found, repeat(-1)), dtype=np.int32, count=len(found))
        keep = wide >= 0
        keep[keep] = self.eligible[wide[keep]]
        wide, matched = wide[keep], matched[keep]
        order = ranking.by_score(matched, self.id_rank[wide])  # best match first, ties in id order
        wide, matched = wide[order], matched[order]
        linked = self.curated_rows(row)
        guess = ranking.scores(
            matched / max(own, 1e-9),
            self.signals.topic_overlap(row, wide),
            self.signals.region_match(row, wide),
            np.isin(wide, linked),
            self.signals.recency(wide, reference_day),
        )
        cands = np.union1d(wide[:POOL], wide[np.argsort(-guess, kind="stable")[:SIGNAL_POOL]])
        if len(linked):
            cands = np.union1d(cands, linked[self.eligible[linked] & (linked != row)])
        return cands.astype(np.int32)

    def nbytes(self) -> int:
        arrays = (self.eligible, self.counted, self.id_rank, self.vocab.df, self.signals.topics,
                  self.signals.regions, self.signals.day)
        return self.raw.nbytes() + sum(a.nbytes for a in arrays)
