"""Scoring and ordering one anchor's candidates: plain functions over arrays, no state.

Vectors come as the vectors module gives them: (term ids, weights) for one
article, (term ids, weights, entries per article) for several, each
L2-normalised, so a dot product is a cosine.

Ties break on the article id (its rank among all ids), never on a row
number: rows are numbered in the order articles arrived, which a build does
not know.
"""

from __future__ import annotations

import numpy as np

MMR_POOL = 40
MMR_THRESHOLD, MMR_PENALTY = 0.45, 0.8
W_CONTENT, W_TOPIC, W_REGION, W_CURATED, W_RECENCY = 0.62, 0.14, 0.10, 0.08, 0.06
CURATED_FULL_AT = 0.15
MIN_SCORE = 0.04


def products(
    anchor: tuple[np.ndarray, np.ndarray], others: tuple[np.ndarray, np.ndarray, np.ndarray], dense: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(owner, product) per entry of others: which article it belongs to, and its term's share of the cosine.

    dense is a zeroed scratch vector over the vocabulary; it is left zeroed.
    """
    tids, weights = anchor
    terms, theirs, lens = others
    dense[tids] = weights
    prods = dense[terms] * theirs
    dense[tids] = 0.0
    return np.repeat(np.arange(len(lens)), lens), prods


def cosines(
    anchor: tuple[np.ndarray, np.ndarray], others: tuple[np.ndarray, np.ndarray, np.ndarray], dense: np.ndarray
) -> np.ndarray:
    """The anchor's cosine with each of others (float32)."""
    owner, prods = products(anchor, others, dense)
    return np.bincount(owner, weights=prods, minlength=len(others[2])).astype(np.float32)


def pairwise(terms: np.ndarray, weights: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Cosines among a few articles, for MMR (float64, rounded: the sum order follows term ids)."""
    local, col = np.unique(terms, return_inverse=True)
    dense = np.zeros((len(lens), len(local)), dtype=np.float64)
    dense[np.repeat(np.arange(len(lens)), lens), col] = weights
    return np.round(dense @ dense.T, 9)


def scores(
    cos: np.ndarray, topic: np.ndarray, region: np.ndarray, linked: np.ndarray, recency: np.ndarray
) -> np.ndarray:
    """Each candidate's score (float32) from its signals; linked: curated in either direction."""
    # A curated link counts in full only when the texts agree (cosine >= CURATED_FULL_AT):
    # the scraped lists hold unrelated pages, and those must not outrank real matches.
    curated = linked * (0.3 + 0.7 * np.minimum(cos / CURATED_FULL_AT, 1.0))
    return W_CONTENT * cos + W_TOPIC * topic + W_REGION * region + W_CURATED * curated + W_RECENCY * recency


def by_score(scores: np.ndarray, id_rank: np.ndarray) -> np.ndarray:
    """Positions, best score first, equal scores in id order (id_rank: each one's rank among all ids)."""
    return np.lexsort((id_rank, -scores))


def mmr(score: np.ndarray, similarity: np.ndarray, limit: int) -> list[int]:
    """Positions of up to limit picks from a pool in score order, near-duplicates pushed down.

    similarity holds the pool's pairwise cosines. A candidate more similar
    than MMR_THRESHOLD to one already chosen loses MMR_PENALTY times the excess.
    """
    if len(score) <= 1:
        return list(range(len(score)))
    penalty = MMR_PENALTY * np.maximum(similarity - MMR_THRESHOLD, 0.0)
    np.fill_diagonal(penalty, 0.0)
    if not penalty.any():  # nothing near-duplicate: the score order stands
        return list(range(min(limit, len(score))))
    closest = np.zeros(len(score), dtype=np.float64)
    adjusted = score.astype(np.float64)
    chosen = []
    for _ in range(min(limit, len(score))):
        pick = int(np.argmax(adjusted - closest))  # the first of equals: the pool is in id order among ties
        chosen.append(pick)
        adjusted[pick] = -np.inf
        np.maximum(closest, penalty[pick], out=closest)
    return chosen
