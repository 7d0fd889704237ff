"""RecordTable: one collection as a dict would hold it, over a mapped segment plus the changes since.

It behaves as the dict it replaces (same keys, values and iteration order:
a replaced record keeps its place, a deleted and re-added one moves to the
end), but records of the segment are decoded only when read, so a process
holds in Python objects only what changed since the segment was written.
A record read from the segment is a new dict each time: callers never
modify records in place (the store replaces them), so nothing relies on
identity.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence

import numpy as np
import orjson

from .segment import Collection, digest


class RecordTable(MutableMapping):
    def __init__(self, base: Collection | None = None, records: Mapping[str, dict] | None = None):
        self.base = base
        self._replaced: dict[str, dict] = {}  # keys of the segment holding another record now
        self._gone: set[str] = set()  # keys of the segment deleted (some maybe added again)
        self._added: dict[str, dict] = dict(records or {})  # keys not in the segment (or re-added)
        self._len = (len(base) if base is not None else 0) + len(self._added)

    def _base_index(self, key: str) -> int | None:
        return self.base.find(key) if self.base is not None else None

    # -- the dict interface ----------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self._added or key in self._replaced:
            return True
        return key not in self._gone and self._base_index(key) is not None

    def __getitem__(self, key: str) -> dict:
        found = self._added.get(key)
        if found is None:
            found = self._replaced.get(key)
        if found is not None:
            return found
        if not isinstance(key, str) or key in self._gone:
            raise KeyError(key)
        index = self._base_index(key)
        if index is None:
            raise KeyError(key)
        return self.base.record(index)

    def __setitem__(self, key: str, record: dict) -> None:
        if key in self._added:
            self._added[key] = record
        elif key in self._replaced:
            self._replaced[key] = record
        elif key not in self._gone and self._base_index(key) is not None:
            self._replaced[key] = record
        else:
            self._added[key] = record
            self._len += 1

    def __delitem__(self, key: str) -> None:
        if key in self._added:
            del self._added[key]
        elif key in self._replaced:
            del self._replaced[key]
            self._gone.add(key)
        elif key not in self._gone and self._base_index(key) is not None:
            self._gone.add(key)
        else:
            raise KeyError(key)
        self._len -= 1

    def __iter__(self) -> Iterator[str]:
        for key, _ in self._base_entries(decode=False):
            yield key
        yield from list(self._added)

    def values(self):
        return _Values(self)

    def sequence(self) -> Positional:
        return Positional(self)

    def items(self):
        return _Items(self)

    def _base_entries(self, decode: bool = True) -> Iterator[tuple[str, dict | None]]:
        """(key, record) of the segment's records still here, in order (record None unless decode)."""
        base = self.base
        if base is None:
            return
        skip, replaced = self._gone, self._replaced
        for index, key in enumerate(base.ordered_keys()):
            if key in skip:
                continue
            if key in replaced:
                yield key, replaced[key]
            else:
                yield key, base.record(index) if decode else None

    def entries(self) -> Iterator[tuple[str, dict]]:
        yield from self._base_entries()
        yield from list(self._added.items())

    # -- raw bytes and digests, for writing and comparing states -------------

    def raw_entries(self) -> Iterator[tuple[str, bytes]]:
        """(key, record bytes) in order: the segment's bytes where unchanged, no decoding."""
        base = self.base
        if base is not None:
            skip, replaced = self._gone, self._replaced
            for index, key in enumerate(base.ordered_keys()):
                if key in skip:
                    continue
                yield key, orjson.dumps(replaced[key]) if key in replaced else base.raw(index)
        for key, record in list(self._added.items()):
            yield key, orjson.dumps(record)

    def changed_keys(self, other: Collection) -> list[str]:
        """Keys whose record differs between this table and `other` (a segment's collection),
        present on one side only included: compared by digest, decoding nothing. (An equal
        record whose fields are in another order counts as changed: listeners hear it as an
        update to the same content, which costs them nothing wrong.)"""
        changed: set[str] = set()
        overlay = {**self._replaced, **self._added}
        for key, record in overlay.items():
            index = other.find(key)
            if index is None or int(other.digests[index]) != digest(orjson.dumps(record)):
                changed.add(key)
        changed.update(k for k in self._gone if k not in overlay and other.find(k) is not None)
        base = self.base
        if base is None:
            other_keys = other.ordered_keys()
            changed.update(k for k in other_keys if k not in overlay)
            return sorted(changed)
        # The segment's untouched records against other's: sorted keys on both sides.
        wide = np.dtype(f"S{max(base.keys.dtype.itemsize, other.keys.dtype.itemsize)}")
        mine, theirs = base.keys.astype(wide), other.keys.astype(wide)  # one width: no key cut short
        at = np.searchsorted(theirs, mine) if len(theirs) else np.zeros(len(mine), np.int64)
        present = at < len(theirs)
        present[present] = theirs[at[present]] == mine[present]
        same = np.zeros(len(mine), bool)
        same[present] = base.digests[base.slots[present]] == other.digests[other.slots[at[present]]]
        untouched = lambda k: k not in overlay and k not in self._gone  # noqa: E731
        changed.update(k for k in (x.decode() for x in mine[~same].tolist()) if untouched(k))
        back = np.searchsorted(mine, theirs) if len(mine) else np.zeros(len(theirs), np.int64)
        known = back < len(mine)
        known[known] = mine[back[known]] == theirs[known]
        changed.update(k for k in (x.decode() for x in theirs[~known].tolist()) if k not in overlay)
        return sorted(changed)


class Positional(Sequence):
    """A table's records in their order as it was when made, read by position and decoded
    only when read: what a build walks (forked processes read their own batches)."""

    def __init__(self, table: RecordTable):
        base = self._base = table.base
        self._slots: Sequence[int | dict] = []  # a segment's record index, or a record of the overlay
        if base is not None and not table._gone and not table._replaced:
            self._slots = range(len(base))
        elif base is not None:
            gone, replaced = table._gone, table._replaced
            self._slots = [replaced.get(key, index) for index, key in enumerate(base.ordered_keys())
                           if key not in gone]
        self._added = list(table._added.values())

    def __len__(self) -> int:
        return len(self._slots) + len(self._added)

    def __getitem__(self, at):
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(len(self)))]
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError(at)
        if at >= len(self._slots):
            return self._added[at - len(self._slots)]
        slot = self._slots[at]
        return self._base.record(slot) if isinstance(slot, int) else slot


class _Values:
    def __init__(self, table: RecordTable):
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[dict]:
        return (record for _, record in self._table.entries())


class _Items(_Values):
    def __iter__(self) -> Iterator[tuple[str, dict]]:
        return self._table.entries()

    def __contains__(self, item) -> bool:
        key, value = item
        return key in self._table and self._table[key] == value
