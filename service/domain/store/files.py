"""Files that survive crashes and concurrent processes.

exclusive_lock: one process at a time (fcntl.flock on a lock file beside the data).
atomic_file / atomic_write: write a temp file, fsync, rename over the target, fsync the folder;
a reader (or a restart after a crash) sees the old file or the new one, never half.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    with open(path, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def atomic_file(path: Path, tmp: Path | None = None) -> Iterator[BinaryIO]:
    """A file to write `path` through: on a clean exit it is fsynced and renamed over the target;
    on an error the temp file is removed (never a half-written file taking the space)."""
    path = Path(path)
    tmp = Path(tmp) if tmp is not None else path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb", buffering=1 << 20) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes, tmp: Path | None = None) -> None:
    with atomic_file(path, tmp) as handle:
        handle.write(data)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
