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
answers exactly like one built afresh.

Phrase-aware pinyin costs ~0.2 ms a title, so the keys are computed once,
by the index build (in its tokenising workers), and saved with the index;
a start loads them. Everything is flat arrays: per docno the three keys as
one UTF-8 blob with offsets (UTF-8 bytes sort and prefix-match exactly as
the strings do), the key lists and the rank order as docno permutations,
and the pair lists as CSR over sorted pair codes. Titles added since the
last fold sit in a small delta scanned on each query; removed ones are
masked by the document table's alive flags until the next fold drops them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from .. import text
from ..store import saved_arrays
from .pinyin import spellings

SCAN = 200  # matches looked at per key list (and inside titles) before ranking
INFIX_SCAN = 5000  # titles holding the rarest pair checked for the whole query
INFIX_MIN = 2  # one character inside titles matches too much to suggest anything
KINDS = 3  # keys per title: normalised text, full pinyin, initials
_CHAR_BITS = 21  # a code point; a character pair is one int64 code
_AFTER = b"\xff"  # no UTF-8 byte: q + _AFTER sorts after every key starting with q
_NO_KEYS = ("", "", "")
HEAD = 8  # bytes of each key kept as one integer (see _refresh_heads)


def keys_of(title: str) -> tuple[str, str, str]:
    norm = _compact(title)
    full, initials = spellings(norm)
    return norm, full, initials


def _compact(value: str) -> str:
    # Spaces and punctuation dropped: yi-bao-ka and yi bao ka complete like yibaoka.
    return "".join(text.search_text(value).split())


def _pairs(norm: str) -> set[str]:
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def _pair_code(pair: str) -> int:
    return (ord(pair[0]) << _CHAR_BITS) | ord(pair[1])


def rank_key(title: str, article_id: str) -> tuple[int, str, str]:
    """Within one kind of match: shorter titles first, then title, then id."""
    return len(title), title, article_id


class _Docs(Protocol):
    """What the suggester reads of the document table (search.documents.Documents)."""

    alive: np.ndarray
    ids: list[str | None]
    titles: list[str]

    @property
    def size(self) -> int: ...


def _rank_of(docs: _Docs):
    titles, ids = docs.titles, docs.ids
    return lambda d: (len(titles[d]), titles[d], ids[d])


def _first_alive(docnos: np.ndarray, alive: np.ndarray, n: int) -> np.ndarray:
    """The first n docnos that are alive, looking at no more of the list than needed."""
    out: list[np.ndarray] = []
    found, start, step = 0, 0, 2 * n
    while start < len(docnos) and found < n:
        chunk = docnos[start:start + step]
        chunk = chunk[alive[chunk]]
        out.append(chunk)
        found += len(chunk)
        start += step
        step *= 4
    return np.concatenate(out)[:n] if out else docnos[:0]


def _insert_sorted(base: np.ndarray, new: list[int], key, right: bool = False) -> np.ndarray:
    """base (sorted by key) with new (sorted by key) inserted in order."""
    if not new:
        return base
    find = bisect.bisect_right if right else bisect.bisect_left
    at = [find(base, key(d), key=key) for d in new]
    return np.insert(base, at, np.asarray(new, base.dtype))


