"""Prefix suggestions over titles: by normalised text, full pinyin, initials.

Three sorted key lists answer a prefix with two bisects each, so a
suggestion costs microseconds at 100k titles. The lists cost ~30 MB at
100k, so the index builds them on the first suggest() call, not at start.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from . import search_pinyin, text

SCAN = 200  # prefix matches looked at per key list before ranking


def keys_of(title: str) -> tuple[str, str, str]:
    norm = "".join(text.normalise(title).split())
    full, initials = search_pinyin.spellings(norm)
    return norm, full, initials


class Suggester:
    def __init__(self, entries: Iterable[tuple[int, str]]):
        rows = [(keys_of(title), docno) for docno, title in entries]
        self.lists: list[list[tuple[str, int]]] = [
            sorted((keys[k], docno) for keys, docno in rows if keys[k]) for k in range(3)
        ]
        self.keys: dict[int, tuple[str, str, str]] = {docno: keys for keys, docno in rows}

    def add(self, docno: int, title: str) -> None:
        keys = keys_of(title)
        self.keys[docno] = keys
        for lst, key in zip(self.lists, keys, strict=True):
            if key:
                bisect.insort(lst, (key, docno))

    def remove(self, docno: int) -> None:
        keys = self.keys.pop(docno, None)
        if keys is None:
            return
        for lst, key in zip(self.lists, keys, strict=True):
            at = bisect.bisect_left(lst, (key, docno))
            if at < len(lst) and lst[at] == (key, docno):
                del lst[at]

    def candidates(self, prefix: str) -> list[int]:
        """Docnos whose title, pinyin or initials start with the prefix."""
        norm = "".join(text.normalise(prefix).split())
        if not norm:
            return []
        found: dict[int, None] = {}
        for lst in self.lists:
            at = bisect.bisect_left(lst, (norm, -1))
            for key, docno in lst[at:at + SCAN]:
                if not key.startswith(norm):
                    break
                found[docno] = None
        return list(found)


def popular_matches(prefix: str, popular: Sequence[str]) -> list[str]:
    """Popular queries matching the prefix the same three ways, in given order."""
    norm = "".join(text.normalise(prefix).split())
    if not norm:
        return []
    return [q for q in popular if any(k.startswith(norm) for k in _query_keys(q))]


# Popular queries are matched on every keystroke; their pinyin is worth keeping.
_query_keys = lru_cache(maxsize=4096)(keys_of)


def rank(docnos: list[int], title_of: Callable[[int], str]) -> list[int]:
    """Shorter titles first: they are closer to what was typed."""
    return sorted(docnos, key=lambda d: (len(title_of(d)), title_of(d), d))
