"""What an event counter asks of the log its processes share (events.py keeps the counting).

Two logs keep the same lines: a file in DATA_DIR shared by one machine's
workers (file_log.py), and a Redis stream shared by every machine
(redis_log.py). A log hands back what was appended since the last read, or a
Reload - a snapshot (the fold of everything before it) plus every line after
it - when the counter must start again from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Protocol


class Reload(NamedTuple):
    snapshot: dict  # {"generation", "totals", "recent", "readers"}, or {} for none yet
    lines: list[dict]


# What a read found: new lines, a Reload, or None (nothing new, or a broken log read as it was).
Change = list[dict] | Reload | None


class EventLog(Protocol):
    name: str
    errors: tuple[type[Exception], ...]  # an append or a compaction that may succeed later
    read_errors: tuple[type[Exception], ...]  # a read that may succeed later (the log is away)

    def ready(self) -> bool:
        """False while the log is known to be away: don't wait on it now."""

    def failed(self, what: str, exc: Exception) -> None:
        """Say that something failed and what follows from it."""

    def append(self, entry: dict) -> None:
        """Append one line, whole, or raise one of `errors`."""

    def read(self, repair: bool, fold: Callable[[int], dict]) -> Change:
        """What was appended since the last read. With `repair`, a missing or broken log is made
        again (`fold(generation)` is the counter's state as a snapshot, if the log needs it)."""

    def oversized(self) -> bool:
        """Time to compact."""

    def compact(self, apply: Callable[[Change], None], fold: Callable[[int], dict], force: bool) -> None:
        """Catch up (`apply` each change), replace the lines read by `fold(generation)`, and
        apply the Reload that follows; not if another process compacted first (unless `force`)."""
