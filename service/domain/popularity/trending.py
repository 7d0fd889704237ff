"""大家都在看: articles ranked by time-decayed views.

A view's weight halves every half-life (24 h by default): DecayedScores keeps
one running number per article. Fed by the views EventCounter: the counter
replays every process's views (and the snapshot's hourly history after a
restart or compaction), so every worker ranks the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..content.article_record import is_public
from .decay import DecayedScores

HALF_LIFE_HOURS = 24.0


class Trending:
    def __init__(self, articles: Callable[[], Mapping[str, dict]], half_life_hours: float = HALF_LIFE_HOURS):
        self._articles = articles
        self.scores = DecayedScores(half_life_hours)

    def on_views(self, events: list[tuple[str, int, float]], reset: bool) -> None:
        """EventCounter listener."""
        self.scores.on_events(events, reset)

    def score(self, article_id: str, now: float | None = None) -> float:
        """Decayed views at `now`: a view now counts 1, one half-life ago 0.5."""
        return self.scores.score(article_id, now)

    def trending(
        self, limit: int = 10, topic: str | None = None, region: str | None = None, now: float | None = None
    ) -> list[tuple[str, float]]:
        """[(article_id, score)] best first; published articles only, optionally one topic or place."""
        records = self._articles()

        def wanted(aid: str) -> bool:
            a = records.get(aid)
            return (
                a is not None
                and is_public(a)
                and (topic is None or topic in (a.get("topics") or ()))
                and (region is None or region in (a.get("regions") or ()))
            )

        return self.scores.top(limit, keep=wanted, now=now)
