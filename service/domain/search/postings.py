"""Array-backed postings for the search index (facet assignments: facets.py).

A dict of Python lists costs ~1 GB and 100+ ms per common-term query at
100k articles; flat numpy arrays (CSR: one docno array and one impact array,
sliced per term) cost ~5 bytes a posting and score a 100k-long posting list
in a fraction of a millisecond. Arrays are expensive to grow one document at
a time, so changes go to a small append-only delta of typed arrays (array
module: 5 bytes a posting, where lists of ints cost 16 and more) that is
folded into the arrays (one np.insert pass) once it holds enough documents.
Removed documents are only masked out; compact() drops them in bulk.
state()/from_state() turn them into flat arrays and back, so the
search index can be saved to one file and loaded instead of rebuilt.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..store import saved_arrays
from ..vocab import Vocab

IMPACT_SCALE = 255.0  # impacts are BM25 tf-saturation in (0, 1], stored as uint8
DENSE_TERMS = 64  # at most this many terms get a dense row (N bytes each)
DENSE_SHARE = 8  # ... and only terms in at least 1/8 of the documents
DENSE_ON_USE = 64  # rows of other terms in 1/ON_USE_SHARE, built when a query reads them, the last used kept
ON_USE_SHARE = 16


DOCNO, IMPACT = "i", "B"  # the delta's array typecodes: int32 docnos, uint8 impacts


def _delta(keys: np.ndarray, lens: np.ndarray, docnos: np.ndarray, imps: np.ndarray) -> dict[int, tuple[array, array]]:
    """Inverse of flattening {term: (docnos, impacts)} into keys, lens and two columns."""
    ends = np.cumsum(lens, dtype=np.int64).tolist()
    if any(len(column) != (ends[-1] if ends else 0) for column in (docnos, imps)):
        raise ValueError("delta lengths do not match")
    docnos, imps = docnos.astype(np.int32), imps.astype(np.uint8)
    out: dict[int, tuple[array, array]] = {}
    start = 0
    for key, end in zip(keys.tolist(), ends, strict=True):
        out[key] = (array(DOCNO, docnos[start:end].tobytes()), array(IMPACT, imps[start:end].tobytes()))
        start = end
    return out


def _flat(parts: list[array], dtype) -> np.ndarray:
    """The delta's arrays end to end, copied (a view would keep them from growing)."""
    return np.concatenate([np.frombuffer(p, dtype) for p in parts]) if parts else np.zeros(0, dtype)


