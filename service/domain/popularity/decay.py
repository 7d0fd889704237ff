"""Time-decayed counts: recent events weigh more, old ones fade.

Exponential decay means one running number per key: an event's weight
halves every half-life. Scores are kept relative to a reference time t0
(score * 2^((t - t0)/H)) so adding an event is one multiply-add; t0 moves
forward now and then so the numbers stay inside float range.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable

REBASE_HALF_LIVES = 200  # move t0 before 2^exponent gets anywhere near overflow


class DecayedScores:
    def __init__(self, half_life_hours: float):
        self.half_life = half_life_hours * 3600.0
        self._scores: dict[str, float] = {}
        self._t0: float | None = None
        self._lock = threading.Lock()

    def on_events(self, events: list[tuple[str, int, float]], reset: bool) -> None:
        """Listener for an event counter: (key, count, unix time) events."""
        with self._lock:
            if reset:
                self._scores, self._t0 = {}, None
            for key, n, t in events:
                if self._t0 is None:
                    self._t0 = t
                elif (t - self._t0) / self.half_life > REBASE_HALF_LIVES:
                    self._rebase(t)
                self._scores[key] = self._scores.get(key, 0.0) + n * 2.0 ** ((t - self._t0) / self.half_life)

    def _rebase(self, t: float) -> None:
        factor = 2.0 ** (-(t - self._t0) / self.half_life)
        self._scores = {k: s * factor for k, s in self._scores.items() if s * factor > 1e-12}
        self._t0 = t

    def score(self, key: str, now: float | None = None) -> float:
        """Decayed count at `now`: an event now counts 1, one half-life ago 0.5."""
        with self._lock:
            if self._t0 is None:
                return 0.0
            now = time.time() if now is None else now
            return self._scores.get(key, 0.0) * 2.0 ** (-(now - self._t0) / self.half_life)

    def top(self, limit: int, keep: Callable[[str], bool] = lambda key: True,
            now: float | None = None) -> list[tuple[str, float]]:
        """[(key, score)] best first, among the keys `keep` accepts."""
        with self._lock:
            if self._t0 is None:
                return []
            now = time.time() if now is None else now
            factor = 2.0 ** (-(now - self._t0) / self.half_life)
            best = heapq.nlargest(limit, ((s, k) for k, s in self._scores.items() if s > 0 and keep(k)))
        return [(k, round(s * factor, 6)) for s, k in best]
