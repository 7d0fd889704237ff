"""Why a card is under its anchor: the words both are about, and the plain-Chinese reasons.

A shared word is named only when it says what both pages are about: a
domain term or a noun, in few enough articles to tell them apart, and
weighing enough in their similarity (keywords). The reasons then name the
shared topic, those words, the most specific shared place and the page's own
curated link.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import rjieba

from ..content.taxonomy import load_taxonomy
from ..text import DICTIONARY, normalise
from .ranking import products
from .signals import LEVEL_SCORE, MAX_REGIONS, region_level
from .vectors import Vocabulary

KEYWORD_MAX_SHARE = 0.25  # a word in a quarter of all articles explains nothing
KEYWORD_MIN_CONTRIBUTION = 0.005  # below this a shared word is incidental, not what both are about

# Part-of-speech tags of words that say what a page is about: nouns, names, places, verbal nouns,
# Latin words and abbreviations (社保, 医保 are tagged j).
NOUN_TAGS = frozenset({"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "vn", "eng", "j"})
SYNONYMS = DICTIONARY.with_name("synonyms.txt")


@lru_cache(maxsize=1)
def _domain_terms() -> frozenset[str]:
    """The words the service itself treats as subjects: the segmentation dictionary, the synonym
    groups, the curated topics' names and keywords (提现, 报销, 清零 are verbs, and still subjects)."""
    words = set()
    for line in DICTIONARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.add(line.split()[0])
    for line in SYNONYMS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            words.update(w for w in line.replace("=>", " ").split())
    for topic in load_taxonomy():
        words.update([topic["name"], *topic.get("keywords", ())])
    return frozenset(normalise(w) for w in words)


@lru_cache(maxsize=65536)
def explains(word: str) -> bool:
    """Whether a shared word may be named in a reason: a domain term, or a noun. Words about how a
    text is written (采用, 需求, 确保, 重要, 而异, 甚至) would tell a reader nothing."""
    if word in _domain_terms():
        return True
    tags = rjieba.tag(word)
    return len(tags) == 1 and tags[0][1] in NOUN_TAGS


def keywords(
    anchor: tuple[np.ndarray, np.ndarray],
    others: tuple[np.ndarray, np.ndarray, np.ndarray],
    vocab: Vocabulary,
    dense: np.ndarray,
    n: int = 2,
) -> list[list[str]]:
    """For each other article, the n shared words that contribute most to its similarity.

    anchor is (term ids, weights), others (term ids, weights, entries per
    article) as vectors give them; dense is a zeroed scratch vector over the
    vocabulary, left zeroed. One vectorised pass for the whole list: a word
    must be two characters or more, in at most KEYWORD_MAX_SHARE of all
    articles, contribute at least KEYWORD_MIN_CONTRIBUTION, and be a domain
    term or a noun (explains).
    """
    terms, _, lens = others
    owner, contribution = products(anchor, others, dense)
    ok = (
        (contribution >= KEYWORD_MIN_CONTRIBUTION)
        & (vocab.length[terms] >= 2)
        & (vocab.df[terms] <= KEYWORD_MAX_SHARE * max(vocab.docs, 1))
    )
    owner, terms, contribution = owner[ok], terms[ok], contribution[ok]
    named = np.fromiter((explains(vocab.terms[t]) for t in terms.tolist()), dtype=bool, count=len(terms))
    owner, terms, contribution = owner[named], terms[named], contribution[named]
    order = np.lexsort((-contribution, owner))
    owner, terms = owner[order], terms[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
    out: list[list[str]] = [[] for _ in range(len(lens))]
    for o, t in zip(owner[rank < n].tolist(), terms[rank < n].tolist(), strict=True):
        out[o].append(vocab.terms[t])
    return out


def shared_place(a: dict, b: dict) -> str | None:
    """The most specific place both articles are about."""
    theirs = set((b.get("regions") or ())[:MAX_REGIONS])
    shared = [n for n in (a.get("regions") or ())[:MAX_REGIONS] if n in theirs]
    return max(shared, key=lambda n: LEVEL_SCORE.get(region_level(n), 0.8), default=None)


def reasons(anchor: dict, other: dict, keywords: list[str], topic_names: Mapping[str, str], curated: bool) -> list[str]:
    """Why `other` is recommended under `anchor`, in words a reader understands."""
    out = []
    theirs = set(other.get("topics") or ())
    shared = [t for t in anchor.get("topics") or () if t in theirs]
    if shared:
        out.append(f"同属「{topic_names.get(shared[0], shared[0])}」")
    place = shared_place(anchor, other)
    keywords = [k for k in keywords if k != place]  # the place gets its own reason
    if keywords:
        out.append("都在讲 " + " / ".join(keywords))
    if place:
        out.append(f"同样关于{place}")
    if curated:
        out.append("原页面的相关推荐")
    return out or ["内容相近"]


def cards(
    anchor: dict,
    others: list[dict | None],
    scores: np.ndarray,
    words: list[list[str]],
    curated: list[bool],
    topic_names: Mapping[str, str],
) -> list[dict]:
    """The cards [{id, score, reasons}] of a ranked list, in its order; an article gone (None) is skipped."""
    out = []
    for record, score, shared, linked in zip(others, scores.tolist(), words, curated, strict=True):
        if record is not None:
            why = reasons(anchor, record, shared, topic_names, linked)
            out.append({"id": record["id"], "score": round(float(score), 4), "reasons": why})
    return out
