"""The exhaustive search the index answered with before its scorer stopped scoring every match.

Test-only: every query scored into a dense float32 accumulator over all
docnos, matches taken as its positive entries, facets counted over them,
and the page ranked from all candidates. The ranking tests compare the
index's answers with these, which are right by construction.
"""

from __future__ import annotations

import numpy as np

from service.domain.search.facets import Facet
from service.domain.search.highlight import highlight
from service.domain.search.index import Hit, SearchIndex, SearchResult
from service.domain.search.planning import Plan, clean_query
from service.domain.search.postings import IMPACT_SCALE, Postings
from service.domain.search.scoring import GROUP_EXTRA


def search(
    index: SearchIndex, query: str, topic: str | tuple[str, ...] | None = None, region: str | None = None,
    include_drafts: bool = False, offset: int = 0, limit: int = 20,
) -> SearchResult:
    docs = index.docs
    size = docs.size
    query = clean_query(query)
    offset, limit = max(int(offset), 0), max(int(limit), 0)
    if not query.strip() or not size:
        return SearchResult(total=0)
    plan = index._plan(query)
    if not plan.groups and not plan.pinyin:
        return SearchResult(total=0)
    acc = _Scores(index).score(plan, size)
    visible = docs.visible(size, include_drafts)
    matched = (acc > 0) & visible
    in_topic = None
    for name in ((topic,) if isinstance(topic, str) else topic or ()):
        mask = _docs_with(index.topics, name, size)
        in_topic = mask if in_topic is None else in_topic | mask
    in_region = _docs_with(index.regions, region, size) if region else None
    topic_universe = visible & in_region if region else visible
    region_universe = visible & in_topic if topic else visible
    facets = {
        "topics": _counts(index.topics, matched & topic_universe),
        "regions": _counts(index.regions, matched & region_universe),
    }
    final = matched
    if topic:
        final = final & in_topic
    if region:
        final = final & in_region
    candidates = np.flatnonzero(final)
    ranked = page(index, candidates, acc, offset, limit)
    hits = [_hit(index, int(d), float(acc[d]), plan) for d in ranked]
    return SearchResult(total=len(candidates), hits=hits, facets=facets)


def _similar_scores(index: SearchIndex, terms, exclude: str | None):
    """(every docno's score, the visible matches other than exclude, exclude's docno or None)."""
    size = index.docs.size
    acc = np.zeros(size, np.float32)
    scores = _Scores(index)
    for term, weight in terms:
        scores.add_term(acc, index.postings, term, weight)
    visible = (acc > 0) & index.docs.visible(size)
    skip = index.docs.docno.get(exclude) if exclude is not None else None
    if skip is not None:
        visible[skip] = False
    return acc, visible, skip


def similar(index: SearchIndex, terms, limit: int, exclude: str | None = None) -> list[str]:
    if not index.docs.size or not terms or limit <= 0:
        return []
    acc, visible, _ = _similar_scores(index, terms, exclude)
    ids = index.docs.ids
    return [ids[d] or "" for d in page(index, np.flatnonzero(visible), acc, 0, limit).tolist()]


def similar_scored(index: SearchIndex, terms, limit: int, exclude: str | None = None) -> tuple[dict, float]:
    """{id: score} of every visible match scoring at least the limit-th best, and exclude's own score."""
    if not index.docs.size or not terms or limit <= 0:
        return {}, 0.0
    acc, visible, skip = _similar_scores(index, terms, exclude)
    own = float(acc[skip]) if skip is not None else 0.0
    matched = np.flatnonzero(visible)
    if len(matched) > limit:
        kth = np.sort(acc[matched])[::-1][limit - 1]
        matched = matched[acc[matched] >= kth]
    ids = index.docs.ids
    return {ids[d] or "": float(acc[d]) for d in matched.tolist()}, own


def _hit(index: SearchIndex, docno: int, score: float, plan: Plan) -> Hit:
    keys = {k for k, _ in plan.pinyin}
    return Hit(
        id=index.docs.ids[docno] or "",
        score=round(score, 4),
        highlights={
            "title": highlight(index.docs.titles[docno], plan.terms, keys),
            "summary": highlight(index.docs.summaries[docno], plan.terms),
        },
    )