def _pair_rows(norms: Sequence[str], docnos: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(pair code, docno) of every distinct character pair of each title, by docno then code."""
    lens = np.fromiter(map(len, norms), np.int64, len(norms))
    cps = np.frombuffer("".join(norms).encode("utf-32-le"), np.uint32).astype(np.int64)
    owner = np.repeat(np.asarray(docnos, np.int64), lens)
    if len(cps) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    same = owner[1:] == owner[:-1]
    codes = ((cps[:-1] << _CHAR_BITS) | cps[1:])[same]
    docs = owner[:-1][same]
    if not len(codes):  # one-character titles only
        return codes, docs
    order = np.lexsort((codes, docs))
    codes, docs = codes[order], docs[order]
    first = np.concatenate(([True], (codes[1:] != codes[:-1]) | (docs[1:] != docs[:-1])))
    return codes[first], docs[first]


class Suggester:
    """Title completions; see the module docstring for the layout."""

    def __init__(self) -> None:
        self.size = 0  # docnos below this are in the arrays, those from it on in the delta
        self.blobs = [b""] * KINDS  # per kind, every docno's key, UTF-8, back to back
        self.offsets = [np.zeros(1, np.int64) for _ in range(KINDS)]  # per kind, size + 1 bounds
        self.sorted = [np.empty(0, np.int32) for _ in range(KINDS)]  # docnos by (key, id, docno)
        self.ranked = np.empty(0, np.int32)  # docnos by rank_key
        self.pos = np.empty(0, np.int64)  # docno -> place in ranked (-1: none)
        self.pair_codes = np.empty(0, np.int64)  # sorted character-pair codes
        self.pair_ptr = np.zeros(1, np.int64)
        self.pair_docs = np.empty(0, np.int32)  # per pair, docnos in rank order
        self.delta: dict[int, tuple[str, str, str]] = {}  # live docnos >= size and their keys
        self.heads = [np.zeros(0, np.uint64) for _ in range(KINDS)]  # per kind, a key's first 8 bytes

    # -- reading keys ----------------------------------------------------

    def _key(self, kind: int):
        blob, offsets = self.blobs[kind], self.offsets[kind]
        return lambda d: blob[offsets[d]:offsets[d + 1]]

    # -- building and changes --------------------------------------------

    @classmethod
    def build(cls, keys: Iterable[tuple[str, str, str]], docs: _Docs) -> Suggester:
        """The suggester of docs, keys[n] being the keys_of() docno n's title."""
        suggester = cls()
        suggester.delta = {d: k for d, k in enumerate(keys) if docs.alive[d]}
        suggester.fold(docs)
        return suggester

    def add(self, docno: int, keys: tuple[str, str, str]) -> None:
        """A new docno (docnos only grow) with its title's keys_of()."""
        self.delta[docno] = keys

    def remove(self, docno: int) -> None:
        # A folded docno is masked by docs.alive until the next fold.
        self.delta.pop(docno, None)

    def fold(self, docs: _Docs) -> None:
        """Move the delta into the arrays and drop the docnos no longer alive."""
        new = range(self.size, docs.size)
        keys = [self.delta.get(d, _NO_KEYS) for d in new]
        for kind in range(KINDS):
            encoded = [k[kind].encode() for k in keys]
            ends = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded))) + self.offsets[kind][-1]
            self.blobs[kind] = self.blobs[kind] + b"".join(encoded)
            self.offsets[kind] = np.concatenate((self.offsets[kind], ends))
        self.size = docs.size
        alive = docs.alive
        added = sorted(self.delta)
        self.delta = {}
        ids = docs.ids
        for kind in range(KINDS):
            key_of = self._key(kind)
            perm = self.sorted[kind]
            perm = perm[alive[perm]]

            def entry(d, key_of=key_of):
                return key_of(d), ids[d], d

            fresh = sorted((d for d in added if key_of(d)), key=entry)
            self.sorted[kind] = _insert_sorted(perm, fresh, entry)
        rank = _rank_of(docs)
        kept = self.ranked[alive[self.ranked]]
        self.ranked = _insert_sorted(kept, sorted(added, key=rank), rank, right=True)
        self._fold_pairs(alive, added)
        self._refresh_heads()

    def _fold_pairs(self, alive: np.ndarray, added: list[int]) -> None:
        self.pos = np.full(self.size, -1, np.int64)
        self.pos[self.ranked] = np.arange(len(self.ranked))
        kept = alive[self.pair_docs]
        running = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
        ptr = running[self.pair_ptr]
        docs = self.pair_docs[kept].astype(np.int64)
        key_of = self._key(0)
        codes, new_docs = _pair_rows([key_of(d).decode() for d in added], added)
        vocab = np.union1d(self.pair_codes, codes)
        old_ids = np.repeat(np.searchsorted(vocab, self.pair_codes), np.diff(ptr))
        base_rows = (old_ids << 32) | self.pos[docs]  # sorted: per pair, rank order kept
        new_ids = np.searchsorted(vocab, codes)
        new_rows = np.sort((new_ids << 32) | self.pos[new_docs])
        rows = np.insert(base_rows, np.searchsorted(base_rows, new_rows), new_rows)
        self.pair_codes = vocab
        self.pair_ptr = np.concatenate(([0], np.cumsum(np.bincount(rows >> 32, minlength=len(vocab)))))
        self.pair_docs = self.ranked[rows & 0xFFFFFFFF].astype(np.int32)

    def compact(self, docs: _Docs, keep: np.ndarray, remap: np.ndarray) -> None:
        """Renumber as the document table just did (keep: old docnos kept; remap: old -> new).

        The caller folds first (while docs still has the old numbering), so
        every docno in the arrays is kept; only the numbers change, and the
        order of every list with them (it never depended on the numbers).
        """
        if self.delta or self.size != len(keep):
            raise ValueError("fold before compacting")
        kept = np.flatnonzero(keep)
        for kind in range(KINDS):
            offsets = self.offsets[kind]
            lens = (offsets[1:] - offsets[:-1])[kept]
            starts = offsets[:-1][kept]
            new_offsets = np.concatenate(([0], np.cumsum(lens)))
            take = np.repeat(starts - new_offsets[:-1], lens) + np.arange(new_offsets[-1])
            self.blobs[kind] = np.frombuffer(self.blobs[kind], np.uint8)[take].tobytes()
            self.offsets[kind] = new_offsets.astype(np.int64)
            self.sorted[kind] = remap[self.sorted[kind]].astype(np.int32)
        self.ranked = remap[self.ranked].astype(np.int32)
        self.pair_docs = remap[self.pair_docs].astype(np.int32)
        self.size = len(kept)
        self.pos = np.full(self.size, -1, np.int64)
        self.pos[self.ranked] = np.arange(len(self.ranked))
        self._refresh_heads()

    def _refresh_heads(self) -> None:
        """Each key's first HEAD bytes as one big-endian integer (zero-padded), so
        "does this key start with the query" is a mask and compare over many docnos."""
        for kind in range(KINDS):
            offsets = self.offsets[kind]
            view = np.frombuffer(self.blobs[kind] + bytes(HEAD), np.uint8)
            span = np.arange(HEAD)
            head = view[offsets[:-1, None] + span]
            head[span >= np.diff(offsets)[:, None]] = 0
            self.heads[kind] = np.ascontiguousarray(head).view(">u8").ravel().astype(np.uint64)

    # -- answering -------------------------------------------------------

    def candidates(self, prefix: str, docs: _Docs) -> list[int]:
        """Live docnos whose title, pinyin or initials start with the prefix, then
        those whose title contains it, each kind in rank order (drafts included)."""
        norm = _compact(prefix)
        if not norm:
            return []
        query = norm.encode()
        starting: dict[int, None] = {}
        for kind in range(KINDS):
            for docno in self._starting(kind, norm, docs):
                starting[docno] = None
        found = sorted(starting, key=_rank_of(docs))
        return found + self._containing(query, starting, docs)

    def _starting(self, kind: int, norm: str, docs: _Docs) -> list[int]:
        """The first SCAN live docnos of this key list starting with the query."""
        query = norm.encode()
        perm, key_of = self.sorted[kind], self._key(kind)
        lo = bisect.bisect_left(perm, query, key=key_of)
        hi = bisect.bisect_left(perm, query + _AFTER, lo=lo, key=key_of)
        base = _first_alive(perm[lo:hi], docs.alive, SCAN).tolist()
        extra = [d for d, keys in self.delta.items() if keys[kind].startswith(norm)]
        if not extra:
            return base
        ids = docs.ids
        entries = [(key_of(d), ids[d], d) for d in base]
        entries += [(self.delta[d][kind].encode(), ids[d], d) for d in extra]
        return [d for _, _, d in sorted(entries)[:SCAN]]

    def _pair_list(self, pair: str, docs: _Docs) -> tuple[np.ndarray, list[int]]:
        """(live folded docnos in rank order, delta docnos) of titles holding the pair."""
        code = _pair_code(pair)
        at = int(np.searchsorted(self.pair_codes, code))
        if at < len(self.pair_codes) and self.pair_codes[at] == code:
            base = self.pair_docs[self.pair_ptr[at]:self.pair_ptr[at + 1]]
            base = base[docs.alive[base]]
        else:
            base = self.pair_docs[:0]
        return base, [d for d, keys in self.delta.items() if pair in keys[0]]

    def _containing(self, query: bytes, starting: dict[int, None], docs: _Docs) -> list[int]:
        norm = query.decode()
        if len(norm) < INFIX_MIN:
            return []
        rarest = None
        for pair in sorted(_pairs(norm)):  # of equally rare pairs, the first
            base, extra = self._pair_list(pair, docs)
            count = len(base) + len(extra)
            if not count:
                return []
            if rarest is None or count < rarest[0]:
                rarest = (count, base, extra)
        assert rarest is not None
        _, base, extra = rarest
        rank = _rank_of(docs)
        scan = _insert_sorted(base[:INFIX_SCAN], sorted(extra, key=rank), rank, right=True)[:INFIX_SCAN]
        # Titles a key of which starts with the query were answered above: one
        # vectorised pass drops them, so only real infix candidates cost Python.
        keep = ~np.isin(scan, np.fromiter(starting, np.int64, len(starting)))
        folded = scan < self.size
        keep[folded] &= ~self._any_starts_with(scan[folded], query)
        for at in np.flatnonzero(~folded).tolist():
            keep[at] &= not any(k.startswith(norm) for k in self.delta[int(scan[at])])
        rest = scan[keep]
        folded = rest < self.size
        blob, offsets = self.blobs[0], self.offsets[0]
        safe = np.where(folded, rest, 0)  # a delta docno reads no bounds (offsets has one entry at least)
        los, his = np.where(folded, offsets[safe], 0).tolist(), np.where(folded, offsets[safe + folded], 0).tolist()
        inside: list[int] = []
        for docno, is_folded, lo, hi in zip(rest.tolist(), folded.tolist(), los, his, strict=True):
            title = blob[lo:hi] if is_folded else self.delta[docno][0].encode()
            if query in title:
                inside.append(docno)
                if len(inside) >= SCAN:
                    break
        return inside

    def _any_starts_with(self, docnos: np.ndarray, query: bytes) -> np.ndarray:
        """Mask over these folded docnos: does any of their keys start with the query?"""
        head = int.from_bytes(query[:HEAD].ljust(HEAD, b"\0"), "big")
        mask = ((1 << 64) - 1) ^ ((1 << (8 * max(HEAD - len(query), 0))) - 1)
        out = np.zeros(len(docnos), bool)
        for kind in range(KINDS):
            offsets = self.offsets[kind]
            maybe = (self.heads[kind][docnos] & np.uint64(mask)) == np.uint64(head)
            maybe &= offsets[docnos + 1] - offsets[docnos] >= len(query)
            if len(query) > HEAD and maybe.any():  # the head matched: compare the rest
                at = np.flatnonzero(maybe)
                view = np.frombuffer(self.blobs[kind], np.uint8)
                rest = np.frombuffer(query, np.uint8)[HEAD:]
                gathered = view[offsets[docnos[at], None] + HEAD + np.arange(len(rest))]
                maybe[at] = (gathered == rest).all(axis=1)
            out |= maybe
        return out

    # -- saving ----------------------------------------------------------

    def nbytes(self) -> int:
        arrays = [*self.offsets, *self.sorted, *self.heads, self.ranked, self.pos, self.pair_codes, self.pair_ptr,
                  self.pair_docs]
        return sum(map(len, self.blobs)) + sum(a.nbytes for a in arrays)

    def state(self) -> dict[str, np.ndarray]:
        """Everything as flat arrays (pos follows from ranked)."""
        arrays = {"size": np.asarray([self.size], np.int64), "ranked": self.ranked,
                  "pair_codes": self.pair_codes, "pair_ptr": self.pair_ptr, "pair_docs": self.pair_docs}
        for kind in range(KINDS):
            arrays[f"keys{kind}"] = np.frombuffer(self.blobs[kind], np.uint8)
            arrays[f"offsets{kind}"] = self.offsets[kind]
            arrays[f"sorted{kind}"] = self.sorted[kind]
        delta = sorted(self.delta)
        arrays["delta"] = np.asarray(delta, np.int64)
        for kind in range(KINDS):
            arrays.update(saved_arrays.pack_strings(f"delta{kind}", (self.delta[d][kind] for d in delta)))
        return arrays

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray]) -> Suggester:
        s = cls()
        s.size = size = int(saved_arrays.array(arrays, "size", np.int64, (1,))[0])
        for kind in range(KINDS):
            blob = saved_arrays.array(arrays, f"keys{kind}", np.uint8)
            offsets = saved_arrays.array(arrays, f"offsets{kind}", np.int64, (size + 1,))
            saved_arrays.check(offsets[0] == 0 and offsets[-1] == len(blob) and (np.diff(offsets) >= 0).all())
            s.blobs[kind] = blob.tobytes()
            s.offsets[kind] = offsets
            s.sorted[kind] = saved_arrays.in_range(saved_arrays.array(arrays, f"sorted{kind}", np.int32), size)
        s.ranked = saved_arrays.in_range(saved_arrays.array(arrays, "ranked", np.int32), size)
        s.pair_codes = saved_arrays.array(arrays, "pair_codes", np.int64)
        s.pair_ptr = saved_arrays.array(arrays, "pair_ptr", np.int64, (len(s.pair_codes) + 1,))
        s.pair_docs = saved_arrays.in_range(saved_arrays.array(arrays, "pair_docs", np.int32), size)
        ptr = s.pair_ptr
        saved_arrays.check(ptr[0] == 0 and ptr[-1] == len(s.pair_docs) and (np.diff(ptr) >= 0).all())
        s.pos = np.full(size, -1, np.int64)
        s.pos[s.ranked] = np.arange(len(s.ranked))
        s._refresh_heads()
        delta = saved_arrays.in_range(saved_arrays.array(arrays, "delta", np.int64), 2**31, size).tolist()
        columns = [saved_arrays.unpack_strings(arrays, f"delta{kind}", len(delta)) for kind in range(KINDS)]
        s.delta = {d: keys for d, keys in zip(delta, zip(*columns, strict=True), strict=True)}
        return s


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
