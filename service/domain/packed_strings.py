"""A list of strings kept as one UTF-8 blob and byte offsets, decoded an item at a time.

A million titles as Python strings are hundreds of MB in every worker, and
reading one touches its reference count, so the pages a worker shares with
the master (or with the page cache, for a mapped saved index) are copied as
they are read. As a blob and offsets (numpy arrays, never touched by
reference counting) they stay shared; an item is decoded when it is read.
What changed since the blob was made is kept beside it, as Python values
(None included: a removed document's id).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from .store import saved_arrays


class PackedStrings:
    def __init__(self, blob: np.ndarray | None = None, offsets: np.ndarray | None = None):
        self._blob = blob if blob is not None else np.zeros(0, np.uint8)
        self._offsets = offsets if offsets is not None else np.zeros(1, np.int64)
        self._view = memoryview(self._blob)
        self._base = len(self._offsets) - 1
        self._changed: dict[int, str | None] = {}
        self._added: list[str | None] = []

    @classmethod
    def of(cls, strings: Iterable[str | None]) -> PackedStrings:
        """Packed from Python values (None is kept as a change: the blob holds strings)."""
        values = list(strings)
        encoded = [(s or "").encode("utf-8", "surrogatepass") for s in values]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
        packed = cls(np.frombuffer(b"".join(encoded), np.uint8), offsets)
        packed._changed = {i: None for i, s in enumerate(values) if s is None}
        return packed

    def __len__(self) -> int:
        return self._base + len(self._added)

    def __getitem__(self, index: int) -> str | None:
        if index < 0:
            index += len(self)
        if index >= self._base:
            return self._added[index - self._base]
        if index in self._changed:
            return self._changed[index]
        if index < 0:
            raise IndexError(index)
        lo, hi = self._offsets[index], self._offsets[index + 1]
        return str(self._view[lo:hi], "utf-8", "surrogatepass")

    def __setitem__(self, index: int, value: str | None) -> None:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index >= self._base:
            self._added[index - self._base] = value
        else:
            self._changed[index] = value

    def append(self, value: str | None) -> None:
        self._added.append(value)

    def __iter__(self) -> Iterator[str | None]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def taken(self, docnos: Iterable[int]) -> PackedStrings:
        """A new one of these items, in this order."""
        return PackedStrings.of(self[i] for i in docnos)

    # -- saving ----------------------------------------------------------

    def state(self, name: str) -> dict[str, np.ndarray]:
        """`name_blob`, `name_offsets` (bytes) and `name_none` (which items are None)."""
        packed = self if not self._changed and not self._added else PackedStrings.of(self)
        none = np.zeros(len(packed), bool)
        none[[i for i, v in packed._changed.items() if v is None]] = True
        return {f"{name}_blob": packed._blob, f"{name}_offsets": packed._offsets, f"{name}_none": none}

    @classmethod
    def from_state(cls, arrays: Mapping[str, np.ndarray], name: str, count: int | None = None) -> PackedStrings:
        blob = saved_arrays.array(arrays, f"{name}_blob", np.uint8)
        offsets = saved_arrays.array(arrays, f"{name}_offsets", np.int64, None if count is None else (count + 1,))
        none = saved_arrays.array(arrays, f"{name}_none", np.bool_, (len(offsets) - 1,))
        saved_arrays.check(len(offsets) >= 1 and offsets[0] == 0 and offsets[-1] == len(blob)
                           and (np.diff(offsets) >= 0).all())
        packed = cls(blob, offsets)
        packed._changed = dict.fromkeys(np.flatnonzero(none).tolist())
        return packed
