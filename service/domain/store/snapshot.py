"""The snapshot: one JSON document holding every collection at a journal seq.

Written by write-temp, fsync, rename, so a reader sees the old or the new
document, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from . import snapshot_stream
from .files import atomic_write

# The newest layout this code reads and writes; migrations/ lead up to it.
SCHEMA_VERSION = 3

# Each collection and the field that keys its records.
COLLECTIONS = {"articles": "id", "topics": "slug", "pins": "query"}


class StoreError(Exception):
    """The store cannot be opened as it is; the message names file and cause."""


def empty_document() -> dict:
    doc = {"schema_version": SCHEMA_VERSION, "seq": 0}
    doc.update({name: [] for name in COLLECTIONS})
    return doc


# orjson parses one buffer and refuses a document of a few GB: past this, read it a record at a time.
LARGE_BYTES = 1 << 30


def read_document(path: Path) -> dict:
    try:
        if os.path.getsize(path) > LARGE_BYTES:
            doc = snapshot_stream.read(Path(path))
        else:
            doc = orjson.loads(Path(path).read_bytes())
    except (orjson.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("schema_version"), int):
        raise StoreError(f"{path}: not a store snapshot (no integer schema_version)")
    return doc


# Every snapshot this code writes starts with its version (document() puts it first).
_VERSION_FIRST = re.compile(rb'\A\s*\{\s*"schema_version"\s*:\s*(-?\d+)\s*[,}]')


def read_version(path: Path) -> int:
    """The snapshot's schema version, read from its first bytes when it starts with it: asking
    whether there is anything to migrate must not cost parsing every record."""
    try:
        with open(path, "rb") as file:
            head = file.read(128)
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
    found = _VERSION_FIRST.match(head)
    return int(found[1]) if found else read_document(path)["schema_version"]


_HEAD = re.compile(rb'\A\{"schema_version":(\d+),"seq":(\d+),')


def read_head(path: Path) -> tuple[int, int] | None:
    """(schema version, seq) from the first bytes of a snapshot this code wrote, else None."""
    try:
        with open(path, "rb") as file:
            found = _HEAD.match(file.read(128))
    except OSError:
        return None
    return (int(found[1]), int(found[2])) if found else None


def stream_records(path: Path, add: Callable[[str, str, bytes], None]) -> dict:
    """Pass each record of a snapshot to add(collection, key, its bytes), one at a time, in
    order; return the document's other members. For a snapshot too large to hold as values:
    only one record is ever decoded at once. StoreError as check_layout's for a bad one."""
    rest: dict = {}
    try:
        for name, value in snapshot_stream.members(Path(path)):
            key = COLLECTIONS.get(name)
            if key is None:
                rest[name] = list(value) if isinstance(value, Iterator) else value
                continue
            if not isinstance(value, Iterator):
                raise StoreError(f"{path}: '{name}' must be a list")
            for index, record in enumerate(value):
                if not isinstance(record, dict) or not isinstance(record.get(key), str):
                    raise StoreError(f"{path}: {name}[{index}] has no string '{key}'")
                add(name, record[key], orjson.dumps(record))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror})") from None
    return rest


def check_layout(path: Path, doc: dict) -> None:
    """Refuse a document whose collections are not lists of keyed objects."""
    for name, key in COLLECTIONS.items():
        records = doc.get(name, [])
        if not isinstance(records, list):
            raise StoreError(f"{path}: '{name}' must be a list")
        for index, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get(key), str):
                raise StoreError(f"{path}: {name}[{index}] has no string '{key}'")


def snapshot_id(path: Path, doc: dict) -> str:
    """Names one snapshot's exact contents (its seq and a digest of its bytes):
    what is derived from a snapshot and saved beside it is valid for this name only."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
    return f"{doc.get('seq', 0)}-{digest.hexdigest()[:24]}"


def _content_id(data: bytes, doc: dict) -> str:
    return f"{doc.get('seq', 0)}-{hashlib.sha256(data).hexdigest()[:24]}"


def write_records(handle: BinaryIO, seq: int, collections: dict[str, Iterable[tuple[str, bytes]]]) -> str:
    """Write a snapshot at SCHEMA_VERSION from each record's bytes, streaming (into a file made
    by `atomic_file`); returns its snapshot_id. The bytes are those orjson.dumps gives the whole
    document, so the id is the one write_document would give, without building the document."""
    digest = hashlib.sha256()

    def put(data) -> None:
        handle.write(data)
        digest.update(data)

    put(b'{"schema_version":%d,"seq":%d' % (SCHEMA_VERSION, seq))
    for name, entries in collections.items():
        put(b',"%s":[' % name.encode())
        for i, (_, data) in enumerate(entries):
            if i:
                put(b",")
            put(data)
        put(b"]")
    put(b"}")
    return f"{seq}-{digest.hexdigest()[:24]}"


def write_document(path: Path, doc: dict) -> str:
    """Write a snapshot atomically; returns its snapshot_id."""
    data = orjson.dumps(doc)
    atomic_write(path, data)
    return _content_id(data, doc)
