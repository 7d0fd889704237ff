"""Records in memory, kept current from a change log: what every store backend shares.

A backend (the JSON files, PostgreSQL) loads a state at some seq, then feeds
changes in seq order to `_apply`; listeners (search index, recommender,
caches) are told of each as (kind, key, old, new), whether it was written
here or replayed from the log.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from . import segment as segments
from .segment import Segment
from .snapshot import COLLECTIONS, SCHEMA_VERSION
from .table import RecordTable

log = logging.getLogger("service.store")
SEGMENTS = "segments"  # in DATA_DIR: the mapped records of the state the store was opened at
Listener = Callable[[str, str, dict | None, dict | None], None]


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Materialised:
    def __init__(self):
        self._data: dict[str, RecordTable] = {name: RecordTable() for name in COLLECTIONS}
        self._listeners: list[Listener] = []
        self._savers: list[tuple[Callable[[str], None], Callable[[str], None]]] = []
        # How many changes each collection has seen here: a cheap key for caches of derived views.
        self.revision: dict[str, int] = {name: 0 for name in COLLECTIONS}
        self._mutex = threading.RLock()
        self.seq = 0
        self._segment: Segment | None = None  # the mapped records; the tables hold what changed since
        # Names the state the store was opened at, for indexes saved beside it ("" when none is).
        self.snapshot_id = ""

    @property
    def segment_seq(self) -> int:
        """The state the mapped records are of."""
        return self._segment.source["seq"] if self._segment is not None else 0

    def since_segment(self, changes: Iterable[dict]) -> list[dict]:
        """Of a journal's lines, the changes after the segment's state, up to the one held."""
        return [c for c in changes if "base" not in c and self.segment_seq < c["seq"] <= self.seq]

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_compaction(self, save: Callable[[str], None], prune: Callable[[str], None]) -> None:
        """When the log is folded into a new snapshot: save(snapshot_id) is called with exactly
        that snapshot's state held, before the snapshot replaces the old one; prune(snapshot_id)
        after, to drop what was saved for older ones (a process starting meanwhile still finds
        the old snapshot's)."""
        self._savers.append((save, prune))

    def holding_changes(self) -> threading.RLock:
        """Hold it to read many records at one state: no change is applied (or heard) meanwhile."""
        return self._mutex

    def get(self, kind: str, key: str) -> dict | None:
        return self._data[kind].get(key)

    def all(self, kind: str) -> RecordTable:
        """The live mapping of key -> record (a dict's interface; records decoded as read)."""
        return self._data[kind]

    def document(self) -> dict:
        doc = {"schema_version": SCHEMA_VERSION, "seq": self.seq}
        doc.update({name: list(records.values()) for name, records in self._data.items()})
        return doc

    def _load(self, doc: dict) -> None:
        with self._mutex:
            self._data = {
                name: RecordTable(records={r[key]: r for r in doc.get(name, [])}) for name, key in COLLECTIONS.items()
            }
            self.seq = doc.get("seq", 0)

    # -- segments ----------------------------------------------------------

    def _use_segment(self, segment: Segment) -> None:
        """Serve the segment's state (its seq) from now on: what changed since is replayed onto it."""
        with self._mutex:
            self._data = {name: RecordTable(segment.collections.get(name)) for name in COLLECTIONS}
            self.seq = segment.source["seq"]
            self._segment = segment

    def _segment_path(self, name: str) -> Path:
        return Path(self.data_dir) / SEGMENTS / f"{name}.seg"

    def _open_segment(self, name: str, **source) -> Segment | None:
        """The segment of this name if it is whole and was written from `source`, else None."""
        try:
            segment = Segment.open(self._segment_path(name))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("segment %s unreadable (%s); the records are read again", name, exc)
            return None
        return segment if all(segment.source.get(k) == v for k, v in source.items()) else None

    def _write_segment(self, name: str, entries: dict[str, Iterable[tuple[str, bytes]]], prune: bool = True,
                       **source) -> Segment:
        """Write the records as the segment `name`, drop older segments (with prune), map it."""
        builder = segments.Builder(entries)
        for kind, items in entries.items():
            for key, data in items:
                builder.add(kind, key, data)
        return self._write_built(name, builder, prune, **source)

    def _write_built(self, name: str, builder: segments.Builder, prune: bool = True, **source) -> Segment:
        path = self._segment_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        builder.write(path, source, tmp=path.with_name(f"{path.name}.{os.getpid()}.tmp"))
        if prune:
            self._prune_segments(name)
        return Segment.open(path)

    def _prune_segments(self, keep: str) -> None:
        path = self._segment_path(keep)
        for old in path.parent.glob("*.seg"):
            if old != path:
                old.unlink(missing_ok=True)  # a process still mapping it keeps reading it

    def _segment_of_document(self, name: str, doc: dict, **source) -> Segment:
        def entries_of(kind: str, key: str):
            return ((r[key], orjson.dumps(r)) for r in doc.get(kind, []))

        entries = {kind: entries_of(kind, key) for kind, key in COLLECTIONS.items()}
        return self._write_segment(name, entries, seq=doc.get("seq", 0), **source)

    def _segment_of_tables(self, name: str, prune: bool = True, **source) -> Segment:
        entries = {kind: table.raw_entries() for kind, table in self._data.items()}
        return self._write_segment(name, entries, prune, seq=self.seq, **source)

    def _switch_segment(self, segment: Segment) -> None:
        """Move to a segment of another state, telling listeners of every record that differs."""
        with self._mutex:
            for name in COLLECTIONS:
                current = self._data[name]
                other = segment.collections.get(name)
                fresh = RecordTable(other)
                changed = current.changed_keys(other) if other is not None else list(current)
                olds = {key: current.get(key) for key in changed}
                self._data[name] = fresh
                for key in changed:
                    self._emit(name, key, olds[key], fresh.get(key))
            self.seq = segment.source["seq"]
            self._segment = segment

    def _rebase(self, segment: Segment, changes: Iterable[dict]) -> None:
        """Read the records from a newer segment of this same history (a compaction's) plus the
        journal's `changes` since it, up to self.seq: the same state and order, so nothing for the
        listeners to hear; the tables hold in Python objects only what changed after it."""
        with self._mutex:
            self._segment = segment
            self._data = _replayed(segment, self.since_segment(changes), ())

    def replay_since_snapshot(self, listeners: Iterable[Listener]) -> bool:
        """Tell listeners of the changes since the state this store reads its records from;
        False when this backend cannot (they are then not told anything)."""
        return False

    def _replay_since_segment(self, since: Iterable[dict], listeners: Iterable[Listener]) -> None:
        """Tell `listeners` (of something loaded for the segment's state) of the changes `since`
        it, as a live listener heard them: each with the record it replaced then."""
        _replayed(self._segment, since, tuple(listeners))

    def _apply(self, change: dict) -> None:
        kind, key = change["kind"], change["key"]
        old = self._data[kind].get(key)
        new = _store(self._data[kind], change)
        self.seq = change["seq"]
        self._emit(kind, key, old, new)

    def _emit(self, kind, key, old, new) -> None:
        self.revision[kind] = self.revision.get(kind, 0) + 1
        for listener in self._listeners:
            listener(kind, key, old, new)

    @staticmethod
    def _release_memory() -> None:
        """Hand the heap a parse freed back to the OS: forked workers must not share (and count) it."""
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: the memory is reused, only not returned
            pass

    def _save_derived(self, snapshot_id: str) -> None:
        for save, _ in self._savers:
            try:
                save(snapshot_id)
            except Exception:  # the snapshot is good without it: the next start builds it again
                log.exception("saving what is derived from snapshot %s failed", snapshot_id)

    def _prune_derived(self, snapshot_id: str) -> None:
        for _, prune in self._savers:
            try:
                prune(snapshot_id)
            except Exception:
                log.exception("dropping what was derived from older snapshots failed")

    def _compacted(self, snapshot_id: str) -> None:
        """A new state was named (the store holds it): save what is derived from it."""
        self._save_derived(snapshot_id)
        self._prune_derived(snapshot_id)


def _store(records: RecordTable, change: dict) -> dict | None:
    """Put or delete the change's record; returns the new one (None for a delete)."""
    if change["op"] == "delete":
        records.pop(change["key"], None)
        return None
    records[change["key"]] = change["record"]
    return change["record"]


def _replayed(segment: Segment, changes: Iterable[dict], listeners: tuple[Listener, ...]) -> dict[str, RecordTable]:
    """The segment's records with `changes` applied in order, each told to `listeners`."""
    tables = {name: RecordTable(segment.collections.get(name)) for name in COLLECTIONS}
    for change in changes:
        kind, key = change["kind"], change["key"]
        old = tables[kind].get(key) if listeners else None
        new = _store(tables[kind], change)
        for listener in listeners:
            listener(kind, key, old, new)
    return tables
