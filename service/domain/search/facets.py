"""Facet assignments, e.g. an article's topics or regions, and their counts over a query's matches.

Assignments are (docno, value id) pairs in docno order, with a small delta
of new ones, counted directly and folded in once it holds
DELTA_ASSIGNMENTS. The base is counted whichever way is cheapest:
- few matches (or, against remembered counts of the whole universe, few
  visible non-matches, as for 医保): their assignments, read by docno;
- otherwise by value: each common value's documents are kept as one bit a
  docno, so its count is a popcount of those bits and the matches', and
  each rare value's as a docno list, so its count is a gather.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..store import saved_arrays
from .postings import Vocab

DELTA_ASSIGNMENTS = 4096
BITS_SHARE = 64  # values on at least 1/64 of the docnos are kept as bits
FEW_SHARE = 16  # matches (or non-matches) in fewer than 1/16 of the docnos are counted by docno
UNIVERSES_KEPT = 8


class _ByValue:
    """The base assignments by value, for docnos below capacity (a multiple of 64)."""

    def __init__(self, docs: np.ndarray, vals: np.ndarray, values: int, capacity: int):
        order = np.argsort(vals, kind="stable")  # docno order within a value
        self.docs = docs[order]
        self.indptr = np.concatenate(([0], np.cumsum(np.bincount(vals, minlength=values))))
        self.capacity = capacity
        self.bits: dict[int, np.ndarray] = {}
        for v in range(values):
            lo, hi = self.indptr[v], self.indptr[v + 1]
            if (hi - lo) * BITS_SHARE >= capacity:
                mask = np.zeros(capacity, bool)
                mask[self.docs[lo:hi]] = True
                self.bits[v] = np.packbits(mask, bitorder="little").view(np.uint64)

    def of(self, v: int) -> np.ndarray:
        return self.docs[self.indptr[v]:self.indptr[v + 1]]

    def counts(self, matched: np.ndarray) -> np.ndarray:
        hits = np.zeros(len(self.indptr) - 1, np.int64)
        packed = None
        for v in range(len(hits)):
            bits = self.bits.get(v)
            if bits is None:
                hits[v] = np.count_nonzero(matched[self.of(v)])
                continue
            if packed is None:
                padded = np.zeros(self.capacity, bool)
                padded[: len(matched)] = matched
                packed = np.packbits(padded, bitorder="little").view(np.uint64)
            hits[v] = int(np.bitwise_count(packed & bits).sum())
        return hits


class Facet:
    """(docno, value id) assignments, e.g. an article's topics or regions."""

    def __init__(self) -> None:
        self.vocab = Vocab()
        self.names: list[str] = []
        self.docs = np.empty(0, np.int32)
        self.vals = np.empty(0, np.int32)
        self.delta_docs: list[int] = []
        self.delta_vals: list[int] = []
        self._by_value: _ByValue | None = None
        self._by_doc: np.ndarray | None = None  # indptr of the base over docnos
        self._universes: dict[object, np.ndarray] = {}

    def _base_changed(self) -> None:
        self._by_value = None
        self._by_doc = None
        self._universes = {}

    def _value(self, name: str) -> int:
        vid = self.vocab[name]
        if vid == len(self.names):
            self.names.append(name)
        return vid

    def add(self, docno: int, names: list[str]) -> None:
        for name in dict.fromkeys(names):  # each value once per document
            self.delta_docs.append(docno)
            self.delta_vals.append(self._value(name))
        if len(self.delta_docs) >= DELTA_ASSIGNMENTS:
            self.merge_delta()

    def merge_delta(self) -> None:
        if self.delta_docs:
            self.docs = np.concatenate((self.docs, np.asarray(self.delta_docs, np.int32)))
            self.vals = np.concatenate((self.vals, np.asarray(self.delta_vals, np.int32)))
            self.delta_docs, self.delta_vals = [], []
            self._base_changed()

    def compact(self, keep: np.ndarray, remap: np.ndarray) -> None:
        self.merge_delta()
        kept = keep[self.docs]
        self.docs = remap[self.docs[kept]].astype(np.int32)
        self.vals = self.vals[kept]
        self._base_changed()

    def _values(self, size: int) -> _ByValue:
        """The base by value, rebuilt when merged or outgrown (capacity leaves room to grow)."""
        if len(self.delta_docs) >= DELTA_ASSIGNMENTS:  # e.g. as saved by a build
            self.merge_delta()
        if self._by_value is None or self._by_value.capacity < size or len(self._by_value.indptr) <= len(self.names):
            capacity = -(-(size + size // 8 + 64) // 64) * 64
            self._by_value = _ByValue(self.docs, self.vals, len(self.names), capacity)
        return self._by_value

    def docs_with(self, name: str, size: int) -> np.ndarray:
        """Boolean mask over docnos of the documents carrying this value."""
        mask = np.zeros(size, bool)
        vid = self.vocab.get(name)
        if vid is not None:
            mask[self._values(size).of(vid)] = True
            if self.delta_docs:
                delta = np.asarray(self.delta_docs, np.int64)
                mask[delta[np.asarray(self.delta_vals) == vid]] = True
        return mask

    def _count_docs(self, docnos: np.ndarray) -> np.ndarray:
        """Base assignments per value of these docnos."""
        if self._by_doc is None:
            top = int(self.docs.max()) + 1 if len(self.docs) else 0
            self._by_doc = np.searchsorted(self.docs, np.arange(top + 1))
        indptr = self._by_doc
        docnos = docnos[docnos < len(indptr) - 1]
        starts, ends = indptr[docnos], indptr[docnos + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(len(self.names), np.int64)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return np.bincount(self.vals[offsets + np.arange(total)], minlength=len(self.names))

    def _base_counts(self, matched: np.ndarray, universe: np.ndarray | None, key: object) -> np.ndarray:
        size = len(matched)
        if np.count_nonzero(matched) * FEW_SHARE <= size:
            return self._count_docs(np.flatnonzero(matched))
        if universe is not None:
            rest = universe & ~matched
            if np.count_nonzero(rest) * FEW_SHARE <= size:
                whole = self._universes.get(key)
                if whole is None or len(whole) != len(self.names):
                    if len(self._universes) >= UNIVERSES_KEPT:
                        self._universes.clear()
                    whole = self._universes[key] = self._values(size).counts(universe)
                return whole - self._count_docs(np.flatnonzero(rest))
        return self._values(size).counts(matched)

    def counts(
        self, matched: np.ndarray, universe: np.ndarray | None = None, key: object = None,
    ) -> list[tuple[str, int]]:
        """(value, count) over the matched docnos, most frequent first.

        universe (a superset of matched) and key (naming it until the documents
        change) let a query matching nearly all of it be counted from the rest.
        """
        if not len(self.docs) and not self.delta_docs:
            return []
        if len(self.delta_docs) >= DELTA_ASSIGNMENTS:
            self.merge_delta()
        hits = self._base_counts(matched, universe if key is not None else None, key)
        if self.delta_docs:
            delta = np.asarray(self.delta_docs, np.int64)
            hits += np.bincount(np.asarray(self.delta_vals, np.int64)[matched[delta]], minlength=len(hits))
        nonzero = np.flatnonzero(hits)
        order = sorted(nonzero.tolist(), key=lambda v: (-hits[v], self.names[v]))
        return [(self.names[v], int(hits[v])) for v in order]

    def nbytes(self) -> int:
        return self.docs.nbytes + self.vals.nbytes

    def cached_nbytes(self) -> int:
        """Bytes of the copy by value (built on the first count)."""
        by_value = self._by_value
        return 0 if by_value is None else by_value.docs.nbytes + sum(b.nbytes for b in by_value.bits.values())

    def state(self) -> dict[str, np.ndarray]:
        """Everything but the by-value copy, as flat arrays (names are the vocab in id order)."""
        return {
            **saved_arrays.pack_strings("names", self.names),
            "docs": self.docs,
            "vals": self.vals,
            "delta_docs": np.asarray(self.delta_docs, np.int32),
            "delta_vals": np.asarray(self.delta_vals, np.int32),
        }

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray]) -> Facet:
        facet = cls()
        facet.names = saved_arrays.unpack_strings(arrays, "names")
        facet.vocab = Vocab.of(facet.names)
        facet.docs = arrays["docs"].astype(np.int32, copy=False)
        facet.vals = arrays["vals"].astype(np.int32, copy=False)
        facet.delta_docs = arrays["delta_docs"].tolist()
        facet.delta_vals = arrays["delta_vals"].tolist()
        if len(facet.docs) != len(facet.vals) or len(facet.delta_docs) != len(facet.delta_vals):
            raise ValueError("facet arrays do not match")
        return facet
