"""The non-text signals of 相关推荐 (topics, places, dates) as numpy columns.

Why columns: ranking one article's ~150 candidates must cost microseconds,
so topic sets become 64-bit masks (overlap is a popcount) and places become
four small integer ids per article (a shared place is one broadcast compare).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from ..content.regions import COUNTY, PROVINCE, gazetteer

MAX_REGIONS = 4  # broadest first: province, city and a couple of districts is plenty
LEVEL_SCORE = {PROVINCE: 0.4, "city": 0.8, COUNTY: 1.0}
REGION_CONFLICT = -0.5  # both name places and share none: 延边 is no help to a 广州 reader
RECENCY_DAYS = 365.0


@lru_cache(maxsize=8192)
def region_level(name: str) -> str:
    places = gazetteer().by_canonical.get(name)
    return min((p.level for p in places), key=lambda lv: -LEVEL_SCORE.get(lv, 0.8)) if places else "city"


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
