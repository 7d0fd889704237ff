"""The change log: an append-only journal of store changes, shared by processes.

Every gunicorn worker appends to and replays from the same log, so it is the
channel through which workers see each other's writes. The interface is small
(`lock`, `append`, `read_new`, `size`, `reset`) so that a log kept
elsewhere (a PostgreSQL table) can be added as another module.

The file log is JSON Lines. A write is acknowledged only after its line is
fsynced. A crash can leave a torn last line (no newline, or bad JSON at the
end): readers stop before it, and the next writer, holding the lock, cuts it
off before appending.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from .files import atomic_write, exclusive_lock


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
        self.path = Path(directory) / name
        self.lock_path = Path(directory) / (name + ".lock")
        self._unchanged: tuple[tuple, LogPosition] | None = None
        self.lock_path.touch(exist_ok=True)
        if not self.path.exists():
            with self.lock():
                if not self.path.exists():
                    self.reset(0)

    def lock(self):
        """Exclusive across processes: one writer appends at a time."""
        return exclusive_lock(self.lock_path)

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
        with open(self.path, "rb") as handle:
            generation = _base_of(handle)
            replaced = position is not None and position.generation != generation
            start = 0 if (position is None or replaced) else position.offset
            size = os.fstat(handle.fileno()).st_size
            if size == start:
                return [], LogPosition(generation, start), replaced
            handle.seek(start)
            data = handle.read(size - start)
        changes, used = _complete_lines(data)
        return changes, LogPosition(generation, start + used), replaced

    def append(self, change: dict) -> None:
        """Append one change durably. Call with the lock held."""
        line = orjson.dumps(change) + b"\n"
        fd = os.open(self.path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            good = _good_length(fd, size)
            if good != size:
                os.ftruncate(fd, good)  # a torn tail from a crashed writer
            os.lseek(fd, good, os.SEEK_SET)
            rest = memoryview(line)
            while rest:
                # A short write (the disk filled up, a file size limit) is followed by one that
                # fails with the real errno (ENOSPC, EDQUOT, EFBIG), which callers map to 507.
                written = os.write(fd, rest)
                if not written:
                    raise OSError(errno.ENOSPC, "short write to the journal", str(self.path))
                rest = rest[written:]
            os.fsync(fd)
        except OSError:
            # Leave no partial line behind (a full disk, say): readers must
            # never see a change that was not acknowledged.
            try:
                os.ftruncate(fd, good)
            except (OSError, UnboundLocalError):
                pass
            raise
        finally:
            os.close(fd)

    def reset(self, base_seq: int) -> None:
        """Start a new journal after its contents went into a snapshot at
        base_seq. Its header line tells readers which snapshot it follows.
        Call with the lock held."""
        atomic_write(self.path, orjson.dumps({"base": base_seq}) + b"\n", tmp=self.path.with_suffix(".tmp"))


def _base_of(handle) -> int:
    """The base seq in a journal's header line (0 for a journal without one)."""
    head = os.pread(handle.fileno(), 128, 0)
    end = head.find(b"\n")
    if end > 0:
        try:
            header = orjson.loads(head[:end])
        except orjson.JSONDecodeError:
            return 0
        if isinstance(header, dict) and isinstance(header.get("base"), int):
            return header["base"]
    return 0


def _complete_lines(data: bytes) -> tuple[list[dict], int]:
    """Parse whole lines; stop at the first torn or unparsable one."""
    changes: list[dict] = []
    used = 0
    while used < len(data):
        end = data.find(b"\n", used)
        if end < 0:
            break
        try:
            changes.append(orjson.loads(data[used:end]))
        except orjson.JSONDecodeError:
            break
        used = end + 1
    return changes, used


def _good_length(fd: int, size: int) -> int:
    """Length of the journal up to the end of its last complete line.

    Only the tail is read: every append writes one whole line ending in a
    newline, so anything after the last newline is a torn write.
    """
    pos = size
    while pos > 0:
        step = min(65536, pos)
        os.lseek(fd, pos - step, os.SEEK_SET)
        chunk = os.read(fd, step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return pos - step + newline + 1
        pos -= step
    return 0
