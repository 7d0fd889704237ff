"""The columns article lists are answered from: per docno, arrays instead of records.

Two structures, each cheap to keep current one change at a time and cheap to read:

* ValueSets, a field with several values per article (topics, regions, tags): a CSR
  base (value id -> the docnos that have it) as of its last fold, plus the docnos
  changed since, with their value ids now, which override the base. A change costs a
  dict entry, a query a few slices and one small correction; the changes are folded
  into the base in one pass over the pairs once there are many.
* SortedDocs, one sort order: every live docno in the order of its key, as one array.
  Docnos whose key changed are taken out and put back at their places (one bisect each,
  one np.insert for all) when the order is next read, so a burst of changes (a journal
  replayed, a backup imported) costs one pass, not one per change; when most of the
  order moved it is sorted afresh.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from itertools import chain

import numpy as np

from ..vocab import Vocab

# SortedDocs re-sorts from scratch when more than 1/RESORT_SHARE of it moved.
RESORT_SHARE = 8
# numpy sorts many distinct strings faster than Python, but its arrays are as wide as their
# longest string (4 bytes a character) and sorting copies them: beyond this, Python sorts.
NUMPY_STRING_BYTES = 64 * 2**20


def grown(array: np.ndarray, size: int) -> np.ndarray:
    """The array with room for `size` entries (doubling, so appends cost O(1) on average)."""
    if size <= len(array):
        return array
    bigger = np.zeros(max(size, 2 * len(array), 16), array.dtype)
    bigger[: len(array)] = array
    return bigger


def distinct_ranks(values: list[str]) -> np.ndarray:
    """Each value's rank among the distinct values, in Python's order (by code point)."""
    distinct = set(values)
    widest = max(map(len, distinct), default=0)
    if len(distinct) * 8 > len(values) and 4 * widest * len(values) <= NUMPY_STRING_BYTES \
            and not any("\x00" in v for v in distinct):
        # Many distinct values (titles): numpy sorts them faster. Its fixed-width strings
        # drop trailing NULs, so a value with a NUL in it is sorted the Python way.
        return np.unique(np.array(values, dtype=str), return_inverse=True)[1].reshape(-1)
    rank = {value: n for n, value in enumerate(sorted(distinct))}
    return np.fromiter(map(rank.__getitem__, values), np.int64, len(values))


class ValueSets:
    """docno -> a set of value ids, for filtering by one value (or any of a few).

    A value an article lists twice is a pair twice: a mask or a count takes it once."""

    def __init__(self) -> None:
        self.vocab = Vocab()
        self.indptr = np.zeros(1, np.int64)
        self.docs = np.empty(0, np.int32)
        # docno -> its value ids now, for docnos changed since the base was made.
        self.changed: dict[int, tuple[int, ...]] = {}
        self._changed_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def load(self, per_docno: list) -> None:
        """The base from every docno's values (docno = position in the list), in one pass."""
        per_docno = [values or () for values in per_docno]  # null as none, as set() takes it
        ids = np.fromiter(map(self.vocab.__getitem__, chain.from_iterable(per_docno)), np.int32)
        lens = np.fromiter(map(len, per_docno), np.int64, len(per_docno))
        docs = np.repeat(np.arange(len(per_docno), dtype=np.int32), lens)
        self._base(docs, ids)

    def set(self, docno: int, values: Iterable[str]) -> None:
        """The docno's values from now on (none for a deleted article)."""
        self.changed[docno] = tuple(sorted({self.vocab[v] for v in values}))
        self._changed_arrays = None

    def ids(self, values: Iterable[str]) -> list[int]:
        """The ids of those values any article ever had (the others match nothing)."""
        return [self.vocab[v] for v in values if v in self.vocab]

    def having(self, ids: list[int], size: int) -> np.ndarray:
        """A mask over docnos [0, size): those with any of these value ids."""
        mask = np.zeros(size, bool)
        known = len(self.indptr) - 1
        for vid in ids:
            if vid < known:
                mask[self.docs[self.indptr[vid]:self.indptr[vid + 1]]] = True
        if self.changed:
            docs, pair_docs, pair_ids = self._changed()
            mask[docs] = False
            mask[pair_docs[np.isin(pair_ids, ids)]] = True
        return mask

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (docno, value id) now, as two arrays."""
        ids = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))
        docs = self.docs
        if self.changed:
            changed, pair_docs, pair_ids = self._changed()
            kept = ~np.isin(docs, changed)
            docs = np.concatenate((docs[kept], pair_docs))
            ids = np.concatenate((ids[kept], pair_ids))
        return docs, ids

    def fold(self) -> None:
        """Make the base hold every change: one sort of the pairs."""
        self._base(*self.pairs())

    def _base(self, docs: np.ndarray, ids: np.ndarray) -> None:
        order = np.argsort(ids, kind="stable")
        self.docs = docs[order].astype(np.int32)
        counts = np.bincount(ids, minlength=len(self.vocab))
        self.indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.changed = {}
        self._changed_arrays = None

    def _changed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(changed docnos, their pairs' docnos, their pairs' value ids), made once per change."""
        if self._changed_arrays is None:
            docs = np.fromiter(self.changed, np.int32, len(self.changed))
            lens = np.fromiter((len(v) for v in self.changed.values()), np.int64, len(self.changed))
            ids = np.fromiter((i for v in self.changed.values() for i in v), np.int32, int(lens.sum()))
            self._changed_arrays = (docs, np.repeat(docs, lens), ids)
        return self._changed_arrays

    def nbytes(self) -> int:
        return self.indptr.nbytes + self.docs.nbytes


class SortedDocs:
    """The live docnos in ascending order of (keys[docno], ids[docno]): the id breaks ties.

    `keys` and `ids` are the catalogue's own lists, changed in place."""

    def __init__(self, keys: list[str], ids: list[str], resort_share: int = RESORT_SHARE):
        self.keys, self.ids = keys, ids
        self.resort_share = resort_share
        self.docs = np.empty(0, np.int32)
        self.moved: set[int] = set()

    def key(self, docno: int) -> tuple[str, str]:
        return self.keys[docno], self.ids[docno]

    def move(self, docno: int) -> None:
        """The docno's key changed, or it was added or deleted."""
        self.moved.add(docno)

    def rebuild(self, by_id: list[int]) -> None:
        """Sorted afresh, from these docnos in the order of their ids."""
        # The keys' ranks, then one stable numpy sort: far cheaper than sorting (key, id) tuples.
        ranks = distinct_ranks(list(map(self.keys.__getitem__, by_id)))
        self.docs = np.asarray(by_id, np.int32)[np.argsort(ranks, kind="stable")]
        self.moved = set()

    def current(self, alive: np.ndarray) -> np.ndarray:
        """The order now (`alive` marks the docnos that are in it)."""
        if self.moved:
            if len(self.moved) * self.resort_share > len(self.docs):
                self.rebuild(sorted(np.flatnonzero(alive).tolist(), key=self.ids.__getitem__))
                return self.docs
            moved = np.zeros(len(alive), bool)
            moved[list(self.moved)] = True
            kept = self.docs[~moved[self.docs]]
            back = self._sorted(d for d in self.moved if alive[d]).tolist()
            at = [bisect_left(kept, self.key(d), key=self.key) for d in back]
            self.docs = np.insert(kept, at, back).astype(np.int32)
            self.moved = set()
        return self.docs

    def _sorted(self, docnos: Iterable[int]) -> np.ndarray:
        ordered = sorted(docnos, key=self.key)
        return np.fromiter(ordered, np.int32, len(ordered))

    def nbytes(self) -> int:
        return self.docs.nbytes
