"""The page of matches: ranked by score, scoring only the documents that can reach it.

A query for 医保 matches nearly every article, yet a page shows twenty.
ranked() scores a few thousand likely documents exactly, takes the k-th
best score among them (k = offset + limit) as a threshold, and proves that
no other match reaches it: every document left out has each source's
impact at most a cap, so scores at most ScoredPlan.scores(caps) (the
formula is monotone), and the caps are chosen so that this bound stays
below the threshold. Documents above a cap come from the dense rows (one
pass over a byte a docno) or the postings; short lists are taken whole.

Caps trade candidates for bound: a rare, heavy word is better taken whole
and 医保 (light, everywhere) capped high. For each of a range of prices
of bound in candidates, every source takes the cap minimising its
candidates plus the price of its share of the bound (from the impact
histograms, in one vectorised pass); the first round takes the choice
with the lowest exact bound that fits a budget, the second (when that
bound is not below the threshold) the one with the fewest candidates
whose exact bound is.

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
PRICES = np.geomspace(1e-4, 1e4, 49)[:, None]  # of bound (share of the most) in candidates (share of all)
LEVELS = np.arange(256)
OTHER_BOXES = 2  # boxes besides the first, each opening one more source


def ranked(plan: ScoredPlan, final: np.ndarray, total: int, want: int) -> tuple[np.ndarray, np.ndarray]:
    """(docnos, exact scores) of some final documents holding all that rank in the first want."""
    size = len(final)
    if total <= max(ALL_AT_ONCE, want):
        docnos = np.flatnonzero(final)
        return docnos, plan.scores_of(docnos, size)
    caps, counts = _caps(plan, size)
    bounds = plan.scores([c.astype(np.uint8) for c in caps])  # exact, per price
    budget = max(FIRST_CANDIDATES, 4 * want)
    while True:
        fits = counts <= budget
        if not fits.any() or counts[fits].max() * 2 > total:
            docnos = np.flatnonzero(final)
            return docnos, plan.scores_of(docnos, size)
        choice = int(np.flatnonzero(fits)[np.argmin(bounds[fits])])
        docnos = _candidates(plan, caps, choice, final)
        if len(docnos) >= want:
            break
        budget *= 16
    scores = plan.scores_of(docnos, size)
    threshold = np.partition(scores, len(scores) - want)[len(scores) - want]
    if bounds[choice] < threshold:
        return docnos, scores
    below = np.flatnonzero(bounds < threshold)  # never empty: the highest price caps nothing
    choice = int(below[np.argmin(counts[below])])
    first, *others = _boxes(plan, [int(c[choice]) for c in caps], threshold, size)
    docnos = _outside(plan, first, final)
    imps = [source.impacts(docnos, size) for source in plan.sources]
    # The other boxes on the impacts gathered anyway: cheaper than a pass over every docno each.
    keep = np.ones(len(docnos), bool)
    for box in others:
        outside = np.zeros(len(docnos), bool)
        for held, cap in zip(imps, box, strict=True):
            if cap < 255:
                outside |= held > cap
        keep &= outside
    return docnos[keep], plan.scores([held[keep] for held in imps])


def _boxes(plan: ScoredPlan, start: list[int], threshold: np.float32, size: int) -> list[list[int]]:
    """Caps (boxes of impacts) each bounding the score below the threshold, to exclude what lies inside any.

    The first raises the chosen price's caps one source at a time, as far as the exact bound allows,
    those giving the most candidates first; the others start from nothing with one of the sources
    left most open by the first, so that together they also exclude a document strong in one word
    alone (社保卡 without 激活, 激活 without 社保卡).
    """
    big = [i for i, source in enumerate(plan.sources) if source.length > SHORT_POSTINGS]
    hists = {i: plan.sources[i].histogram() for i in big}

    def above(i: int, cap: int) -> int:
        return int(hists[i][cap + 1:].sum())

    first = _raised(plan, start, sorted(big, key=lambda i: -above(i, start[i])), threshold)
    boxes = [first]
    open_most = sorted((i for i in big if first[i] < 255), key=lambda i: -above(i, first[i]))
    for i in open_most[:OTHER_BOXES]:
        rest = sorted((j for j in big if j != i), key=lambda j: -above(j, first[j]))
        boxes.append(_raised(plan, [0] * len(start), [i, *rest], threshold))

    def candidates(box: list[int]) -> int:
        return sum(above(i, cap) if i in hists else plan.sources[i].length
                   for i, cap in enumerate(box) if cap < 255)

    return sorted(boxes, key=candidates)  # the one giving the fewest is applied first, to every docno


def _raised(plan: ScoredPlan, box: list[int], order: list[int], threshold: np.float32) -> list[int]:
    """The box with each source's cap in turn raised to the highest whose exact bound is below the threshold."""
    box = list(box)
    levels = LEVELS.astype(np.uint8)
    for i in order:
        trial = [np.full(len(levels), c, np.uint8) for c in box]
        trial[i] = levels
        box[i] = int(np.flatnonzero(plan.scores(trial) < threshold).max())  # the cap it had is below
    return box


def _outside(plan: ScoredPlan, box: list[int], final: np.ndarray) -> np.ndarray:
    """Sorted final docnos outside the box (some impact above its cap)."""
    outside = np.zeros(len(final), bool)
    for source, cap in zip(plan.sources, box, strict=True):
        if cap < 255:
            source.mark(outside, cap)
    outside &= final
    return np.flatnonzero(outside)


def _caps(plan: ScoredPlan, size: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each source's cap at every price, and the candidates (before filters) each price gives."""
    weights = plan.weights()
    hists, tops = [], []
    for source in plan.sources:
        hist = source.histogram() if source.length > SHORT_POSTINGS else None
        hists.append(hist)
        tops.append(int(np.flatnonzero(hist[1:]).max()) + 1 if hist is not None and hist[1:].any() else 0)
    most = max(float(np.dot(weights, tops)), 1e-30)
    caps = []
    counts = np.zeros(len(PRICES), np.int64)
    for source, hist, weight in zip(plan.sources, hists, weights, strict=True):
        if hist is None:  # short: taken whole, whatever the price
            caps.append(np.zeros(len(PRICES), np.int64))
            counts += source.length
            continue
        above = np.concatenate((np.cumsum(hist[::-1])[::-1][1:], [0]))  # above[c]: impacts > c
        cost = above / max(size, 1) + PRICES * (weight / most) * LEVELS
        cap = np.argmin(cost, axis=1)
        caps.append(cap)
        counts += above[cap]
    return caps, counts


def _candidates(plan: ScoredPlan, caps: list[np.ndarray], choice: int, final: np.ndarray) -> np.ndarray:
    """Sorted final docnos with some source's impact above its cap at this price."""
    mask = np.zeros(len(final), bool)
    for source, cap in zip(plan.sources, caps, strict=True):
        source.mark(mask, int(cap[choice]))
    mask &= final
    return np.flatnonzero(mask)


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
