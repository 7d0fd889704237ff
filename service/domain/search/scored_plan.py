"""A plan resolved against the index: which postings it reads and how their impacts add up.

Scoring every match into a dense accumulator costs O(matches) per query
term, 20+ ms for 医保 at a million articles, though only a page is shown.
A ScoredPlan instead scores any chosen docnos exactly: each source's
uint8 impacts are gathered for them (0 where absent) and combined with
the same float32 operations in the same order as the accumulator did
(a group's best variant plus GROUP_EXTRA of all, a phrase's words added
rarest first, boosts only where something matched), so a docno gets the
very same float32 score whichever docnos are scored with it.

Every step is monotone in each impact (products by positive scales, sums,
max, rounding), so scores(caps) bounds the score of every document whose
impacts are all at most the caps: ranking.py relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .planning import Plan
from .postings import IMPACT_SCALE, Postings
from .scoring import GROUP_EXTRA, Scorer


@dataclass
class Source:
    """One postings list read by the plan."""

    postings: Postings
    term: str
    length: int  # postings (base and delta, dead docnos included)

    def impacts(self, docnos: np.ndarray, size: int) -> np.ndarray:
        """uint8 impacts of the term in these docnos (all below size), 0 where absent."""
        dense = self.postings.dense_row(self.term)
        if dense is not None:
            row, extra_docs, extra_imps = dense
            if not len(extra_docs) and (not len(docnos) or docnos.max() < len(row)):
                return row[docnos]
            out = np.zeros(len(docnos), np.uint8)
            inside = docnos < len(row)
            out[inside] = row[docnos[inside]]
            out[~inside] = _lookup(extra_docs, extra_imps, docnos[~inside])
            return out
        found = self.postings.get(self.term)
        if found is None:
            return np.zeros(len(docnos), np.uint8)
        if len(docnos) * 16 > size:  # many docnos: a scatter and a gather beat binary searches
            row = np.zeros(size, np.uint8)
            row[found[0]] = found[1]
            return row[docnos]
        return _lookup(*found, docnos)

    def above(self, cap: int) -> np.ndarray:
        """Docnos whose impact exceeds cap (all of them for cap 0)."""
        dense = self.postings.dense_row(self.term)
        if dense is not None:
            row, extra_docs, extra_imps = dense
            inside = np.flatnonzero(row > cap)
            return np.concatenate((inside, extra_docs[extra_imps > cap])) if len(extra_docs) else inside
        found = self.postings.get(self.term)
        if found is None:
            return np.zeros(0, np.int64)
        docs, imps = found
        return docs if cap <= 0 else docs[imps > cap]

    def histogram(self) -> np.ndarray:
        """Documents per impact value (256 counts)."""
        dense = self.postings.dense_row(self.term)
        if dense is not None:
            hist = self.postings.dense_histogram(self.term)
            _, _, extra_imps = dense
            return hist + np.bincount(extra_imps, minlength=256) if len(extra_imps) else hist
        found = self.postings.get(self.term)
        return np.bincount(found[1], minlength=256) if found is not None else np.zeros(256, np.int64)

    def mark(self, mask: np.ndarray, cap: int = 0) -> None:
        """mask[d] = True for every docno whose impact exceeds cap (0: every docno holding the term)."""
        dense = self.postings.dense_row(self.term)
        if dense is not None:
            row, extra_docs, extra_imps = dense
            np.logical_or(mask[: len(row)], row > cap, out=mask[: len(row)])
            mask[extra_docs[extra_imps > cap] if cap else extra_docs] = True
            return
        found = self.postings.get(self.term)
        if found is not None:
            mask[found[0] if cap <= 0 else found[0][found[1] > cap]] = True


def _lookup(docs: np.ndarray, imps: np.ndarray, docnos: np.ndarray) -> np.ndarray:
    """imps at docnos in a docno-sorted postings list, 0 where absent."""
    if not len(docs):
        return np.zeros(len(docnos), np.uint8)
    at = np.minimum(np.searchsorted(docs, docnos), len(docs) - 1)
    return np.where(docs[at] == docnos, imps[at], 0).astype(np.uint8)


# Steps of the formula: ("term", source, scale) adds one term; ("group", [(sources, scales, order)...])
# adds a synonym group of phrases (a phrase of one word is one source).


class ScoredPlan:
    """The sources of a plan and its formula over their impacts."""

    def __init__(self, scorer: Scorer, plan: Plan):
        self._scorer = scorer
        self.sources: list[Source] = []
        self._ids: dict[tuple[int, str], int] = {}
        self.steps: list[tuple] = []
        self.boosts: list[tuple[int, np.float32]] = []
        postings = scorer.postings
        for group in plan.groups:
            # One idf for the whole group, from its most common member (as Lucene's SynonymQuery).
            df = max((scorer.df(postings, p[0]) for p in group if len(p) == 1), default=0)
            idf = scorer.idf(df) if df and len(group) > 1 else None
            if len(group) == 1 and len(phrase := next(iter(group))) == 1:
                self.steps.append(("term", *self._term(postings, phrase[0], group[phrase], idf)))
            else:
                self.steps.append(("group", [self._phrase(phrase, weight, idf) for phrase, weight in group.items()]))
        for key, weight in plan.pinyin:
            self.steps.append(("term", *self._term(scorer.pinyin, key, weight)))
        self.boosts = [self._term(postings, word, weight) for word, weight in plan.boosts]

    @classmethod
    def of_terms(cls, scorer: Scorer, terms) -> ScoredPlan:
        """Weighted words each added on its own (as similar() scores an anchor's words)."""
        return cls(scorer, Plan([{(term,): weight} for term, weight in terms], [], set(), []))

    def _source(self, postings: Postings, term: str) -> int:
        key = (id(postings), term)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.sources)
            self.sources.append(Source(postings, term, postings.df(term)))
        return found

    def _term(self, postings: Postings, term: str, weight: float, idf: float | None = None):
        scorer = self._scorer
        scale = weight * (scorer.idf(scorer.df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        return self._source(postings, term), np.float32(scale)

    def _phrase(self, phrase: tuple[str, ...], weight: float, idf: float | None):
        if len(phrase) == 1:
            source, scale = self._term(self._scorer.postings, phrase[0], weight, idf)
            return [source], [scale]
        words = [self._term(self._scorer.postings, w, weight / len(phrase)) for w in phrase]
        # Added rarest first, as the intersection walks them (a stable sort on postings length).
        words.sort(key=lambda w: self.sources[w[0]].length)
        return [s for s, _ in words], [c for _, c in words]

    # -- reading ---------------------------------------------------------

    def matching(self) -> list[list[int]]:
        """Alternatives that make a document match: each the sources it must all hold."""
        out = []
        for step in self.steps:
            if step[0] == "term":
                if step[2] > 0:
                    out.append([step[1]])
            else:
                out.extend(sources for sources, scales in step[1] if any(c > 0 for c in scales))
        return out

    def matches(self, size: int) -> np.ndarray:
        """Mask over docnos of the documents scoring above zero."""
        mask = np.zeros(size, bool)
        for needed in self.matching():
            if len(needed) == 1:
                self.sources[needed[0]].mark(mask)
                continue
            rarest = min(needed, key=lambda s: self.sources[s].length)
            if self.sources[rarest].length * 16 > size:  # all common: masks are cheaper than docnos
                held = np.zeros(size, bool)
                self.sources[rarest].mark(held)
                for s in needed:
                    if s != rarest:
                        other = np.zeros(size, bool)
                        self.sources[s].mark(other)
                        held &= other
                mask |= held
                continue
            docs = self.sources[rarest].above(0)
            for s in needed:
                if s != rarest and len(docs):
                    docs = docs[self.sources[s].impacts(docs, size) > 0]
            mask[docs] = True
        return mask

    def scores(self, imps: list[np.ndarray]) -> np.ndarray:
        """float32 scores from each source's impacts (equal-length arrays, one per source)."""
        n = len(imps[0]) if imps else 0
        acc = np.zeros(n, np.float32)
        for step in self.steps:
            if step[0] == "term":
                acc += imps[step[1]] * step[2]  # uint8 * float32 -> float32
                continue
            best = np.zeros(n, np.float32)
            total = np.zeros(n, np.float32)
            for sources, scales in step[1]:
                scores = imps[sources[0]] * scales[0]
                if len(sources) > 1:
                    held = imps[sources[0]] > 0
                    for s, c in zip(sources[1:], scales[1:], strict=True):
                        scores = scores + imps[s] * c
                        held &= imps[s] > 0
                    scores = np.where(held, scores, np.float32(0))
                np.maximum(best, scores, out=best)
                total += scores
            acc += (1 - GROUP_EXTRA) * best + GROUP_EXTRA * total
        if self.boosts:
            extra = np.zeros(n, np.float32)
            for s, c in self.boosts:
                extra += imps[s] * c
            acc += extra * (acc > 0)
        return acc

    def scores_of(self, docnos: np.ndarray, size: int) -> np.ndarray:
        """Exact float32 scores of these docnos (all below size)."""
        return self.scores([s.impacts(docnos, size) for s in self.sources])

    def weights(self) -> np.ndarray:
        """Per source, about what a unit of its impact adds to a score (for choosing caps)."""
        out = np.zeros(len(self.sources))
        for step in self.steps:
            pairs = [(step[1], step[2])] if step[0] == "term" else [
                pair for sources, scales in step[1] for pair in zip(sources, scales, strict=True)]
            for source, scale in pairs:
                out[source] += scale
        for source, scale in self.boosts:
            out[source] += scale
        return out
