"""The non-text signals of 相关推荐 (topics, places, dates) as numpy columns,
and the plain-Chinese reasons shown next to each card.

Why columns: ranking one article's ~150 candidates must cost microseconds,
so topic sets become 64-bit masks (overlap is a popcount) and places become
four small integer ids per article (a shared place is one broadcast compare).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import rjieba

from ..content.regions import COUNTY, PROVINCE, gazetteer
from ..content.taxonomy import load_taxonomy
from ..text import DICTIONARY, normalise

MAX_REGIONS = 4  # broadest first: province, city and a couple of districts is plenty
LEVEL_SCORE = {PROVINCE: 0.4, "city": 0.8, COUNTY: 1.0}
REGION_CONFLICT = -0.5  # both name places and share none: 延边 is no help to a 广州 reader
RECENCY_DAYS = 365.0


@lru_cache(maxsize=8192)
def region_level(name: str) -> str:
    places = gazetteer().by_canonical.get(name)
    return min((p.level for p in places), key=lambda lv: -LEVEL_SCORE.get(lv, 0.8)) if places else "city"


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


def day_number(published_at: str | None) -> float:
    try:
        return float(date.fromisoformat((published_at or "")[:10]).toordinal())
    except ValueError:
        return 0.0


class Signals:
    """Per-row topic masks, place ids and publication days."""

    def __init__(self, rows: int = 16):
        self.topic_bit: dict[str, int] = {}
        self.region_id: dict[str, int] = {}
        self.region_names: list[str] = []
        self.region_score = np.zeros(64, dtype=np.float32)
        self.topics = np.zeros(rows, dtype=np.uint64)
        self.regions = np.full((rows, MAX_REGIONS), -1, dtype=np.int32)
        self.day = np.zeros(rows, dtype=np.float32)

    def ensure_rows(self, rows: int) -> None:
        if rows > len(self.topics):
            grow = max(rows, 2 * len(self.topics)) - len(self.topics)
            self.topics = np.concatenate([self.topics, np.zeros(grow, dtype=np.uint64)])
            self.regions = np.concatenate([self.regions, np.full((grow, MAX_REGIONS), -1, dtype=np.int32)])
            self.day = np.concatenate([self.day, np.zeros(grow, dtype=np.float32)])

    def _bit(self, slug: str) -> int:
        bit = self.topic_bit.get(slug)
        if bit is None:
            # Past 64 topics two slugs share a bit: a rare false overlap, not a crash.
            bit = self.topic_bit[slug] = len(self.topic_bit) % 64
        return bit

    def _region(self, name: str) -> int:
        rid = self.region_id.get(name)
        if rid is None:
            rid = self.region_id[name] = len(self.region_names)
            self.region_names.append(name)
            if rid >= len(self.region_score):
                self.region_score = np.concatenate([self.region_score, np.zeros_like(self.region_score)])
            self.region_score[rid] = LEVEL_SCORE.get(region_level(name), 0.8)
        return rid

    def set(self, row: int, article: dict) -> None:
        self.ensure_rows(row + 1)
        mask = 0
        for slug in article.get("topics") or ():
            mask |= 1 << self._bit(slug)
        self.topics[row] = np.uint64(mask)
        ids = [self._region(n) for n in (article.get("regions") or ())[:MAX_REGIONS]]
        self.regions[row] = ids + [-1] * (MAX_REGIONS - len(ids))
        self.day[row] = day_number(article.get("published_at"))

    def topic_overlap(self, row: int, cands: np.ndarray) -> np.ndarray:
        """|shared| / max(|a|, |b|): 1 when the topic sets are the same."""
        a, b = self.topics[row], self.topics[cands]
        shared = np.bitwise_count(a & b).astype(np.float32)
        size = np.maximum(np.bitwise_count(a), np.bitwise_count(b)).astype(np.float32)
        return np.divide(shared, size, out=np.zeros_like(shared), where=size > 0)

    def region_match(self, row: int, cands: np.ndarray) -> np.ndarray:
        """The most specific shared place's score; a penalty when both name places but none is shared."""
        a, b = self.regions[row], self.regions[cands]
        if a[0] < 0:
            return np.zeros(len(cands), dtype=np.float32)
        hit = (b[:, :, None] == a[None, None, :]).any(axis=2) & (b >= 0)
        level = np.where(hit, self.region_score[np.maximum(b, 0)], 0.0).max(axis=1)
        return np.where((b[:, 0] >= 0) & (level == 0), REGION_CONFLICT, level).astype(np.float32)

    def recency(self, rows: np.ndarray, reference_day: float) -> np.ndarray:
        age = np.maximum(reference_day - self.day[rows], 0.0)
        return (1.0 / (1.0 + age / RECENCY_DAYS)).astype(np.float32)


def shared_place(a: dict, b: dict) -> str | None:
    """The most specific place both articles are about."""
    theirs = set((b.get("regions") or ())[:MAX_REGIONS])
    shared = [n for n in (a.get("regions") or ())[:MAX_REGIONS] if n in theirs]
    return max(shared, key=lambda n: LEVEL_SCORE.get(region_level(n), 0.8), default=None)


def reasons(anchor: dict, other: dict, keywords: list[str], topic_names: dict, curated: bool) -> list[str]:
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
