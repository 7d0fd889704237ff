"""A shared service (Redis) as one process sees it: away or not, said once per outage.

What leans on Redis must go on without it (limits fail open, counts wait in
memory), so a failure is not raised to the request; it is logged once when
the service goes away and once when it is back, never per request. While it
is away callers skip it for RETRY_SECONDS instead of each waiting for a
timeout, then one call tries again.
"""

from __future__ import annotations

import logging
import threading
import time

RETRY_SECONDS = 2.0


class Outage:
    def __init__(self, what: str, logger: logging.Logger, consequence: str, retry_seconds: float | None = None):
        self.what, self.logger, self.consequence = what, logger, consequence
        self.retry_seconds = RETRY_SECONDS if retry_seconds is None else retry_seconds
        self.down = False
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def ready(self) -> bool:
        """False while the service failed less than RETRY_SECONDS ago: don't wait on it now."""
        return not self.down or time.monotonic() >= self._retry_at

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry_seconds
            first, self.down = not self.down, True
        if first:
            self.logger.warning("%s is unreachable (%s): %s", self.what, exc, self.consequence)

    def succeeded(self) -> None:
        if self.down:
            with self._lock:
                back, self.down = self.down, False
            if back:
                self.logger.warning("%s is reachable again", self.what)
