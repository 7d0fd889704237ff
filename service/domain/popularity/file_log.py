"""An event counter's log on one machine's disk: DATA_DIR/<name>.jsonl and <name>-snapshot.json.

The log is a JsonLines file (store/jsonl.py) whose header names its
generation ({"generation": n}); each flushed batch is one line appended under
the file's exclusive lock, so every worker on this data directory reads the
same lines in the same order. A compaction writes the counter's fold to the
snapshot (write temp, fsync, rename) and starts a new log whose header names
the new generation; a reader whose log changed reloads from the snapshot.

What the lines mean, and what is lost when, is the counter's business
(events.py); this module only moves them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import orjson

from ..store.files import atomic_write
from ..store.jsonl import JsonLines
from .event_log import Change, Reload

log = logging.getLogger("service.events")


class FileEventLog:
    # A full disk: the events wait in memory for the next flush.
    errors: tuple[type[Exception], ...] = (OSError,)
    # A local disk failing a read is a fault to see, not an outage to ride out.
    read_errors: tuple[type[Exception], ...] = ()

    def __init__(self, data_dir: Path | str, name: str, compact_bytes: int, fsync: bool = False):
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self._file = JsonLines(self.dir / f"{name}.jsonl", "generation")
        self.path = self._file.path
        self.snapshot_path = self.dir / f"{name}-snapshot.json"
        self.compact_bytes, self.fsync = compact_bytes, fsync
        self._position: tuple[int, int, int] | None = None  # (inode, generation, offset)

    def ready(self) -> bool:
        return True

    def failed(self, what: str, exc: Exception) -> None:
        log.warning("%s: %s: %s", self.path, what, exc)

    def append(self, entry: dict) -> None:
        with self._file.lock():
            self._file.append(entry, fsync=False)
            if self.fsync:
                with suppress(OSError):  # the line is readable: its events must not be sent again
                    self._file.sync()

    def read(self, repair: bool, fold: Callable[[int], dict] | None = None, locked: bool = False) -> Change:
        """The lines appended since the last read, or a Reload when the log was replaced (or
        on the first read). With `repair`, a missing log, or one older than the snapshot, is
        made again; without, it is read as it was (None)."""
        st = self._file.stat()
        if st is None or self._position is None or st.st_ino != self._position[0]:
            return self._load(repair, locked)
        if st.st_size == self._position[2]:
            return None
        with self._file.reader() as reader:
            # Compared by inode and generation both: a new log can reuse the old one's inode.
            if reader.inode != self._position[0] or reader.generation != self._position[1]:
                return self._load(repair, locked)
            lines, end = reader.lines(self._position[2], skip_bad=True)
        self._position = (self._position[0], self._position[1], end)
        return lines

    def oversized(self) -> bool:
        return self.path.stat().st_size > self.compact_bytes

    def compact(self, apply: Callable[[Change], None], fold: Callable[[int], dict], force: bool) -> None:
        """Catch up, then write `fold(new generation)` as the snapshot and start a new log."""
        with self._file.lock():
            apply(self.read(repair=True, locked=True))
            if not force and not self.oversized():
                return  # another process compacted while we waited for the lock
            generation = self._position[1] + 1
            atomic_write(self.snapshot_path, orjson.dumps(fold(generation)))  # under the lock: one temp name serves
            self._file.rewrite(generation)
            apply(self._load_locked())

    def _load(self, repair: bool, locked: bool) -> Reload | None:
        if locked:  # flock is not re-entrant
            return self._load_locked(repair)
        with self._file.lock():
            return self._load_locked(repair)

    def _load_locked(self, repair: bool = True) -> Reload | None:
        """Snapshot plus the whole current log; with `repair`, creates or repairs the files if need be."""
        snapshot = orjson.loads(self.snapshot_path.read_bytes()) if self.snapshot_path.exists() else {}
        generation = snapshot.get("generation", 0)
        header = self._file.generation()
        if header is None or header < generation:
            if not repair:
                return None  # keep what was read before: the next flush repairs the files
            # No log yet, or a compaction crashed between its two renames: the snapshot has it all.
            self._file.rewrite(generation)
        with self._file.reader() as reader:
            inode = reader.inode
            lines, end = reader.lines(0, skip_bad=True)
        self._position = (inode, generation, end)
        return Reload(snapshot, lines)
