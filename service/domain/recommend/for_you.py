"""为你推荐: what to read next, from the articles a reader has viewed.

Why blend related lists: they are precomputed and already say why, so a
personal list costs a few dictionary updates. Each history article passes
its 相关推荐 on (scaled to that list's best card), weighted by how recently it
was read (the newest weighs most, each older one HISTORY_DECAY less); what was
read is left out. Topics are kept
varied: every pick already made in a topic lowers the next one's score
(TOPIC_DECAY) and no topic takes more than a third of the list. A history
with nothing we know falls back to trending, then to the newest articles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping

from ..content.article_record import is_public

HISTORY_MAX = 20
HISTORY_DECAY = 0.7
TOPIC_DECAY = 0.6


class ForYou:
    def __init__(self, related, trending, articles: Callable[[], Mapping[str, dict]]):
        self.related, self.trending, self._articles = related, trending, articles

    def for_you(
        self, history_ids: list[str], limit: int = 10, now: float | None = None
    ) -> tuple[list[dict], list[str]]:
        """(items [{id, score, reasons}], unknown ids). history_ids: newest first."""
        records = self._articles()
        known, unknown = [], []
        for aid in dict.fromkeys(history_ids):
            record = records.get(aid)
            if is_public(record):
                known.append(aid)
            else:
                unknown.append(aid)
        seen = set(known)
        scores: dict[str, float] = {}
        because: dict[str, tuple[float, str, list[str]]] = {}
        for i, aid in enumerate(known[:HISTORY_MAX]):
            cards = self.related.related(aid)
            # Each list scaled to its own best card: similarity scores run higher for some
            # articles (short, specific titles) than others, and must not outvote recency.
            weight = HISTORY_DECAY**i / max((c["score"] for c in cards), default=1.0)
            for card in cards:
                cid = card["id"]
                if cid in seen:
                    continue
                part = weight * card["score"]
                scores[cid] = scores.get(cid, 0.0) + part
                if part > because.get(cid, (0.0,))[0]:
                    because[cid] = (part, aid, card["reasons"])
        items = self._diversify(scores, because, records, limit)
        chosen = seen | {item["id"] for item in items}
        if len(items) < limit:
            for aid, score in self.trending.trending(limit=limit + len(chosen), now=now):
                if aid not in chosen and len(items) < limit:
                    items.append({"id": aid, "score": round(score, 4), "reasons": ["最近很多人在看"]})
                    chosen.add(aid)
        if len(items) < limit:
            newest = sorted(
                (a for a in records.values() if is_public(a) and a["id"] not in chosen),
                key=lambda a: (a.get("published_at") or "", a["id"]), reverse=True,
            )
            items += [{"id": a["id"], "score": 0.0, "reasons": ["最新发布"]} for a in newest[: limit - len(items)]]
        return items, unknown

    @staticmethod
    def _diversify(scores, because, records, limit: int) -> list[dict]:
        cap = max(2, math.ceil(limit / 3))
        per_topic: Counter = Counter()
        remaining = dict(scores)
        items = []
        while remaining and len(items) < limit:
            def adjusted(aid: str) -> float:
                topics = records[aid].get("topics") or ["-"]
                return remaining[aid] * TOPIC_DECAY ** per_topic[topics[0]]

            pick = max(remaining, key=lambda aid: (adjusted(aid), aid))
            score = remaining.pop(pick)
            topic = (records[pick].get("topics") or ["-"])[0]
            if per_topic[topic] >= cap:
                continue
            per_topic[topic] += 1
            _, source, reasons = because[pick]
            why = [f"因为你看过「{records[source]['title']}」"] + reasons[:1]
            items.append({"id": pick, "score": round(score, 4), "reasons": why})
        return items
