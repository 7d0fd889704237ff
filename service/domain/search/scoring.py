"""Scoring: BM25F impacts, adding a plan's terms up, and the ranked page.

- BM25F folds the fields into one pseudo term frequency per (term, article)
  (each field weighted and length-normalised), so a posting is one docno
  and one uint8 impact and a query is a few numpy scatter-adds into a dense
  accumulator, then np.argpartition for the page. A very common term such
  as 医保 (every article) stays well under 5 ms at 100k articles.
- Length normalisation uses typical lengths rather than corpus averages,
  so an article's impacts never depend on the rest of the index (see
  TYPICAL_LENGTHS); only idf does, and it is computed at query time over
  live documents.
- A synonym group scores its best variant in full and the others at
  GROUP_EXTRA, with one idf from its most common member.
- Equal scores break on date (newer first), then on the article id: never
  on the docno, which says when an article was last indexed.
"""

from __future__ import annotations

import numpy as np

from .documents import Documents
from .planning import Plan
from .postings import IMPACT_SCALE, Postings

FIELDS = ("title", "answer", "summary", "meta", "body")
FIELD_WEIGHT = np.array([1.0, 2.0, 1.5, 1.5, 1.0])  # title's own weight is TITLE_SHARE
FIELD_B = np.array([0.3, 0.6, 0.5, 0.0, 0.75])
K1 = 1.2
TITLE_K1 = 0.3  # one title mention is nearly the whole title share
TITLE_SHARE = 0.55
PINYIN_K1 = 1.2
# Length normalisation uses these typical lengths (in tokens; those of the
# site's pages, measured on seeds/) rather than the corpus averages: an
# article's impacts then never depend on what else is in the index, so an
# edit elsewhere never changes its score, and an index kept current one
# change at a time holds exactly what a rebuild would.
TYPICAL_LENGTHS = np.array([8.0, 1.0, 50.0, 2.0, 110.0])  # per field, as FIELDS
TYPICAL_TITLE_KEYS = 20.0  # pinyin syllable bigrams per title
GROUP_EXTRA = 0.25  # weight of a synonym group's second and later variants


def settings() -> list:
    """The constants baked into impacts, in a fixed order (read when called)."""
    return [
        FIELDS, FIELD_WEIGHT.tolist(), FIELD_B.tolist(), K1, TITLE_K1, TITLE_SHARE, PINYIN_K1,
        IMPACT_SCALE, TYPICAL_LENGTHS.tolist(), TYPICAL_TITLE_KEYS,
    ]


# -- impacts (at indexing) -----------------------------------------------


def field_tf(tf: np.ndarray, field: np.ndarray, length: np.ndarray) -> np.ndarray:
    """BM25F pseudo term frequency of a term in one field: weighted, length-normalised."""
    norm = 1 - FIELD_B[field] + FIELD_B[field] * length / TYPICAL_LENGTHS[field]
    return FIELD_WEIGHT[field] * tf / norm


