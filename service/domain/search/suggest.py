"""Suggestions over titles: by normalised text, full pinyin, initials, and
words inside a title.

A prefix of the text, its pinyin (yibao) or its initials (ybk) is answered
by three sorted key lists with two bisects each. Words inside a title (提现
in 广州医保卡提现电话) are answered by lists of titles per character pair:
the rarest pair of the query is scanned and each title checked. Titles that
start with what was typed come before titles that only contain it; within
each, shorter titles first (closer to what was typed), then by title, then
by article id. Every list is kept in an order that depends on the articles
only, never on the order they were added, so a suggester updated by edits
answers exactly like one built afresh. The lists cost ~0.9 KB a title
(the pair lists a third of it), so the index builds them on the first
suggest() call, not at start.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from .. import text
from .pinyin import spellings

SCAN = 200  # matches looked at per key list (and inside titles) before ranking
INFIX_SCAN = 5000  # titles holding the rarest pair checked for the whole query
INFIX_MIN = 2  # one character inside titles matches too much to suggest anything


def keys_of(title: str) -> tuple[str, str, str]:
    norm = _compact(title)
    full, initials = spellings(norm)
    return norm, full, initials


def _compact(value: str) -> str:
    # Spaces and punctuation dropped: yi-bao-ka and yi bao ka complete like yibaoka.
    return "".join(text.search_text(value).split())


def _pairs(norm: str) -> set[str]:
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def rank_key(title: str, article_id: str) -> tuple[int, str, str]:
    """Within one kind of match: shorter titles first, then title, then id."""
    return len(title), title, article_id


class Suggester:
    def __init__(self, entries: Iterable[tuple[int, str]], id_of: Callable[[int], str] = str):
        """entries are (docno, title); id_of(docno) names the article (ties)."""
        self._id_of = id_of
        self.keys: dict[int, tuple[str, str, str]] = {}
        self._rank: dict[int, tuple[int, str, str]] = {}
        for docno, title in entries:
            self.keys[docno] = keys_of(title)
            self._rank[docno] = rank_key(title, str(id_of(docno)))
        self.lists: list[list[tuple[str, str, int]]] = [
            sorted((keys[k], self._rank[d][2], d) for d, keys in self.keys.items() if keys[k])
            for k in range(3)
        ]
        self.pairs: dict[str, list[int]] = {}
        for docno in sorted(self.keys, key=self._rank.__getitem__):  # lists come out in rank order
            for pair in _pairs(self.keys[docno][0]):
                self.pairs.setdefault(pair, []).append(docno)

    def add(self, docno: int, title: str) -> None:
        keys = self.keys[docno] = keys_of(title)
        rank = self._rank[docno] = rank_key(title, str(self._id_of(docno)))
        for lst, key in zip(self.lists, keys, strict=True):
            if key:
                bisect.insort(lst, (key, rank[2], docno))
        for pair in _pairs(keys[0]):
            bisect.insort(self.pairs.setdefault(pair, []), docno, key=self._rank.__getitem__)

    def remove(self, docno: int) -> None:
        keys = self.keys.pop(docno, None)
        if keys is None:
            return
        rank = self._rank[docno]
        for lst, key in zip(self.lists, keys, strict=True):
            at = bisect.bisect_left(lst, (key, rank[2], docno))
            if at < len(lst) and lst[at] == (key, rank[2], docno):
                del lst[at]
        for pair in _pairs(keys[0]):
            lst = self.pairs[pair]
            at = bisect.bisect_left(lst, rank, key=self._rank.__getitem__)
            while at < len(lst) and lst[at] != docno:  # equal ranks: one id indexed twice
                at += 1
            if at < len(lst):
                del lst[at]
            if not lst:
                del self.pairs[pair]
        del self._rank[docno]

    def candidates(self, prefix: str) -> list[int]:
        """Docnos whose title, pinyin or initials start with the prefix, then
        those whose title contains it, each kind in rank order."""
        norm = _compact(prefix)
        if not norm:
            return []
        starting: dict[int, None] = {}
        for lst in self.lists:
            at = bisect.bisect_left(lst, (norm,))
            for key, _, docno in lst[at:at + SCAN]:
                if not key.startswith(norm):
                    break
                starting[docno] = None
        found = sorted(starting, key=self._rank.__getitem__)
        return found + self._containing(norm, starting)

    def _containing(self, norm: str, starting: dict[int, None]) -> list[int]:
        if len(norm) < INFIX_MIN:
            return []
        lists = [self.pairs.get(pair) for pair in _pairs(norm)]
        if not all(lists):
            return []
        inside: list[int] = []
        for docno in min(lists, key=len)[:INFIX_SCAN]:
            keys = self.keys[docno]
            if norm in keys[0] and docno not in starting and not any(k.startswith(norm) for k in keys):
                inside.append(docno)
                if len(inside) >= SCAN:
                    break
        return inside


def popular_matches(prefix: str, popular: Sequence[str]) -> list[str]:
    """Popular queries starting with the prefix (text, pinyin or initials),
    then those containing it, each in the given (popularity) order."""
    norm = _compact(prefix)
    if not norm:
        return []
    starting = [q for q in popular if any(k.startswith(norm) for k in _query_keys(q))]
    if len(norm) < INFIX_MIN:
        return starting
    taken = set(starting)
    return starting + [q for q in popular if q not in taken and norm in _query_keys(q)[0]]


# Popular queries are matched on every keystroke; their pinyin is worth keeping.
_query_keys = lru_cache(maxsize=4096)(keys_of)
