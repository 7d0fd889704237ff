"""Folding the journal into a new snapshot without holding up writes or reads.

Writing a snapshot, its segment and the indexes saved beside it takes long on
a big store (a million articles: several GB, well past a request's timeout).
So the write that finds the journal too long only forks: the child holds the
state at that seq exactly (copy-on-write, the way Redis saves), writes it all
and exits, while the process goes on serving and other processes go on
appending. When the child is done, the journal is replaced by one that
follows the new snapshot and keeps the changes appended meanwhile; every
process then moves its records onto the new segment at its next refresh.

One child at a time across processes: it holds an flock on `compaction.lock`
(taken before the fork, so no second fork happens while it runs). A child
that dies leaves the old snapshot and journal as they were; a later write
tries again after RETRY_SECONDS.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .files import exclusive_lock

log = logging.getLogger("service.store")
LOCK = "compaction.lock"
RETRY_SECONDS = 5.0


class Compactor:
    def __init__(self, data_dir: Path, write: Callable[[], object], finish: Callable[[], None]):
        """write() writes the state held now (in the child); finish() replaces the journal (here)."""
        self._lock_path = Path(data_dir) / LOCK
        self._write, self._finish = write, finish
        self._reaper: threading.Thread | None = None
        self._retry_at = 0.0

    def running(self) -> bool:
        return self._reaper is not None and self._reaper.is_alive()

    def start(self) -> bool:
        """Fork a child writing the state held now; call with the store's state held still (its
        mutex and the log lock). False when one runs already, here or in another process."""
        if self.running() or time.monotonic() < self._retry_at:
            return False
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            pid = os.fork()
        except OSError:
            log.exception("cannot fork to compact; trying again later")
            os.close(fd)
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return False
        if pid == 0:
            self._child()
        os.close(fd)  # the child's copy of it holds the lock until the child exits
        self._reaper = threading.Thread(target=self._reap, args=(pid,), name="compaction", daemon=True)
        self._reaper.start()
        return True

    def _child(self) -> None:
        code = 1
        try:
            gc.disable()  # a collection would touch (and copy) every page of the parent's heap
            self._write()
            code = 0
        except BaseException:
            log.exception("compaction failed; the journal keeps every change until one succeeds")
        finally:
            os._exit(code)  # nothing of the parent's (atexit, buffered output) runs twice

    def _reap(self, pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            log.error("compaction child %d ended with %d; the journal is kept", pid, code)
            return
        try:
            self._finish()
        except OSError:
            log.exception("replacing the journal after a compaction failed; the next write does it")

    def held(self):
        """Blocking, for a compaction done in process: waits for a child (of any process)."""
        self._lock_path.touch(exist_ok=True)
        return exclusive_lock(self._lock_path)

    def wait(self, timeout: float | None = None) -> None:
        """Until this process's child, and replacing the journal after it, are done."""
        reaper = self._reaper
        if reaper is not None:
            reaper.join(timeout)

