"""The JSON store: a snapshot plus a change log, materialised in memory.

Every process (gunicorn worker, CLI) holds the whole store in memory and
calls refresh() before serving a request: a cheap look at the log that
replays whatever other processes appended. Writes take the log's exclusive
lock, catch up, decide, append (fsync) and apply, so two processes can never
write from a stale view and lose each other's update.

What is kept in memory, and how listeners hear of changes: materialised.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from . import migrate
from .compactor import Compactor
from .files import atomic_file
from .journal import FileChangeLog, LogPosition
from .materialised import Materialised, utcnow
from .segment import Builder, Segment
from .snapshot import (
    COLLECTIONS,
    LARGE_BYTES,
    SCHEMA_VERSION,
    StoreError,
    check_layout,
    empty_document,
    read_document,
    read_head,
    read_version,
    snapshot_id,
    stream_records,
    write_document,
    write_records,
)

SNAPSHOT = "snapshot.json"


class Store(Materialised):
    """The embedded store: a JSON snapshot plus a journal file in DATA_DIR."""

    BACKEND = "json"

    def __init__(
        self,
        data_dir: Path,
        seed: Callable[[], dict] | None = None,
        compact_bytes: int = 8 * 1024 * 1024,
        migrations_dir: Path = migrate.MIGRATIONS_DIR,
    ):
        super().__init__()
        self.data_dir = Path(data_dir)
        self.snapshot_path = self.data_dir / SNAPSHOT
        self._seed = seed
        self.compact_bytes = compact_bytes
        self.migrations_dir = migrations_dir
        self._position: LogPosition | None = None
        self.log: FileChangeLog | None = None
        self.compactor = Compactor(self.data_dir, self._write_compaction, self._follow_snapshot)
        # Another reason to compact than the journal's size: what is derived wants folding (the
        # compaction folds it once, for every process). Set by whoever derives it.
        self.wants_compaction: Callable[[], bool] = lambda: False

    # -- opening ---------------------------------------------------------

    def open(self, replay: bool = True, resumable: Iterable[str] = ()) -> Store:
        """Load the snapshot, then (unless replay=False) the journal after it.

        With replay=False the caller builds or loads what it derives from the
        snapshot (`snapshot_id` names that state) and calls refresh() itself,
        so the journal's changes reach its listeners one by one. `resumable` is
        not needed: the snapshot decides the state indexes are saved for.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = FileChangeLog(self.data_dir)
        with self.log.lock():
            if not self.snapshot_path.exists():
                self._create()
            segment = self._mapped_snapshot()
            if segment is None:
                segment = self._parse_snapshot()
            self.snapshot_id = segment.source["snapshot_id"]
            self._use_segment(segment)
            self._position = None
        if replay:
            self.refresh()
        return self

    def _parse_snapshot(self) -> Segment:
        """Read the snapshot (migrating it if it is older), and write its segment."""
        head = read_head(self.snapshot_path)
        if head is not None and head[0] == SCHEMA_VERSION and self.snapshot_path.stat().st_size > LARGE_BYTES:
            return self._stream_snapshot()
        doc = read_document(self.snapshot_path)
        if doc["schema_version"] > SCHEMA_VERSION:
            raise StoreError(
                f"{self.snapshot_path}: schema version {doc['schema_version']} is newer "
                f"than this service knows ({SCHEMA_VERSION}); upgrade the service"
            )
        if doc["schema_version"] < SCHEMA_VERSION:
            doc = self._upgrade_locked(doc)
        check_layout(self.snapshot_path, doc)
        segment = self._segment_of_document(self._segment_name(doc.get("seq", 0)), doc,
                                            snapshot=self._stat(), snapshot_id=snapshot_id(self.snapshot_path, doc))
        del doc
        self._release_memory()
        return segment

    def _stream_snapshot(self) -> Segment:
        """A large snapshot of this version into its segment a record at a time: as Python
        values a million articles would take several times the memory of their bytes."""
        builder = Builder(COLLECTIONS)
        rest = stream_records(self.snapshot_path, builder.add)
        stat = self._stat()
        segment = self._write_built(self._segment_name(rest.get("seq", 0)), builder, seq=rest.get("seq", 0),
                                    snapshot=stat, snapshot_id=snapshot_id(self.snapshot_path, rest))
        del builder
        self._release_memory()
        return segment

    def _mapped_snapshot(self) -> Segment | None:
        """The segment written from the snapshot as it is on disk now, if there is one."""
        head = read_head(self.snapshot_path)
        if head is None or head[0] != SCHEMA_VERSION:
            return None
        return self._open_segment(self._segment_name(head[1]), snapshot=self._stat())

    @staticmethod
    def _segment_name(seq: int) -> str:
        return f"snapshot-{seq}"

    def _stat(self) -> list[int]:
        """Which file the snapshot is: a new one (a compaction, a restore) is a new inode."""
        st = os.stat(self.snapshot_path)
        return [st.st_size, st.st_mtime_ns, st.st_ino]

    def _create(self) -> None:
        changes, _, _ = self.log.read_new(None)
        if any("seq" in change for change in changes):
            raise StoreError(
                f"{self.log.path}: a journal without {SNAPSHOT}; refusing to start from scratch"
            )
        doc = self._seed() if self._seed else empty_document()
        doc = migrate.upgrade(doc, self.migrations_dir)
        write_document(self.snapshot_path, doc)

    def _upgrade_locked(self, doc: dict) -> dict:
        """Fold the journal in, keep a copy of the old snapshot, migrate."""
        steps = migrate.pending(doc["schema_version"], self.migrations_dir)
        backup = self.data_dir / f"snapshot.v{doc['schema_version']}.json"
        shutil.copyfile(self.snapshot_path, backup)
        changes, _, _ = self.log.read_new(None)
        doc = fold(doc, changes)
        for step in steps:
            doc = step.upgrade(doc)
            doc["schema_version"] = step.TO_VERSION
        write_document(self.snapshot_path, doc)
        self.log.reset(doc["seq"])
        return doc

    # -- reading ---------------------------------------------------------

    def refresh(self) -> int:
        """Replay what other processes appended since we last looked;
        returns how many changes that was."""
        with self._mutex:
            applied = 0
            changes, position, replaced = self.log.read_new(self._position)
            if replaced or self._position is None:
                base = changes[0].get("base", 0) if changes and "base" in changes[0] else 0
                if base > self.seq:
                    # Compacted past what we have seen: the snapshot has it.
                    self._reload_snapshot()
                elif base > self.segment_seq:
                    self._rebase_onto_snapshot(base, changes)
            for change in changes:
                if "base" in change or change["seq"] <= self.seq:
                    continue
                self._apply(change)
                applied += 1
            self._position = position
            return applied

    def _rebase_onto_snapshot(self, base: int, changes: list[dict]) -> None:
        """A compaction at `base` (at most what we hold) replaced the journal: read the records
        from its segment from now on, rather than hold every change since ours in memory."""
        segment = self._mapped_snapshot()
        if segment is None or segment.source["seq"] != base:
            return  # a later compaction's, or none yet: the next one moves us
        self._rebase(segment, changes)
        self.snapshot_id = segment.source["snapshot_id"]

    def replay_since_snapshot(self, listeners) -> bool:
        """Bring what was loaded for the snapshot this process reads its records from (the
        indexes a compaction saved for it) up to this process's state: each change since,
        from the journal, told to `listeners`. False when the journal no longer follows that
        snapshot (a later compaction replaced it): what was loaded is then out of date.
        Call holding changes, after refresh()."""
        with self._mutex:
            changes, _, _ = self.log.read_new(None)
            if not changes or changes[0].get("base") != self.segment_seq:
                return False
            since = self.since_segment(changes)
            if len(since) != self.seq - self.segment_seq:
                return False  # never, with a journal that keeps every change since its snapshot
            self._replay_since_segment(since, listeners)
            return True

    def _reload_snapshot(self) -> None:
        """Another process compacted past what we have seen: move to its snapshot's records."""
        segment = self._mapped_snapshot()
        if segment is None:  # it stopped before writing the segment, or wrote another layout
            segment = self._parse_snapshot()
        self._switch_segment(segment)
        self.snapshot_id = segment.source["snapshot_id"]

    # -- writing ---------------------------------------------------------

    def write(self, kind: str, key: str, decide: Callable[[dict | None], dict | None]):
        """Atomically replace one record with decide(current).

        decide sees the newest state across all processes and may raise to
        refuse (a version conflict, say); returning None deletes. The
        change is on disk before this returns.
        """
        with self._mutex, self.log.lock():
            self.refresh()
            old = self._data[kind].get(key)
            new = decide(old)
            if new is None and old is None:
                return None
            change = {
                "seq": self.seq + 1,
                "at": utcnow(),
                "op": "delete" if new is None else "put",
                "kind": kind,
                "key": key,
            }
            if new is not None:
                change["record"] = new
            self.log.append(change)
            self.refresh()
            if self.log.size() > self.compact_bytes or self.wants_compaction():
                self._fold_journal()
            return new

    def _fold_journal(self) -> None:
        """The journal is long: follow a snapshot a compaction finished, or start one."""
        head = read_head(self.snapshot_path)
        if head is not None and head[1] > self._position.generation:
            self._follow_snapshot_locked()  # its process did not get to it (it stopped, say)
            self.refresh()
        else:
            self.compactor.start()

    def where(self) -> str:
        return str(self.snapshot_path)

    def existing_version(self) -> int | None:
        """The schema version of the snapshot on disk, or None when there is none yet."""
        return read_version(self.snapshot_path) if self.snapshot_path.exists() else None

    def upgrade(self) -> None:
        """Create the store from the seeds, or migrate it, when it is not at SCHEMA_VERSION;
        a store already there is not loaded."""
        if self.existing_version() != SCHEMA_VERSION:
            self.open(replay=False)

    def backup_name(self, version: int) -> str | None:
        """What an upgrade from `version` kept of the old store."""
        return f"snapshot.v{version}.json"

    def latest_seq(self) -> int | None:
        """The newest change in the store of record: what every request has caught up to here."""
        return self.seq

    def log_bytes(self) -> int:
        return self.log.size()

    def release(self) -> None:
        """Nothing to release: no connection is held."""

    def close(self) -> None:
        """Every write is on disk when it returns; a compaction under way is waited for."""
        self.compactor.wait()

    def checkpoint(self, replayed: int) -> None:
        """Nothing: a compaction names the new state (and the indexes are saved for it)."""

    def compact(self) -> None:
        """Fold the journal into a new snapshot now, in this process (tests, tools): the same steps."""
        with self._mutex, self.log.lock(), self.compactor.held():
            self.refresh()
            self._write_compaction()
            self._follow_snapshot_locked()
            self.refresh()

    def wait_for_compaction(self) -> None:
        """Until a compaction this process started is done and its journal replaced."""
        self.compactor.wait()
        with self._mutex:
            self.refresh()

    def _write_compaction(self) -> None:
        """Write the state held now as the snapshot, with its segment and what is derived from
        it saved beside it: all before the rename that makes it the snapshot, so a process
        starting meanwhile finds the old snapshot's whole, and a crash leaves the old one."""
        head = read_head(self.snapshot_path)
        if head is not None and head[0] == SCHEMA_VERSION and head[1] >= self.seq:
            return  # another compaction got here first
        name = self._segment_name(self.seq)
        raw = {kind: table.raw_entries() for kind, table in self._data.items()}
        with atomic_file(self.snapshot_path) as handle:
            snapshot = write_records(handle, self.seq, raw)
            handle.flush()
            st = os.fstat(handle.fileno())  # a rename keeps size, mtime and inode: the segment's key
            self._segment_of_tables(name, prune=False, snapshot=[st.st_size, st.st_mtime_ns, st.st_ino],
                                    snapshot_id=snapshot)
            self._save_derived(snapshot)
        self.snapshot_id = snapshot
        self._prune_segments(name)
        self._prune_derived(snapshot)

    def _follow_snapshot(self) -> None:
        with self.log.lock():
            self._follow_snapshot_locked()

    def _follow_snapshot_locked(self) -> None:
        """Start the journal after the snapshot on disk, keeping the changes appended since it:
        every process then reads the snapshot's segment at its next refresh. A crash before
        this leaves an old journal whose lines the snapshot holds already (skipped by seq)."""
        head = read_head(self.snapshot_path)
        if head is not None:
            self.log.drop_through(head[1])


def fold(doc: dict, changes: list[dict]) -> dict:
    """Apply journal changes to a raw snapshot document (any schema version)."""
    seq = doc.get("seq", 0)
    tables = {
        name: {r[key]: r for r in doc.get(name, [])} for name, key in COLLECTIONS.items()
    }
    for change in changes:
        if "base" in change or change["seq"] <= seq:
            continue
        table = tables.setdefault(change["kind"], {})
        if change["op"] == "delete":
            table.pop(change["key"], None)
        else:
            table[change["key"]] = change["record"]
        seq = change["seq"]
    doc = dict(doc, seq=seq)
    doc.update({name: list(records.values()) for name, records in tables.items()})
    return doc