def impact(title: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """uint8 impact of a (term, doc): saturated title part plus BM25F rest.

    Titles here are the reader's question, so a title mention is its own
    saturating component rather than a few more pseudo-occurrences that a
    body repeating the term would swamp.
    """
    score = TITLE_SHARE * title / (TITLE_K1 + title) + (1 - TITLE_SHARE) * rest / (K1 + rest)
    return quantise(score)


def pinyin_impact(tf: np.ndarray, title_keys: np.ndarray) -> np.ndarray:
    """uint8 impact of a pinyin bigram in a title of title_keys bigrams."""
    norm = 0.25 + 0.75 * title_keys / TYPICAL_TITLE_KEYS
    pseudo = tf / norm
    return quantise(pseudo / (PINYIN_K1 + pseudo))


def quantise(impact: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(impact * IMPACT_SCALE), 1, IMPACT_SCALE).astype(np.uint8)


# -- scores (at query time) ----------------------------------------------


def accumulate(acc: np.ndarray, docs: np.ndarray, scores: np.ndarray) -> None:
    """acc[docs] += scores, for docs without repeats."""
    if len(docs) * 8 > len(acc):
        # A fancy-index scatter costs ~9 ns an element, bincount ~3.5 ns.
        acc += np.bincount(docs, weights=scores, minlength=len(acc)).astype(np.float32)
    else:
        acc[docs] += scores


class Scorer:
    """Scores over docnos of plans and weighted terms, idf over the live documents."""

    def __init__(self, docs: Documents, postings: Postings, pinyin: Postings):
        self.docs = docs
        self.postings = postings
        self.pinyin = pinyin
        # Document frequencies over live documents: postings of a removed or
        # replaced version stay in the arrays until compaction and must not count.
        self._live_df: dict[tuple[bool, str], int] = {}

    def forget(self) -> None:
        """Drop the remembered frequencies: the set of live documents changed."""
        self._live_df.clear()

    def df(self, postings: Postings, term: str) -> int:
        """Live documents holding the term."""
        if not self.docs.dead:
            return postings.df(term)
        key = (postings is self.pinyin, term)
        df = self._live_df.get(key)
        if df is None:
            found = postings.get(term)
            df = self._live_df[key] = int(self.docs.alive[found[0]].sum()) if found is not None else 0
        return df

    def idf(self, df: int) -> float:
        n = max(self.docs.live, 1)
        return float(np.log1p((n - df + 0.5) / (df + 0.5)))

    def score(self, plan: Plan, size: int) -> np.ndarray:
        acc = np.zeros(size, np.float32)
        for group in plan.groups:
            # One idf for the whole group, from its most common member (as
            # Lucene's SynonymQuery does): a rare synonym such as 转回 must not
            # outscore the word the reader typed (转移).
            df = max((self.df(self.postings, p[0]) for p in group if len(p) == 1), default=0)
            idf = self.idf(df) if df and len(group) > 1 else None
            if len(group) == 1 and len(phrase := next(iter(group))) == 1:
                self.add_term(acc, self.postings, phrase[0], group[phrase], idf)
            else:
                self._add_group(acc, group, idf)
        for key, weight in plan.pinyin:
            self.add_term(acc, self.pinyin, key, weight)
        if plan.boosts:
            extra = np.zeros(size, np.float32)
            for word, weight in plan.boosts:
                self.add_term(extra, self.postings, word, weight)
            acc += extra * (acc > 0)
        return acc

    def _add_group(self, acc: np.ndarray, group: dict, idf: float | None) -> None:
        """acc += a synonym group: best variant in full, others at GROUP_EXTRA.

        More variants in one doc (佛医保 and 普惠型 together) are extra,
        weaker evidence. Common single words use their dense rows.
        """
        size = len(acc)
        best = np.zeros(size, np.float32)
        total = np.zeros(size, np.float32)
        for phrase, weight in group.items():
            dense = self.postings.dense_row(phrase[0]) if len(phrase) == 1 else None
            if dense is not None:
                row, extra_docs, extra_imps = dense
                df = self.df(self.postings, phrase[0])
                scale = np.float32(weight * (self.idf(df) if idf is None else idf) / IMPACT_SCALE)
                scores = row * scale
                np.maximum(best[: len(row)], scores, out=best[: len(row)])
                total[: len(row)] += scores
                found = (extra_docs, extra_imps.astype(np.float32) * scale) if len(extra_docs) else None
            else:
                found = self._phrase_scores(phrase, weight, idf)
            if found is not None:
                docs, scores = found
                np.maximum.at(best, docs, scores)
                total[docs] += scores
        acc += (1 - GROUP_EXTRA) * best + GROUP_EXTRA * total

    def add_term(
        self, acc: np.ndarray, postings: Postings, term: str, weight: float,
        idf: float | None = None,
    ) -> None:
        """acc += this term's scores, from its dense row when it has one."""
        dense = postings.dense_row(term)
        if dense is None:
            found = self._term_scores(postings, term, weight, idf)
            if found is not None:
                accumulate(acc, *found)
            return
        row, extra_docs, extra_imps = dense
        scale = weight * (self.idf(self.df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        acc[: len(row)] += row * np.float32(scale)  # uint8 * float32 -> float32
        if len(extra_docs):
            acc[extra_docs] += extra_imps.astype(np.float32) * np.float32(scale)

    def _term_scores(
        self, postings: Postings, term: str, weight: float, idf: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnos, scores) of one term, or None when no document has it."""
        found = postings.get(term)
        if found is None:
            return None
        docs, imps = found
        scale = weight * (self.idf(self.df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        return docs, imps.astype(np.float32) * np.float32(scale)

    def _phrase_scores(
        self, phrase: tuple[str, ...], weight: float, idf: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnos, scores) of the docs holding every word of the phrase.

        Starts from the rarest word and looks the others up by binary search
        (postings are in docno order), so 办 + 医保 costs what 办 costs.
        """
        if len(phrase) == 1:
            return self._term_scores(self.postings, phrase[0], weight, idf)
        found = [self._term_scores(self.postings, w, weight / len(phrase)) for w in phrase]
        if any(f is None for f in found):
            return None
        found.sort(key=lambda f: len(f[0]))
        docs, scores = found[0]
        for other_docs, other_scores in found[1:]:
            at = np.minimum(np.searchsorted(other_docs, docs), len(other_docs) - 1)
            keep = other_docs[at] == docs
            docs, scores = docs[keep], scores[keep] + other_scores[at[keep]]
        return (docs, scores) if len(docs) else None


def page(docs: Documents, candidates: np.ndarray, acc: np.ndarray, offset: int, limit: int) -> np.ndarray:
    """candidates[offset:offset + limit] ranked by acc, then newer date, then article id."""
    want = offset + limit
    if not limit or offset >= len(candidates):
        return candidates[:0]
    scores = acc[candidates]
    if want < len(candidates):
        # Keep every candidate tied with the k-th score so ties break the
        # same way whichever of them argpartition happened to pick.
        kth = np.partition(scores, len(scores) - want)[len(scores) - want]
        keep = scores >= kth
        candidates, scores = candidates[keep], scores[keep]
    dates = docs.date[candidates]
    order = np.lexsort((-dates, -scores))
    candidates, scores, dates = candidates[order], scores[order], dates[order]
    # Equal score and date break on the article id, never the docno: a docno
    # says when an article was last indexed, which a rebuild does not know.
    group = np.concatenate(([0], np.cumsum((scores[1:] != scores[:-1]) | (dates[1:] != dates[:-1]))))
    end = min(want, len(candidates))
    lo = int(np.searchsorted(group, group[offset]))
    hi = int(np.searchsorted(group, group[end - 1], side="right"))
    ids = docs.ids
    window = sorted(zip(group[lo:hi].tolist(), candidates[lo:hi].tolist(), strict=True),
                    key=lambda gd: (gd[0], ids[gd[1]]))
    return np.array([d for _, d in window[offset - lo:end - lo]], np.int64)