class Postings:
    """term -> (docnos int32, impacts uint8) as a CSR base plus a delta."""

    def __init__(self) -> None:
        self.vocab = Vocab()
        self.indptr = np.zeros(1, np.int64)
        self.docs = np.empty(0, np.int32)
        self.imps = np.empty(0, np.uint8)
        self.delta: dict[int, tuple[array, array]] = {}  # term -> (docnos, impacts) since the last fold
        self.delta_docs = 0
        self.dense: dict[int, np.ndarray] = {}
        self.dense_counts: dict[int, np.ndarray] = {}
        self._dense_size = 0
        self._on_use: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    # -- dense rows for the commonest terms ---------------------------------

    def _refresh_dense(self) -> None:
        """Keep the DENSE_TERMS commonest terms also as one uint8 per docno.

        Scoring 医保 (in nearly every article) from its posting list is a
        scatter over 100k random positions; from a dense row it is one
        contiguous multiply-add, several times faster, for N bytes a term.
        Each row's impact histogram (256 counts) tells the ranking how many
        documents lie above an impact without a pass over the row.
        """
        self.dense = {}
        self.dense_counts = {}
        self._on_use = OrderedDict()
        size = self._dense_size = int(self.docs.max()) + 1 if len(self.docs) else 0
        lengths = np.diff(self.indptr)
        if not size or not len(lengths):
            return
        common = np.argsort(lengths)[::-1][:DENSE_TERMS]
        for tid in common[lengths[common] * DENSE_SHARE >= size].tolist():
            row = np.zeros(size, np.uint8)
            lo, hi = self.indptr[tid], self.indptr[tid + 1]
            row[self.docs[lo:hi]] = self.imps[lo:hi]
            self.dense[tid] = row
            self.dense_counts[tid] = np.bincount(self.imps[lo:hi], minlength=256)

    def _row(self, tid: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(dense row, impact histogram) of a term common enough for one, else None."""
        row = self.dense.get(tid)
        if row is not None:
            return row, self.dense_counts[tid]
        found = self._on_use.get(tid)
        if found is not None:
            self._on_use.move_to_end(tid)
            return found
        if tid + 1 >= len(self.indptr):
            return None
        lo, hi = self.indptr[tid], self.indptr[tid + 1]
        if not self._dense_size or (hi - lo) * ON_USE_SHARE < self._dense_size:
            return None
        # One of many common words (a corpus of templates has hundreds): a row on first use.
        row = np.zeros(self._dense_size, np.uint8)
        row[self.docs[lo:hi]] = self.imps[lo:hi]
        found = self._on_use[tid] = (row, np.bincount(self.imps[lo:hi], minlength=256))
        while len(self._on_use) > DENSE_ON_USE:
            self._on_use.popitem(last=False)
        return found

    def dense_row(self, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(dense row, delta docnos, delta impacts) for a common term, else None."""
        tid = self.vocab.get(term)
        found = self._row(tid) if tid is not None else None
        if found is None:
            return None
        row = found[0]
        extra = self.delta.get(tid)
        if extra:
            return row, np.array(extra[0], np.int32), np.array(extra[1], np.uint8)
        return row, self.docs[:0], self.imps[:0]

    def dense_histogram(self, term: str) -> np.ndarray:
        """Base documents per impact value of a term with a dense row (delta excluded)."""
        return self._row(self.vocab[term])[1]

    # -- bulk ------------------------------------------------------------

    def load(self, terms: np.ndarray, docs: np.ndarray, imps: np.ndarray) -> None:
        """Replace the base with these (term id, docno, impact) rows."""
        order = np.argsort(terms, kind="stable")
        counts = np.bincount(terms, minlength=len(self.vocab))
        self.indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.docs = docs[order].astype(np.int32)
        self.imps = imps[order].astype(np.uint8)
        self.delta = {}
        self.delta_docs = 0
        self._refresh_dense()

    # -- incremental -----------------------------------------------------

    def add(self, docno: int, impacts: dict[int, int]) -> None:
        """Append one document's (term id -> impact) to the delta."""
        for term, impact in impacts.items():
            entry = self.delta.get(term)
            if entry is None:
                entry = self.delta[term] = (array(DOCNO), array(IMPACT))
            entry[0].append(docno)
            entry[1].append(impact)
        self.delta_docs += 1

    def merge_delta(self) -> None:
        """Fold the delta into the arrays: one O(postings) copy."""
        if not self.delta:
            self.delta_docs = 0
            return
        vocab_size = len(self.vocab)
        indptr = self.indptr
        if len(indptr) - 1 < vocab_size:
            pad = np.full(vocab_size - (len(indptr) - 1), indptr[-1], np.int64)
            indptr = np.concatenate((indptr, pad))
        terms = sorted(self.delta)
        lens = [len(self.delta[t][0]) for t in terms]
        t_arr = np.repeat(np.asarray(terms, np.int64), lens)
        d_arr = _flat([self.delta[t][0] for t in terms], np.int32)
        i_arr = _flat([self.delta[t][1] for t in terms], np.uint8)
        at = indptr[t_arr + 1]  # end of each term's slice; delta docnos are newer
        self.docs = np.insert(self.docs, at, d_arr)
        self.imps = np.insert(self.imps, at, i_arr)
        added = np.bincount(t_arr, minlength=vocab_size)
        self.indptr = indptr + np.concatenate(([0], np.cumsum(added)))
        self.delta = {}
        self.delta_docs = 0
        self._refresh_dense()

    def compact(self, keep: np.ndarray, remap: np.ndarray) -> None:
        """Drop postings of docnos not in keep; renumber the rest by remap."""
        self.merge_delta()
        kept = keep[self.docs]
        running = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
        self.indptr = running[self.indptr]
        self.docs = remap[self.docs[kept]].astype(np.int32)
        self.imps = self.imps[kept]
        self._refresh_dense()

    # -- reading ---------------------------------------------------------

    def get(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnos, impacts) of a term, base and delta together; None if unseen."""
        tid = self.vocab.get(term)
        if tid is None:
            return None
        if tid + 1 < len(self.indptr):
            lo, hi = self.indptr[tid], self.indptr[tid + 1]
            docs, imps = self.docs[lo:hi], self.imps[lo:hi]
        else:
            docs, imps = self.docs[:0], self.imps[:0]
        extra = self.delta.get(tid)
        if extra:
            docs = np.concatenate((docs, np.array(extra[0], np.int32)))
            imps = np.concatenate((imps, np.array(extra[1], np.uint8)))
        return (docs, imps) if len(docs) else None

    def df(self, term: str) -> int:
        tid = self.vocab.get(term)
        if tid is None:
            return 0
        base = int(self.indptr[tid + 1] - self.indptr[tid]) if tid + 1 < len(self.indptr) else 0
        extra = self.delta.get(tid)
        return base + (len(extra[0]) if extra else 0)

    def nbytes(self) -> int:
        dense = sum(row.nbytes for row in self.dense.values())
        return self.indptr.nbytes + self.docs.nbytes + self.imps.nbytes + dense

    def cached_nbytes(self) -> int:
        """Bytes of the rows built on use (at most DENSE_ON_USE of N bytes)."""
        return sum(row.nbytes for row, _ in self._on_use.values())

    # -- saving ----------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """Everything as flat arrays. Dense rows are left out: they follow
        from the base arrays and cost N bytes a term on disk."""
        terms = list(self.delta)
        return {
            **saved_arrays.pack_strings("vocab", self.vocab),
            "indptr": self.indptr,
            "docs": self.docs,
            "imps": self.imps,
            "delta_terms": np.asarray(terms, np.int64),
            "delta_lens": np.asarray([len(self.delta[t][0]) for t in terms], np.int64),
            "delta_docnos": _flat([self.delta[t][0] for t in terms], np.int32),
            "delta_imps": _flat([self.delta[t][1] for t in terms], np.uint8),
            "delta_docs": np.asarray([self.delta_docs], np.int64),
        }

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray]) -> Postings:
        postings = cls()
        postings.vocab = Vocab.of(saved_arrays.unpack_strings(arrays, "vocab"))
        postings.indptr = arrays["indptr"].astype(np.int64, copy=False)
        postings.docs = arrays["docs"].astype(np.int32, copy=False)
        postings.imps = arrays["imps"].astype(np.uint8, copy=False)
        if (
            len(postings.indptr) < 1 or len(postings.indptr) - 1 > len(postings.vocab)
            or postings.indptr[0] != 0 or postings.indptr[-1] != len(postings.docs)
            or len(postings.docs) != len(postings.imps)
        ):
            raise ValueError("postings arrays do not match")
        postings.delta = _delta(arrays["delta_terms"], arrays["delta_lens"],
                                arrays["delta_docnos"], arrays["delta_imps"])
        postings.delta_docs = int(arrays["delta_docs"][0])
        postings._refresh_dense()
        return postings
