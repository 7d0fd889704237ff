"""大家都在搜: what several readers searched, recent searches weighing more.

The rules, all here:

* Counted: a reader's search (sent without an API key: editors' and
  integrations' searches are not readers'), on its first page only (paging
  through one search counts once), that found something, under its canonical
  spelling, unless refusal() names a reason; at most once per reader, query
  and clock hour (event_counter). A reader is a keyed hash of the client
  (readers.py).
* Shown: a counted query once at least `min_readers` distinct readers searched
  it in the last 14 days (event_counter.RECENT_HOURS), unless an editor
  blocked it. Editors' pins lead (or stand at their position); when pins and
  searches leave room, the fallback (topic names with articles) fills it,
  marked as such.

Every worker records into a shared event log and replays all of it, so the
list is the same whichever worker answers. Pins and blocks live in the store,
so they reach every worker through its journal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from ..errors import NotFound
from ..store.store import Store, utcnow
from ..text import normalise
from .decay import DecayedScores

MIN_CHARS, MAX_CHARS = 2, 30
_SPACES = re.compile(r"\s+")
_BETWEEN_HAN = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]")
# Checked on the canonical form (NFKC: full-width ＜ and ｗｗｗ are < and www by then), in order.
_REFUSED = (
    ("link", re.compile(r"://|www\.|@|[a-z0-9]\.[a-z]{2,}")),
    # Contact details are how spam advertises: messaging handles, QQ numbers, phone numbers.
    ("contact", re.compile(r"微信|威信|薇信|weixin|wechat|vx|v信|wx|qq|扣扣"
                           r"|\d{6,}|(?:\d[ -]?){8,}\d")),
    ("markup", re.compile(r"[<>]|&(?:[a-z]+|#\d+|#x[0-9a-f]+);")),
    ("percent-encoded", re.compile(r"%[0-9a-f]{2}")),  # a URL decoded once too few (%ed%a0%80)
    ("repeated character", re.compile(r"(.)\1{4,}")),
)


def canonical(query: str) -> str:
    """One spelling per query: width, case and traditional characters folded (text.normalise),
    spaces made single, and dropped between two Chinese characters (异地 就医 is 异地就医)."""
    return _BETWEEN_HAN.sub("", _SPACES.sub(" ", normalise(query)).strip())


def refusal(key: str) -> str | None:
    """Why a canonical query may never enter 大家都在搜, or None if it may."""
    if not MIN_CHARS <= len(key) <= MAX_CHARS:
        return "length"
    # Category C: control, format (bidi marks and overrides U+200E/F, U+202A-E, U+2066-9;
    # zero-width U+200B-D, U+2060, U+FEFF), lone surrogates, private use, unassigned.
    if any(unicodedata.category(ch)[0] == "C" or ch == "\ufffd" for ch in key):
        return "invisible or broken character"
    for reason, pattern in _REFUSED:
        if pattern.search(key):
            return reason
    if not _CJK.search(key) and len(_LATIN.findall(key)) < 3:
        return "no words"
    return None


def is_junk(key: str) -> bool:
    return refusal(key) is not None


class HotSearches:
    def __init__(self, counter, store: Store, tokens: Callable[[str], str], half_life_hours: float = 24.0,
                 min_readers: int = 3, fallback: Callable[[], Iterable[str]] = tuple):
        self.counter = counter
        self.store = store
        self.tokens = tokens  # client identity -> reader token
        self.min_readers = max(1, min_readers)
        self.fallback = fallback
        self.scores = DecayedScores(half_life_hours)
        counter.subscribe(self.scores.on_events)
        # (limit, fallback) -> (state, items): suggest, /hot and pages ask for different lists in turn.
        self._top: dict[tuple[int, bool], tuple[tuple, list[dict]]] = {}

    def record(self, query: str, reader: str, found: int, now: float | None = None, *, page: int = 1,
               with_key: bool = False) -> bool:
        """Count a search by `reader` (a client identity) that found `found` results, asked for
        `page` of them, `with_key` if an API key was sent; False when it does not count."""
        if with_key or page != 1:
            return False
        key = canonical(query)
        if not found or is_junk(key):
            return False
        self.counter.record(key, now, reader=self.tokens(reader))
        return True

    def shown(self, key: str, now: float | None = None) -> bool:
        """Enough distinct readers for a counted query to be shown."""
        return self._enough(self.counter.readers(key, now, enough=self.min_readers))

    def _enough(self, readers: int) -> bool:
        return readers >= self.min_readers

    def top(self, limit: int = 10, now: float | None = None, fallback: bool = True) -> list[dict]:
        """Pins without a position lead, pins with one stand at it, searches (then the fallback) fill the rest."""
        self.counter.refresh()  # what every process published; a read never writes
        # Decay scales every score alike, so the order only changes with new searches, rules or
        # topics, or when readers leave the window (checked hourly).
        revision = self.store.revision
        state = (self.counter.revision, revision["pins"], revision["articles"], revision["topics"],
                 int(self.counter.clock() // 3600))
        kept = self._top.get((limit, fallback))
        if now is None and kept is not None and kept[0] == state:
            return [dict(item) for item in kept[1]]
        items = self._rank(limit, now, fallback)
        if now is None:
            self._top[(limit, fallback)] = (state, items)
        return [dict(item) for item in items]

    def _rank(self, limit: int, now: float | None, fallback: bool) -> list[dict]:
        rules = self.store.all("pins").values()
        taken = {r["query"] for r in rules}  # blocked, or shown as a pin
        pins = [r for r in rules if r["action"] == "pin"]
        enough = self.counter.keys_with_readers(self.min_readers, now)
        ranked = self.scores.top(limit, keep=lambda q: q in enough and q not in taken, now=now)
        items = [self._item(r["query"], "pin") for r in sorted(pins, key=lambda r: r["query"]) if not r["position"]]
        items += [self._item(q, "search") for q, _ in ranked]
        if fallback:
            taken.update(q for q, _ in ranked)
            for phrase in self.fallback():
                if len(items) >= limit:
                    break
                key = canonical(phrase)
                if key not in taken:
                    taken.add(key)
                    items.append(self._item(key, "topic"))
        for rule in sorted((r for r in pins if r["position"]), key=lambda r: r["position"]):
            items.insert(min(rule["position"] - 1, len(items)), self._item(rule["query"], "pin"))
        return items[:limit]

    def _item(self, query: str, source: str) -> dict:
        return {"query": query, "count": self.counter.total(query), "pinned": source == "pin", "source": source}

    def counted(self, now: float | None = None) -> list[dict]:
        """Every counted query, for editors: below the threshold too, in 大家都在搜's order."""
        self.counter.refresh()
        rules = {r["query"]: r["action"] for r in self.store.all("pins").values()}
        rows = []
        for query, count in self.counter.totals().items():
            readers = self.counter.readers(query, now)
            rule = rules.get(query)
            shown = rule == "pin" or (rule is None and self._enough(readers))
            rows.append((self.scores.score(query, now), {"query": query, "count": count, "readers": readers,
                                                         "shown": shown, "rule": rule}))
        rows.sort(key=lambda row: (-row[0], row[1]["query"]))
        return [row for _, row in rows]


class HotRules:
    """Editors' pins and blocks, kept in the store's "pins" collection."""

    def __init__(self, store: Store):
        self.store = store

    def put(self, query: str, action: str, position: int | None) -> dict:
        key = canonical(query)
        record = {"query": key, "action": action, "position": position if action == "pin" else None}
        return self.store.write("pins", key, lambda current: {**record, "updated_at": utcnow()})

    def delete(self, query: str) -> None:
        key = canonical(query)

        def decide(current):
            if current is None:
                raise NotFound(f"no pin or block for '{key}'")
            return None

        self.store.write("pins", key, decide)
