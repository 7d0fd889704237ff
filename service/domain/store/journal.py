"""The change log: an append-only journal of store changes, shared by processes.

Every gunicorn worker appends to and replays from the same log, so it is the
channel through which workers see each other's writes. The interface is small
(`lock`, `append`, `read_new`, `size`, `reset`) so that a log kept
elsewhere (a PostgreSQL table) can be added as another module.

The file log is a JsonLines file (see jsonl.py) whose header names the seq of
the snapshot it follows ({"base": seq}); each further line is one change with
its seq. A write is acknowledged only after its line is fsynced. Readers stop
at the first line that is not whole JSON: a change is never skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .jsonl import JsonLines


@dataclass(frozen=True)
class LogPosition:
    """Where a reader stands: which incarnation of the log (the seq of the
    snapshot it follows, from its header line), and how far in."""

    generation: int
    offset: int


class ChangeLog(Protocol):
    def lock(self): ...
    def append(self, change: dict) -> None: ...
    def read_new(self, position: LogPosition | None) -> tuple[list[dict], LogPosition, bool]: ...
    def reset(self, base_seq: int) -> None: ...
    def size(self) -> int: ...


class FileChangeLog:
    """Journal file plus a lock file in the data directory."""

    def __init__(self, directory: Path, name: str = "journal.jsonl"):
        self._file = JsonLines(Path(directory) / name, "base")
        self.path = self._file.path
        self._unchanged: tuple[tuple, LogPosition] | None = None
        if not self.path.exists():
            with self.lock():
                if not self.path.exists():
                    self.reset(0)

    def lock(self):
        """Exclusive across processes: one writer appends at a time."""
        return self._file.lock()

    def size(self) -> int:
        return os.stat(self.path).st_size

    def read_new(self, position: LogPosition | None) -> tuple[list[dict], LogPosition, bool]:
        """Complete changes after `position`; the third value is True when the
        log was replaced since (by a compaction)."""
        # Every request asks; one stat answers "nothing new" without opening
        # the file. Only a fully read file is remembered: a torn tail may be
        # cut and replaced by a line of the same length within one clock tick.
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if position is not None and self._unchanged == (stamp, position):
            return [], position, False
        changes, position, replaced = self._read_new(position)
        self._unchanged = (stamp, position) if position.offset == st.st_size else None
        return changes, position, replaced

    def _read_new(self, position: LogPosition | None) -> tuple[list[dict], LogPosition, bool]:
        with self._file.reader() as reader:
            generation = reader.generation or 0  # a journal without a header follows seq 0
            replaced = position is not None and position.generation != generation
            start = 0 if (position is None or replaced) else position.offset
            changes, end = reader.lines(start)
        return changes, LogPosition(generation, end), replaced

    def append(self, change: dict) -> None:
        """Append one change durably. Call with the lock held."""
        self._file.append(change, fsync=True)

    def reset(self, base_seq: int) -> None:
        """Start a new journal after its contents went into a snapshot at
        base_seq. Its header line tells readers which snapshot it follows.
        Call with the lock held."""
        self._file.rewrite(base_seq)

    def drop_through(self, base_seq: int) -> None:
        """Start a new journal after a snapshot at base_seq, keeping the changes after it (appended
        while the snapshot was written). Nothing to do when the journal already follows it.
        Call with the lock held."""
        with self._file.reader() as reader:
            if (reader.generation or 0) >= base_seq:
                return
            changes, _ = reader.lines(0)
        self._file.rewrite(base_seq, [c for c in changes if "base" not in c and c["seq"] > base_seq])

    def generation(self) -> int:
        """The seq of the snapshot this journal follows."""
        return self._file.generation() or 0
