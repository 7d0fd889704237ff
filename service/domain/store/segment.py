"""A segment: one state's records as serialised bytes in a file every process shares.

A store used to parse its snapshot into Python dicts in every process; at
100k articles that is seconds per start and hundreds of MB per worker, and
reading a record touches its reference counts, so the pages a forked worker
shares with the master are copied one by one. A segment holds the same
records as their orjson bytes (the page cache is shared by every process),
with arrays to find them mapped read-only, and a record is read and decoded
only when asked for.

Layout: mapped_arrays' (MAGIC, a JSON header, aligned arrays), with what the
segment was written from as its meta. Per collection, arrays named
"<collection>/<field>":
- data: the records' bytes, one after the other, in the state's order;
- offsets: int64, n + 1 (record i is data[offsets[i]:offsets[i + 1]]);
- keys: the keys as UTF-8, fixed width, sorted (np.searchsorted finds one);
- slots: int64, the record index of each sorted key;
- digests: uint64 per record (blake2b of its bytes): two states are compared
  without decoding either.
"""

from __future__ import annotations

import hashlib
import os
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import orjson

from .mapped_arrays import open_mapped
from .mapped_arrays import write as write_arrays

MAGIC = b"YBSEG002"
FIELDS = ("data", "offsets", "keys", "slots", "digests")


def digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class Collection:
    """One collection of a segment: read-only views on the mapped file for finding records;
    the records' bytes themselves are read from the file (`pread`), not through the mapping.
    A record read is a copy anyway (it is decoded), and pages only read stay in the page
    cache, which the kernel shares and reclaims: mapped, every page a worker ever read (and
    the neighbours the kernel maps around each fault) would count in its memory."""

    def __init__(self, arrays: dict[str, np.ndarray], file: _File, data_at: int):
        self.offsets = arrays["offsets"]
        self.keys = arrays["keys"]
        self.slots = arrays["slots"]
        self.digests = arrays["digests"]
        self._file, self._data_at = file, data_at

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def find(self, key: str) -> int | None:
        """The record index of key, or None."""
        if not len(self.keys):
            return None
        probe = key.encode()
        if len(probe) > self.keys.dtype.itemsize or probe.endswith(b"\0"):
            return None  # longer than any key here (or not representable): not here
        at = int(np.searchsorted(self.keys, probe))
        if at < len(self.keys) and self.keys[at] == probe:
            return int(self.slots[at])
        return None

    def raw(self, index: int) -> bytes:
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return self._file.read(self._data_at + start, end - start)

    def record(self, index: int) -> dict:
        return orjson.loads(self.raw(index))

    def ordered_keys(self) -> Iterator[str]:
        """Every key in record order, decoded one by one (not kept: only builds iterate)."""
        keys = np.empty(len(self), dtype=self.keys.dtype)
        keys[self.slots] = self.keys
        return (key.decode() for key in keys)


class Segment:
    def __init__(self, path: Path, meta: dict, collections: dict[str, Collection]):
        self.path = path
        self.meta = meta
        self.collections = collections

    @property
    def source(self) -> dict:
        """What the writer said the segment was made from (e.g. the snapshot's stat)."""
        return self.meta.get("source", {})

    @classmethod
    def open(cls, path: Path) -> Segment:
        """Map a segment file; ValueError if it is not a whole one of this layout."""
        mapped = open_mapped(path, MAGIC)
        file = _File(path)
        try:
            collections = {name: Collection({f: mapped.arrays[f"{name}/{f}"] for f in FIELDS}, file,
                                            mapped.positions[f"{name}/data"])
                           for name in mapped.meta["collections"]}
        except (KeyError, TypeError):
            raise ValueError(f"{path}: not a whole segment") from None
        return cls(Path(path), mapped.meta, collections)


class _File:
    """The segment's file, open while any of its collections is in use (renamed or deleted
    meanwhile, it is still this file). pread: no shared position, so threads and forked
    processes read it at once."""

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self._fd)

    def read(self, at: int, length: int) -> bytes:
        data = os.pread(self._fd, length, at)
        while len(data) < length:  # a read is short only at the end of the file: a torn one
            more = os.pread(self._fd, length - len(data), at + len(data))
            if not more:
                raise ValueError("a segment shorter than its header says")
            data += more
        return data


class Builder:
    """A segment's records, added one at a time (in each collection's order): a large
    snapshot is turned into a segment without ever being held as Python values."""

    def __init__(self, names: Iterable[str]):
        self._keys: dict[str, list[bytes]] = {name: [] for name in names}
        self._data = {name: bytearray() for name in self._keys}
        self._ends: dict[str, list[int]] = {name: [] for name in self._keys}

    def add(self, name: str, key: str, data: bytes) -> None:
        self._keys[name].append(key.encode())
        self._data[name] += data
        self._ends[name].append(len(self._data[name]))

    def write(self, path: Path, source: dict | None = None, tmp: Path | None = None) -> None:
        """Write the segment atomically (temp, fsync, rename)."""
        arrays: dict[str, np.ndarray] = {}
        for name, keys in self._keys.items():
            data = np.frombuffer(self._data[name], np.uint8)
            offsets = np.array([0, *self._ends[name]], np.int64)
            width = max((len(k) for k in keys), default=1) or 1
            key_array = np.array(keys, dtype=f"S{width}") if keys else np.zeros(0, "S1")
            order = np.argsort(key_array, kind="stable")
            sorted_keys = key_array[order]
            if len(sorted_keys) > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any():
                raise ValueError(f"{name}: duplicate keys")
            view = memoryview(self._data[name])
            bounds = offsets.tolist()
            digests = np.fromiter((digest(view[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)),
                                  np.uint64, len(keys))
            for field, array in zip(FIELDS, (data, offsets, sorted_keys, order.astype(np.int64), digests),
                                    strict=True):
                arrays[f"{name}/{field}"] = array
        write_arrays(path, MAGIC, arrays, {"source": source or {}, "collections": list(self._keys)}, tmp)


def write(path: Path, collections: dict[str, Iterable[tuple[str, bytes]]], source: dict | None = None,
          tmp: Path | None = None) -> None:
    """Write a segment of (key, record bytes) per collection, atomically (temp, fsync, rename)."""
    builder = Builder(collections)
    for name, items in collections.items():
        for key, data in items:
            builder.add(name, key, data)
    builder.write(path, source, tmp)
