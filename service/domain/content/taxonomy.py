"""Topic assignment: an article's title and body against the curated taxonomy.

The taxonomy (seeds/topics.json, then the store's topics) gives each topic a
list of keywords. Keywords are segmented with the same ``tokens()`` as the
text and matched as whole-word sequences, so 统筹 does not fire inside
统筹账户 and 医保 never fires inside 医保卡. A keyword found in the title
counts three times what it counts in the body, and body counts are divided by
the body's length, so a long page does not outvote its own title. Longer
keywords weigh more (个人账户 says more than 钱).

The best topic is always kept when anything matched; the next ones only while
they score at least half of the best, three at most. Nothing matched: [].
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..text import tokens

TOPICS_FILE = Path(__file__).resolve().parents[3] / "seeds" / "topics.json"

TITLE_WEIGHT = 3.0
MAX_TOPICS = 3
KEEP_RATIO = 0.5  # a further topic needs at least this share of the best score
BODY_CAP = 3  # occurrences of one keyword in the body counted at most


def load_taxonomy(path: Path = TOPICS_FILE) -> list[dict]:
    """The curated topics as a list of dicts."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["topics"]


def _topics(taxonomy) -> list[dict]:
    if isinstance(taxonomy, dict):
        taxonomy = taxonomy.get("topics", list(taxonomy.values()))
    return list(taxonomy)


@lru_cache(maxsize=256)
def _compiled(keywords: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], float], ...]:
    """Each keyword as a token sequence with its weight."""
    out = {}
    for keyword in keywords:
        seq = tuple(tokens(keyword))
        if seq:
            out[seq] = min(len("".join(seq)), 4) / 2
    return tuple(out.items())


def _count(seq: tuple[str, ...], words: list[str]) -> int:
    n, size = 0, len(seq)
    for i in range(len(words) - size + 1):
        if words[i] == seq[0] and tuple(words[i : i + size]) == seq:
            n += 1
    return n


def score_topics(title: str, body: str, taxonomy) -> list[tuple[str, float]]:
    """(slug, score) for every topic that matched, best first."""
    title_words = tokens(title or "")
    body_words = tokens(body or "")
    body_scale = 1 + len(body_words) / 100
    scored = []
    for topic in _topics(taxonomy):
        keywords = tuple(topic.get("keywords") or ())
        title_score = body_score = 0.0
        for seq, weight in _compiled(keywords):
            title_score += weight * min(_count(seq, title_words), 2)
            body_score += weight * min(_count(seq, body_words), BODY_CAP)
        score = TITLE_WEIGHT * title_score + body_score / body_scale
        if score > 0:
            scored.append((topic["slug"], round(score, 6)))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored


def assign_topics(title: str, body: str, taxonomy: Iterable[dict]) -> list[str]:
    """One to three topic slugs, best first ([] when no keyword matched)."""
    scored = score_topics(title, body, taxonomy)
    if not scored:
        return []
    best = scored[0][1]
    return [slug for slug, score in scored[:MAX_TOPICS] if score >= KEEP_RATIO * best]
