"""The title suggester as it was before its lists became arrays, kept to test against.

Python lists and dicts, built from every title's pinyin at once: each answer
of service.domain.search.suggest.Suggester must equal this one's. The
scan limits are read from that module, so a test lowering them lowers both.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from service.domain.search import suggest
from service.domain.search.suggest import _compact, _pairs, keys_of, rank_key


class ReferenceSuggester:
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
            for key, _, docno in lst[at:at + suggest.SCAN]:
                if not key.startswith(norm):
                    break
                starting[docno] = None
        found = sorted(starting, key=self._rank.__getitem__)
        return found + self._containing(norm, starting)

    def _containing(self, norm: str, starting: dict[int, None]) -> list[int]:
        if len(norm) < suggest.INFIX_MIN:
            return []
        lists = [self.pairs.get(pair) for pair in _pairs(norm)]
        if not all(lists):
            return []
        inside: list[int] = []
        for docno in min(lists, key=len)[:suggest.INFIX_SCAN]:
            keys = self.keys[docno]
            if norm in keys[0] and docno not in starting and not any(k.startswith(norm) for k in keys):
                inside.append(docno)
                if len(inside) >= suggest.SCAN:
                    break
        return inside
