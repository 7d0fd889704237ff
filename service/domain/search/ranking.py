"""The page of matches: ranked by score, scoring only the documents that can reach it.

A query for 医保 matches nearly every article, yet a page shows twenty.
ranked() scores a few thousand likely documents exactly, takes the k-th
best score among them (k = offset + limit) as a threshold, and proves that
no other match reaches it: every document left out has each source's
impact at most a cap, so scores at most ScoredPlan.scores(caps) (the
formula is monotone), and the caps are chosen so that bound stays below
the threshold. Sources get a common fraction of their highest impact as
cap, the largest fraction whose bound stays below the threshold; short
postings lists are taken whole. Documents with an impact above its cap
come from the dense rows (one pass over a byte a docno) or the postings.

The answer is then the exhaustive scorer's: the same float32 scores of
the same documents (all of those tied with the k-th are kept), ranked by
page() with its tie-breaks.
"""

from __future__ import annotations

import numpy as np

from .documents import Documents
from .scored_plan import ScoredPlan

FIRST_CANDIDATES = 2048  # documents (before filters) scored to find the threshold
ALL_AT_ONCE = 4096  # matches this few are all scored
SHORT_POSTINGS = 2048  # sources this short give all their documents as candidates
LEVELS = np.arange(257)  # cap fractions, in 256ths of a source's highest impact


def ranked(plan: ScoredPlan, final: np.ndarray, total: int, want: int) -> tuple[np.ndarray, np.ndarray]:
    """(docnos, exact scores) of some final documents holding all that rank in the first want."""
    if total <= max(ALL_AT_ONCE, want):
        docnos = np.flatnonzero(final)
        return docnos, plan.scores_of(docnos)
    caps, estimate = _caps(plan)
    budget = max(FIRST_CANDIDATES, 4 * want)
    while True:
        # The lowest caps whose candidates fit the budget (fewer candidates at higher caps).
        level = int(np.argmax(estimate <= budget)) if estimate[-1] <= budget else len(LEVELS) - 1
        if level == 0:
            docnos = np.flatnonzero(final)
            return docnos, plan.scores_of(docnos)
        docnos = _candidates(plan, caps, level, final)
        if len(docnos) >= want:
            break
        budget *= 16
    scores = plan.scores_of(docnos)
    threshold = np.partition(scores, len(scores) - want)[len(scores) - want]
    bound = plan.scores([c.astype(np.uint8) for c in caps])
    if bound[level] < threshold:
        return docnos, scores
    # bound rises with the level and bound[0] is 0 below any match's score.
    level = int(np.flatnonzero(bound < threshold).max())
    if level == 0:
        docnos = np.flatnonzero(final)
    else:
        docnos = _candidates(plan, caps, level, final)
    return docnos, plan.scores_of(docnos)


def _caps(plan: ScoredPlan) -> tuple[list[np.ndarray], np.ndarray]:
    """Each source's cap at every level, and the candidates (before filters) each level gives."""
    caps = []
    estimate = np.zeros(len(LEVELS), np.int64)
    for source in plan.sources:
        if source.length <= SHORT_POSTINGS:
            caps.append(np.zeros(len(LEVELS), np.int64))
            estimate += source.length
            continue
        hist = source.histogram()
        top = int(np.flatnonzero(hist).max()) if hist[1:].any() else 0
        cap = LEVELS * top // 256
        above = np.concatenate((np.cumsum(hist[::-1])[::-1][1:], [0]))  # above[c]: impacts > c
        caps.append(cap)
        estimate += above[cap]
    return caps, estimate


def _candidates(plan: ScoredPlan, caps: list[np.ndarray], level: int, final: np.ndarray) -> np.ndarray:
    """Sorted final docnos with some source's impact above its cap at this level."""
    parts = [source.above(int(cap[level])) for source, cap in zip(plan.sources, caps, strict=True)]
    docnos = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    docnos = docnos[final[docnos]] if len(docnos) else docnos
    return np.unique(docnos)


def page(docs: Documents, candidates: np.ndarray, scores: np.ndarray, offset: int, limit: int) -> np.ndarray:
    """Positions in candidates of ranks offset to offset + limit: by score, then newer date, then article id."""
    want = offset + limit
    at = np.arange(len(candidates))
    if not limit or offset >= len(candidates):
        return at[:0]
    if want < len(candidates):
        # Keep every candidate tied with the k-th score so ties break the
        # same way whichever of them argpartition happened to pick.
        kth = np.partition(scores, len(scores) - want)[len(scores) - want]
        at = np.flatnonzero(scores >= kth)
    scores, dates = scores[at], docs.date[candidates[at]]
    order = np.lexsort((-dates, -scores))
    at, scores, dates = at[order], scores[order], dates[order]
    # Equal score and date break on the article id, never the docno: a docno
    # says when an article was last indexed, which a rebuild does not know.
    group = np.concatenate(([0], np.cumsum((scores[1:] != scores[:-1]) | (dates[1:] != dates[:-1]))))
    end = min(want, len(at))
    lo = int(np.searchsorted(group, group[offset]))
    hi = int(np.searchsorted(group, group[end - 1], side="right"))
    ids = docs.ids
    window = sorted(zip(group[lo:hi].tolist(), at[lo:hi].tolist(), strict=True),
                    key=lambda ga: (ga[0], ids[candidates[ga[1]]]))
    return np.array([a for _, a in window[offset - lo:end - lo]], np.int64)
