"""Records in memory, kept current from a change log: what every store backend shares.

A backend (the JSON files, PostgreSQL) loads a state at some seq, then feeds
changes in seq order to `_apply`; listeners (search index, recommender,
caches) are told of each as (kind, key, old, new), whether it was written
here or replayed from the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from .snapshot import COLLECTIONS, SCHEMA_VERSION

log = logging.getLogger("service.store")
Listener = Callable[[str, str, dict | None, dict | None], None]


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Materialised:
    def __init__(self):
        self._data: dict[str, dict[str, dict]] = {name: {} for name in COLLECTIONS}
        self._listeners: list[Listener] = []
        self._compaction_listeners: list[Callable[[str], None]] = []
        # How many changes each collection has seen here: a cheap key for caches of derived views.
        self.revision: dict[str, int] = {name: 0 for name in COLLECTIONS}
        self._mutex = threading.RLock()
        self.seq = 0
        # Names the state the store was opened at, for indexes saved beside it ("" when none is).
        self.snapshot_id = ""

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_compaction(self, listener: Callable[[str], None]) -> None:
        """Call listener(snapshot_id) after this process folds the log into a new
        snapshot, while the store still holds exactly that snapshot's state."""
        self._compaction_listeners.append(listener)

    def holding_changes(self) -> threading.RLock:
        """Hold it to read many records at one state: no change is applied (or heard) meanwhile."""
        return self._mutex

    def get(self, kind: str, key: str) -> dict | None:
        return self._data[kind].get(key)

    def all(self, kind: str) -> dict[str, dict]:
        return self._data[kind]

    def document(self) -> dict:
        doc = {"schema_version": SCHEMA_VERSION, "seq": self.seq}
        doc.update({name: list(records.values()) for name, records in self._data.items()})
        return doc

    def _load(self, doc: dict) -> None:
        with self._mutex:
            self._data = {
                name: {r[key]: r for r in doc.get(name, [])} for name, key in COLLECTIONS.items()
            }
            self.seq = doc.get("seq", 0)

    def _apply(self, change: dict) -> None:
        kind, key = change["kind"], change["key"]
        records = self._data[kind]
        old = records.get(key)
        new = change.get("record")
        if change["op"] == "delete":
            records.pop(key, None)
            new = None
        else:
            records[key] = new
        self.seq = change["seq"]
        self._emit(kind, key, old, new)

    def _emit(self, kind, key, old, new) -> None:
        self.revision[kind] = self.revision.get(kind, 0) + 1
        for listener in self._listeners:
            listener(kind, key, old, new)

    def _compacted(self, snapshot_id: str) -> None:
        for listener in self._compaction_listeners:
            try:
                listener(snapshot_id)
            except Exception:  # the write that compacted is durable: never fail it
                log.exception("a compaction listener failed")
