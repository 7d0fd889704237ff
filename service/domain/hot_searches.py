"""大家都在搜: what people really searched, recent searches weighing more.

Every worker records the searches it answers (only those that found
something, and only queries that look like a question a person would type)
into a shared event log; every worker replays all of it, so the list is the
same whichever worker answers. Editors pin entries (shown first, in their
position) and block entries (never shown); those rules live in the store, so
they reach every worker through its journal.
"""

from __future__ import annotations

import re

from .decay import DecayedScores
from .errors import NotFound
from .store import Store, utcnow
from .text import normalise

MIN_CHARS, MAX_CHARS = 2, 30
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]")
_URLISH = re.compile(r"://|www\.|\.com|\.cn|@")
_REPEAT = re.compile(r"(.)\1{4,}")


def canonical(query: str) -> str:
    """One spelling per query: width, case, traditional characters and spaces folded."""
    return _SPACE.sub(" ", normalise(query)).strip()


def is_junk(query: str) -> bool:
    """Too short or long, no words, a link, or a key held down."""
    if not MIN_CHARS <= len(query) <= MAX_CHARS:
        return True
    if not _CJK.search(query) and len(_LATIN.findall(query)) < 3:
        return True
    return bool(_URLISH.search(query) or _REPEAT.search(query))


class HotSearches:
    def __init__(self, counter, store: Store, half_life_hours: float = 24.0):
        self.counter = counter
        self.store = store
        self.scores = DecayedScores(half_life_hours)
        counter.subscribe(self.scores.on_events)
        self._top: tuple[tuple, list[dict]] | None = None

    def record(self, query: str, now: float | None = None) -> None:
        key = canonical(query)
        if not is_junk(key):
            self.counter.record(key, now)

    def top(self, limit: int = 10, now: float | None = None) -> list[dict]:
        """Pins without a position lead, pins with one stand at it, searches fill the rest."""
        self.counter.flush()  # ours published, everyone's read: cheap when nothing is pending
        # Decay scales every score alike, so the order only changes with new searches or rules.
        key = (self.counter.generation, self.store.generation["pins"], limit)
        if now is None and self._top is not None and self._top[0] == key:
            return [dict(item) for item in self._top[1]]
        items = self._rank(limit, now)
        if now is None:
            self._top = (key, items)
        return [dict(item) for item in items]

    def _rank(self, limit: int, now: float | None) -> list[dict]:
        rules = self.store.all("pins").values()
        hidden = {r["query"] for r in rules}  # blocked, or shown as a pin
        pins = [r for r in rules if r["action"] == "pin"]
        ranked = self.scores.top(limit, keep=lambda q: q not in hidden, now=now)
        items = [self._item(r["query"], True) for r in sorted(pins, key=lambda r: r["query"]) if not r["position"]]
        items += [self._item(q, False) for q, _ in ranked]
        for rule in sorted((r for r in pins if r["position"]), key=lambda r: r["position"]):
            items.insert(min(rule["position"] - 1, len(items)), self._item(rule["query"], True))
        return items[:limit]

    def _item(self, query: str, pinned: bool) -> dict:
        return {"query": query, "count": self.counter.total(query), "pinned": pinned}


class HotRules:
    """Editors' pins and blocks, kept in the store's "pins" collection."""

    def __init__(self, store: Store):
        self.store = store

    def put(self, query: str, action: str, position: int | None) -> dict:
        record = {"query": query, "action": action, "position": position if action == "pin" else None}
        return self.store.write("pins", query, lambda current: {**record, "updated_at": utcnow()})

    def delete(self, query: str) -> None:
        def decide(current):
            if current is None:
                raise NotFound(f"no pin or block for '{query}'")
            return None

        self.store.write("pins", query, decide)