def _assignments(facet: Facet) -> tuple[np.ndarray, np.ndarray]:
    docs = np.concatenate((facet.docs, np.asarray(facet.delta_docs, np.int32)))
    vals = np.concatenate((facet.vals, np.asarray(facet.delta_vals, np.int32)))
    return docs, vals


def _docs_with(facet: Facet, name: str, size: int) -> np.ndarray:
    mask = np.zeros(size, bool)
    vid = facet.vocab.get(name)
    if vid is not None:
        docs, vals = _assignments(facet)
        mask[docs[vals == vid]] = True
    return mask


def _counts(facet: Facet, matched: np.ndarray) -> list[tuple[str, int]]:
    docs, vals = _assignments(facet)
    hits = np.bincount(vals[matched[docs]], minlength=len(facet.names))
    order = sorted(np.flatnonzero(hits).tolist(), key=lambda v: (-hits[v], facet.names[v]))
    return [(facet.names[v], int(hits[v])) for v in order]


def _accumulate(acc: np.ndarray, docs: np.ndarray, scores: np.ndarray) -> None:
    if len(docs) * 8 > len(acc):
        acc += np.bincount(docs, weights=scores, minlength=len(acc)).astype(np.float32)
    else:
        acc[docs] += scores


class _Scores:
    """The scorer as it was: every plan term added over all docnos."""

    def __init__(self, index: SearchIndex):
        self.docs = index.docs
        self.postings = index.postings
        self.pinyin = index.pinyin

    def df(self, postings: Postings, term: str) -> int:
        if not self.docs.dead:
            return postings.df(term)
        found = postings.get(term)
        return int(self.docs.alive[found[0]].sum()) if found is not None else 0

    def idf(self, df: int) -> float:
        n = max(self.docs.live, 1)
        return float(np.log1p((n - df + 0.5) / (df + 0.5)))

    def score(self, plan: Plan, size: int) -> np.ndarray:
        acc = np.zeros(size, np.float32)
        for group in plan.groups:
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

    def add_term(self, acc, postings: Postings, term: str, weight: float, idf: float | None = None) -> None:
        dense = postings.dense_row(term)
        if dense is None:
            found = self._term_scores(postings, term, weight, idf)
            if found is not None:
                _accumulate(acc, *found)
            return
        row, extra_docs, extra_imps = dense
        scale = weight * (self.idf(self.df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        acc[: len(row)] += row * np.float32(scale)
        if len(extra_docs):
            acc[extra_docs] += extra_imps.astype(np.float32) * np.float32(scale)

    def _term_scores(self, postings: Postings, term: str, weight: float, idf: float | None = None):
        found = postings.get(term)
        if found is None:
            return None
        docs, imps = found
        scale = weight * (self.idf(self.df(postings, term)) if idf is None else idf) / IMPACT_SCALE
        return docs, imps.astype(np.float32) * np.float32(scale)

    def _phrase_scores(self, phrase: tuple[str, ...], weight: float, idf: float | None = None):
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


def page(index: SearchIndex, candidates: np.ndarray, acc: np.ndarray, offset: int, limit: int) -> np.ndarray:
    """candidates[offset:offset + limit] ranked by acc, then newer date, then article id."""
    docs = index.docs
    want = offset + limit
    if not limit or offset >= len(candidates):
        return candidates[:0]
    scores = acc[candidates]
    if want < len(candidates):
        kth = np.partition(scores, len(scores) - want)[len(scores) - want]
        keep = scores >= kth
        candidates, scores = candidates[keep], scores[keep]
    dates = docs.date[candidates]
    order = np.lexsort((-dates, -scores))
    candidates, scores, dates = candidates[order], scores[order], dates[order]
    group = np.concatenate(([0], np.cumsum((scores[1:] != scores[:-1]) | (dates[1:] != dates[:-1]))))
    end = min(want, len(candidates))
    lo = int(np.searchsorted(group, group[offset]))
    hi = int(np.searchsorted(group, group[end - 1], side="right"))
    ids = docs.ids
    window = sorted(zip(group[lo:hi].tolist(), candidates[lo:hi].tolist(), strict=True),
                    key=lambda gd: (gd[0], ids[gd[1]]))
    return np.array([d for _, d in window[offset - lo:end - lo]], np.int64)
