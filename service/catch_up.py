"""Other processes' changes replayed between requests, so that a request rarely has any to replay.

Every request still calls store.refresh() first: a write acknowledged by any
worker is seen by the next request to any other. But a worker that was busy
or idle while others wrote would then replay, on that request's time, all
that arrived meanwhile: tokenising each article for the search index and the
related lists, the folds of their deltas, a switch to the segment another
worker compacted into. A thread in each serving process looks every few
milliseconds and replays it while no request is being served. Requests and
that thread take one lock in turn, so a request never sees the derived state
half-way through a change, and nothing derived has to be safe against a
change applied while it is read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

LOOK_SECONDS = 0.01  # between looks at the log: a stat, or nothing at all when PostgreSQL has not signalled


class CatchUp:
    def __init__(self, refresh: Callable[[], int], interval: float = LOOK_SECONDS,
                 prepare: Callable[[], None] = lambda: None, adopt: Callable[[], None] = lambda: None):
        """prepare() runs between looks without the turn (slow work requests need not wait for,
        such as loading a newer generation's indexes); adopt() after each look, with it."""
        self._refresh = refresh
        self._prepare, self._adopt = prepare, adopt
        self.interval = interval
        self._turn = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.replayed = 0  # changes this thread replayed rather than a request

    def serving(self) -> None:
        """A request starts: wait for a replay under way to finish, hold off the next."""
        self._turn.acquire()

    def served(self) -> None:
        """The request that called serving() is over (its response is made): replays may go on."""
        self._turn.release()

    def start(self) -> None:
        """In each serving process, after the fork (threads do not survive one)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="catch-up", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._prepare()
            except Exception:
                log.exception("preparing a newer generation failed")
            with self._turn:
                try:
                    self.replayed += self._refresh()
                    self._adopt()
                except Exception:  # the next request's own refresh reports it; keep looking
                    log.exception("replaying other processes' changes failed")
