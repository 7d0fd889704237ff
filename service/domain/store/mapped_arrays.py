"""Named numpy arrays in one file that every process maps: the layout of segments and saved indexes.

Read into memory, a saved index is a private copy in each process that
loads it (a worker after a compaction, a restart) and costs the whole read
each time. Mapped, its pages are the page cache's: shared by every process,
read only where touched, and still there after a restart. A copy-on-write
mapping makes the arrays writable: a page written is copied for that
process alone, the file never changes.

Layout: the caller's MAGIC (8 bytes), the header's length (8 bytes, little
endian), a JSON header (each array's dtype, shape and offset, the file's
size, the crc32 of the arrays' bytes, the caller's meta), then the arrays,
ALIGN-byte aligned. The crc is checked where asked (saved indexes: a damaged
byte would be a wrong answer, not an error); records in a segment carry
their own digests.
"""

from __future__ import annotations

import mmap
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from .files import atomic_file

ALIGN = 64
_PREFIX = 16  # magic and header length


@dataclass
class Mapped:
    path: Path
    meta: dict
    arrays: dict[str, np.ndarray]
    positions: dict[str, int]  # where each array's bytes start in the file


def write(path: Path, magic: bytes, arrays: Mapping[str, np.ndarray], meta: dict | None = None,
          tmp: Path | None = None) -> None:
    """Write the arrays atomically (temp, fsync, rename)."""
    if len(magic) != 8:
        raise ValueError("a magic is 8 bytes")
    layout, position, crc, parts = {}, 0, 0, []
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise ValueError(f"{name}: object arrays are not saved")
        pad = -position % ALIGN
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        crc = zlib.crc32(data, zlib.crc32(b"\0" * pad, crc))
        parts.append((pad, data))
        layout[name] = [array.dtype.str, list(array.shape), position + pad]
        position += pad + array.nbytes
    header = orjson.dumps({"arrays": layout, "meta": meta or {}, "data_bytes": position, "crc32": crc})
    start = _PREFIX + len(header)
    start += -start % ALIGN
    with atomic_file(path, tmp) as handle:
        handle.write(magic + len(header).to_bytes(8, "little") + header)
        handle.write(b"\0" * (start - _PREFIX - len(header)))
        for pad, data in parts:
            handle.write(b"\0" * pad)
            handle.write(data)


def open_mapped(path: Path, magic: bytes, writable: bool = False, verify: bool = False) -> Mapped:
    """Map a file of this layout; ValueError if it is not a whole one with this magic
    (or, verify, if its arrays' bytes are not the ones written).
    writable: a copy-on-write mapping (writes stay in this process)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _PREFIX:
            raise ValueError(f"{path}: too short")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY if writable else mmap.ACCESS_READ)
    if mapped[:8] != magic:
        raise ValueError(f"{path}: not a file of this kind")
    length = int.from_bytes(mapped[8:_PREFIX], "little")
    if _PREFIX + length > size:
        raise ValueError(f"{path}: torn header")
    header = orjson.loads(mapped[_PREFIX:_PREFIX + length])
    start = _PREFIX + length
    start += -start % ALIGN
    if start + header["data_bytes"] != size:
        raise ValueError(f"{path}: torn ({size} bytes, the header says {start + header['data_bytes']})")
    if verify and _crc32(path, start) != header["crc32"]:
        raise ValueError(f"{path}: damaged (crc32 differs)")
    arrays, positions = {}, {}
    for name, (dtype, shape, offset) in header["arrays"].items():
        kind = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        flat = np.frombuffer(mapped, kind, count, start + offset) if count else np.zeros(0, kind)
        arrays[name] = flat.reshape(shape)
        positions[name] = start + offset
    return Mapped(Path(path), header["meta"], arrays, positions)


def _crc32(path: Path, start: int) -> int:
    """Read, not through the mapping: mapped pages would count as this process's memory (the
    gunicorn master's, which checks every saved index and then never reads most of them)."""
    crc = 0
    buffer = bytearray(1 << 22)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        handle.seek(start)
        while read := handle.readinto(buffer):
            crc = zlib.crc32(view[:read], crc)
    return crc
