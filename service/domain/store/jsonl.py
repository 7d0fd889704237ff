"""An append-only JSON Lines file shared by processes, with torn-tail repair.

The store's journal and the event counters each keep one: a header line
naming the file's generation (which fold of it the file follows), then one
JSON value a line. Writers append under an exclusive lock on `<file>.lock`;
every append writes one whole line ending in a newline, so a crash can leave
only a torn last line (no newline). Readers stop before it, and the next
writer, holding the lock, cuts it off before appending. A fold replaces the
file (write temp, fsync, rename) with one holding only a new header.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from .files import atomic_write, exclusive_lock

HEADER_BYTES = 128  # a header line is short; a longer first line is not one


class JsonLines:
    def __init__(self, path: Path, header_key: str):
        self.path = Path(path)
        self.header_key = header_key
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # Replaced only under the lock, so one temp name serves every process.
        self.tmp_path = self.path.with_suffix(".tmp")
        self.lock_path.touch(exist_ok=True)

    def lock(self):
        """Exclusive across processes (and threads): one writer at a time."""
        return exclusive_lock(self.lock_path)

    def stat(self) -> os.stat_result | None:
        try:
            return os.stat(self.path)
        except FileNotFoundError:
            return None

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """One open incarnation of the file: its inode, size and header stay those of what is read."""
        with open(self.path, "rb") as handle:
            yield Reader(handle, self.header_key)

    def generation(self) -> int | None:
        """The generation in the header line; None without a file or a header."""
        try:
            with self.reader() as reader:
                return reader.generation
        except FileNotFoundError:
            return None

    def append(self, value, fsync: bool = True) -> None:
        """Append one value as a whole line, or nothing. Call with the lock held.

        With fsync, the line is on disk before this returns, and a failed fsync
        takes it away again: what was not acknowledged must never be read.
        """
        line = orjson.dumps(value) + b"\n"
        fd = os.open(self.path, os.O_RDWR)
        good = None
        try:
            size = os.fstat(fd).st_size
            good = _good_length(fd, size)
            if good != size:
                os.ftruncate(fd, good)  # a torn tail from a crashed writer
            os.lseek(fd, good, os.SEEK_SET)
            rest = memoryview(line)
            while rest:
                # A short write (the disk filled up, a file size limit) is followed by one that
                # fails with the real errno (ENOSPC, EDQUOT, EFBIG).
                written = os.write(fd, rest)
                if not written:
                    raise OSError(errno.ENOSPC, "short write", str(self.path))
                rest = rest[written:]
            if fsync:
                os.fsync(fd)
        except OSError:
            if good is not None:  # leave no partial line behind (a full disk, say)
                try:
                    os.ftruncate(fd, good)
                except OSError:
                    pass
            raise
        finally:
            os.close(fd)

    def sync(self) -> None:
        """fsync what was appended without it."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def rewrite(self, generation: int, values: Iterable = ()) -> None:
        """Replace the file by one holding the header of `generation`, then `values` a line each.
        Call with the lock held."""
        lines = [orjson.dumps({self.header_key: generation}), *(orjson.dumps(value) for value in values)]
        atomic_write(self.path, b"\n".join(lines) + b"\n", tmp=self.tmp_path)


class Reader:
    def __init__(self, handle, header_key: str):
        self._handle = handle
        st = os.fstat(handle.fileno())
        self.inode, self.size = st.st_ino, st.st_size
        self.generation = _header(handle, header_key)

    def lines(self, start: int, skip_bad: bool = False) -> tuple[list, int]:
        """The values of the whole lines from byte `start` (the header is one, at 0), and the offset
        after the last one taken. A line that is whole but not JSON ends the reading, or with
        skip_bad is passed over; a torn last line waits until it is completed or cut."""
        if self.size <= start:
            return [], start
        self._handle.seek(start)
        data = self._handle.read(self.size - start)
        values: list = []
        used = 0
        while used < len(data):
            end = data.find(b"\n", used)
            if end < 0:
                break
            try:
                values.append(orjson.loads(data[used:end]))
            except orjson.JSONDecodeError:
                if not skip_bad:
                    break
            used = end + 1
        return values, start + used


def _header(handle, key: str) -> int | None:
    head = os.pread(handle.fileno(), HEADER_BYTES, 0)
    end = head.find(b"\n")
    if end <= 0:
        return None
    try:
        header = orjson.loads(head[:end])
    except orjson.JSONDecodeError:
        return None
    value = header.get(key) if isinstance(header, dict) else None
    return value if isinstance(value, int) else None


def _good_length(fd: int, size: int) -> int:
    """Length of the file up to the end of its last complete line.

    Only the tail is read: anything after the last newline is a torn write.
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
