"""Scoring: BM25F impacts, and the document frequencies and idf a query's scores use.

- BM25F folds the fields into one pseudo term frequency per (term, article)
  (each field weighted and length-normalised), so a posting is one docno
  and one uint8 impact; scored_plan.py turns a query's impacts into scores
  and ranking.py finds the page without scoring every match.
- Length normalisation uses typical lengths rather than corpus averages,
  so an article's impacts never depend on the rest of the index (see
  TYPICAL_LENGTHS); only idf does, and it is computed at query time over
  live documents.
- A synonym group scores its best variant in full and the others at
  GROUP_EXTRA, with one idf from its most common member.
- Equal scores break on date (newer first), then on the article id: never
  on the docno, which says when an article was last indexed (ranking.page).
"""

from __future__ import annotations

import numpy as np

from .documents import Documents
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


class Scorer:
    """Document frequencies and idf over the live documents (ScoredPlan reads them)."""

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
