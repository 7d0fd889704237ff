"""Event counts (page views, searches) shared by every worker process, surviving restarts.

Why a log: gunicorn workers share nothing but the data directory, and a
view or a search is too cheap an event to take a lock and fsync for each one. So:

* record() only bumps an in-memory buffer (per key and second);
* flush() - every FLUSH_SECONDS, or after FLUSH_EVENTS buffered events, or at
  close() - appends the buffer as one line ({"v": [...], "r": [...]}) to
  DATA_DIR/<name>.jsonl, a JsonLines file (store/jsonl.py) whose header names
  its generation ({"generation": n}), under its exclusive lock;
* refresh() replays the lines other processes appended since our offset,
  like the store's journal, keeping totals and notifying listeners (the
  trending scores) of every (article, count, time) event. It writes nothing,
  so a read may call it; only flush() and compact() write (and repair);
* when the log passes compact_bytes, the process that notices folds it into
  <name>-snapshot.json (write temp, fsync, rename) and starts a new log whose
  header names the new generation. A reader whose log generation changed
  reloads from the snapshot.

That is the file log (file_log.py), shared by one machine's workers. With a
Redis log (redis_log.py) the same lines go to a Redis stream shared by every
machine; the counting here is the same whichever log holds them.

Loss window: events still in a process's buffer - at most FLUSH_SECONDS
(2 s) or FLUSH_EVENTS events - are lost if that process dies without close();
a clean shutdown (gunicorn worker_exit -> close()) flushes them. A line torn
by a crashed writer is cut by the next one; a whole line that is not JSON is
skipped, never a reason to stop counting. fsync is off by default (fsync=True
to turn it on), so a machine crash (power, kernel) can also lose what the OS
had not yet written back, typically up to ~30 s. Those are page views and
searches, not money.

The snapshot keeps totals plus hourly counts for the last RECENT_HOURS, so
time-decayed scores survive compaction and restarts.

Readers (searches): an event may name its reader, an opaque token (a keyed
hash, never an address). Such an event counts once per key, reader and clock
hour, however often and through however many processes it is recorded: each
process replays the same log in the same order and drops a reader's event
for an hour it already counted (or an earlier one: a line that arrives late
across an hour boundary is dropped rather than counted twice). The last hour
each reader was counted is kept per key for RECENT_HOURS, through compaction,
so distinct readers can be told apart across restarts too.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .event_log import Change, EventLog, Reload
from .file_log import FileEventLog

FLUSH_SECONDS = 2.0
FLUSH_EVENTS = 500
COMPACT_BYTES = 4 * 1024 * 1024
RECENT_HOURS = 14 * 24  # hourly buckets kept through compaction: ~14 half-lives at 24 h

# listener(events, reset): events are (article_id, count, unix time); reset=True means
# "forget everything, the events that follow are the whole history".
EventListener = Callable[[list[tuple[str, int, float]], bool], None]
# What a log line holds: (key, count, unix time, reader token or None).
LoggedEvent = tuple[str, int, float, "str | None"]


class EventCounter:
    def __init__(
        self,
        data_dir: Path | str | None,
        name: str = "views",
        flush_seconds: float = FLUSH_SECONDS,
        flush_events: int = FLUSH_EVENTS,
        compact_bytes: int = COMPACT_BYTES,
        fsync: bool = False,
        clock: Callable[[], float] = time.time,
        log: EventLog | None = None,
        max_pending: int | None = None,
    ):
        """Counts in <data_dir>/<name>.jsonl, or in `log` (a Redis stream, say) when given one.

        With `max_pending`, at most that many buffered entries (distinct key and second, or key,
        hour and reader) wait for a log that is away; events beyond are dropped, not queued."""
        self._log: EventLog = log if log is not None else FileEventLog(data_dir, name, compact_bytes, fsync)
        self.flush_seconds, self.flush_events = flush_seconds, flush_events
        self.clock, self.max_pending = clock, max_pending
        self._mutex = threading.RLock()
        self._pending: dict[tuple[str, int], int] = defaultdict(int)
        self._pending_readers: dict[tuple[str, int, str], int] = {}  # (key, hour, reader) -> first second
        self._pending_total: dict[str, int] = defaultdict(int)
        self._pending_count = 0
        self._dropping = False
        self._last_flush = time.monotonic()
        self._totals: dict[str, int] = defaultdict(int)
        self._recent: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # id -> hour -> n
        self._readers: dict[str, dict[str, int]] = defaultdict(dict)  # key -> reader -> last hour counted
        self._listeners: list[EventListener] = []
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        # Bumped by every change to what total() or the listeners see: a cheap key for caches.
        self.revision = 0
        self._catch_up(repair=True)

    # -- public ----------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        """Listener gets the whole history now (reset=True), then every new event."""
        with self._mutex:
            self._listeners.append(listener)
            listener(self._history(), True)

    def record(self, article_id: str, now: float | datetime | None = None, reader: str | None = None) -> None:
        """Count one event at `now` (unix seconds or an aware datetime); in memory, flushed within FLUSH_SECONDS.

        With a reader, the event counts only if that reader has no event for this key in this hour yet."""
        if isinstance(now, datetime):
            now = now.timestamp()
        second = int(now if now is not None else self.clock())
        with self._mutex:
            if reader is None:
                pending = (article_id, second)
                counted = self._room_for(pending in self._pending)
                if counted:
                    self._pending[pending] += 1
            else:
                hour = second // 3600
                pending = (article_id, hour, reader)
                counted = pending not in self._pending_readers and self._last_hour(article_id, reader) < hour
                if counted and self._room_for(False):
                    self._pending_readers[pending] = second
                else:
                    counted = False
            if counted:
                self._pending_total[article_id] += 1
                self._pending_count += 1
                self.revision += 1
            due = time.monotonic() - self._last_flush >= self.flush_seconds
            if due or self._pending_count >= self.flush_events:
                self.flush()

    def total(self, article_id: str) -> int:
        """All events ever: replayed from every process, plus our own not yet flushed."""
        return self._totals.get(article_id, 0) + self._pending_total.get(article_id, 0)

    def readers(self, key: str, now: float | None = None, enough: int | None = None) -> int:
        """Distinct readers counted for `key` in the last RECENT_HOURS (all processes, as last replayed).

        With `enough`, stops counting there: a cheap "at least this many?"."""
        since = int((self.clock() if now is None else now) // 3600) - RECENT_HOURS
        found = 0
        with self._mutex:  # the flusher thread adds readers while we count
            for hour in self._readers.get(key, {}).values():
                if hour > since:
                    found += 1
                    if found == enough:
                        break
        return found

    def keys_with_readers(self, at_least: int, now: float | None = None) -> set[str]:
        """The keys with at least this many distinct readers in the last RECENT_HOURS."""
        since = int((self.clock() if now is None else now) // 3600) - RECENT_HOURS
        found = set()
        with self._mutex:
            for key, seen in self._readers.items():
                if len(seen) >= at_least and sum(1 for hour in seen.values() if hour > since) >= at_least:
                    found.add(key)
        return found

    def totals(self) -> dict[str, int]:
        out = dict(self._totals)
        for aid, n in self._pending_total.items():
            out[aid] = out.get(aid, 0) + n
        return out

    def flush(self) -> None:
        """Append the buffer as one line, then catch up with everyone's lines.

        When the log cannot take it (a full disk, Redis away) the events stay in the buffer for
        the next flush: counting a view or a search must never fail the request (or the reader
        calling flush) nor kill the worker."""
        with self._mutex:
            self._last_flush = time.monotonic()
            if not self._log.ready():
                return  # away a moment ago: the flusher thread tries again soon
            if self._pending or self._pending_readers:
                entry = {"v": [[aid, t, n] for (aid, t), n in self._pending.items()]}
                if self._pending_readers:
                    entry["r"] = [[key, t, reader] for (key, _, reader), t in self._pending_readers.items()]
                try:
                    self._log.append(entry)
                except self._log.errors as exc:
                    self._log.failed("cannot append, events kept in memory", exc)
                else:
                    self._pending.clear()
                    self._pending_readers.clear()
                    self._pending_total.clear()
                    self._pending_count = 0
                    self._dropping = False
            self._catch_up(repair=True)
            if self._log.oversized():
                try:
                    self.compact(force=False)
                except self._log.errors as exc:
                    self._log.failed("compaction failed, the log grows until one succeeds", exc)

    def refresh(self) -> None:
        """Replay lines appended since we last looked; reload after a compaction.

        Writes nothing: a log left broken by a crash (missing, or older than the
        snapshot) is repaired by the next flush(), and read as it was until then."""
        self._catch_up(repair=False)

    def compact(self, force: bool = True) -> None:
        """Fold the log into the snapshot and start a new generation."""
        with self._mutex:
            self._log.compact(self._take, self._fold, force)

    def start(self, interval: float | None = None) -> EventCounter:
        """A daemon thread that flushes and refreshes, so idle workers still publish their events."""
        if self._timer is None:
            period = interval or self.flush_seconds

            def loop() -> None:
                while not self._stop.wait(period):
                    try:
                        self.flush()
                    except OSError:
                        pass  # a full disk must not kill the worker; next tick retries

            self._timer = threading.Thread(target=loop, name=f"{self._log.name}-flusher", daemon=True)
            self._timer.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.flush()

    # -- internals -------------------------------------------------------------

    def _room_for(self, known: bool) -> bool:
        """Whether an event fits the buffer: one adding no entry always does."""
        if known or self.max_pending is None or len(self._pending) + len(self._pending_readers) < self.max_pending:
            return True
        if not self._dropping:
            self._dropping = True
            self._log.failed("buffer full, events dropped until the log takes them",
                             OverflowError(f"{self.max_pending} entries waiting"))
        return False

    def _catch_up(self, repair: bool) -> None:
        with self._mutex:
            if not self._log.ready():
                return
            try:
                change = self._log.read(repair, self._fold)
            except self._log.read_errors:
                return  # the log said so; counted as last read until it is back
            self._take(change)

    def _take(self, change: Change) -> None:
        """Apply what a read of the log found."""
        if isinstance(change, Reload):
            self._load(change)
        elif change is not None:
            self._apply(self._parse(change), reset=False)

    def _fold(self, generation: int) -> dict:
        """Everything replayed, as a snapshot: totals, and hours and readers of the last RECENT_HOURS."""
        now_hour = int(self.clock() // 3600)
        recent = {
            aid: [[h, n] for h, n in sorted(hours.items()) if h > now_hour - RECENT_HOURS]
            for aid, hours in self._recent.items()
        }
        readers = {
            key: [[reader, h] for reader, h in seen.items() if h > now_hour - RECENT_HOURS]
            for key, seen in self._readers.items()
        }
        return {"generation": generation, "totals": dict(self._totals), "recent": recent,
                "readers": {key: seen for key, seen in readers.items() if seen}}

    def _load(self, reload: Reload) -> None:
        """Start again from a snapshot and the lines after it."""
        snapshot = reload.snapshot
        self._totals = defaultdict(int, snapshot.get("totals", {}))
        self._recent = defaultdict(lambda: defaultdict(int))
        for aid, hours in snapshot.get("recent", {}).items():
            self._recent[aid] = defaultdict(int, {h: n for h, n in hours})
        self._readers = defaultdict(dict, {key: dict(seen) for key, seen in snapshot.get("readers", {}).items()})
        self.revision += 1
        events = self._admit(self._parse(reload.lines))
        for aid, n, t in events:
            self._totals[aid] += n
            self._recent[aid][int(t // 3600)] += n
        self._drop_pending_counted_elsewhere()
        for listener in self._listeners:
            listener(self._history(), True)

    @staticmethod
    def _parse(lines: list[dict]) -> list[LoggedEvent]:
        """The events in log lines (the header line holds none)."""
        events = []
        for line in lines:
            for aid, t, n in line.get("v", ()):
                events.append((aid, int(n), float(t), None))
            for key, t, reader in line.get("r", ()):
                events.append((key, 1, float(t), reader))
        return events

    def _last_hour(self, key: str, reader: str) -> int:
        return self._readers.get(key, {}).get(reader, -1)

    def _admit(self, events: list[LoggedEvent]) -> list[tuple[str, int, float]]:
        """The events that count: a reader's first for its key in an hour later than any counted."""
        admitted = []
        for key, n, t, reader in events:
            if reader is not None:
                hour = int(t // 3600)
                if self._last_hour(key, reader) >= hour:
                    continue
                self._readers[key][reader] = hour
            admitted.append((key, n, t))
        return admitted

    def _drop_pending_counted_elsewhere(self) -> None:
        """Our pending reader events that a line just replayed already counted (that reader, key
        and hour, or a later hour): replayed after it, ours would be dropped by every process, so
        they go now and total() does not count them twice until our next flush."""
        counted = [p for p in self._pending_readers if self._last_hour(p[0], p[2]) >= p[1]]
        for key, hour, reader in counted:
            del self._pending_readers[(key, hour, reader)]
            self._pending_total[key] -= 1
            if not self._pending_total[key]:
                del self._pending_total[key]
            self._pending_count -= 1

    def _apply(self, events: list[LoggedEvent], reset: bool) -> None:
        events = self._admit(events)
        if events:
            self.revision += 1
            self._drop_pending_counted_elsewhere()
        for aid, n, t in events:
            self._totals[aid] += n
            self._recent[aid][int(t // 3600)] += n
        if events:
            hourly = [(aid, n, _hour_time(int(t // 3600))) for aid, n, t in events]
            for listener in self._listeners:
                listener(hourly, reset)

    def _history(self) -> list[tuple[str, int, float]]:
        """Recent events as hourly events, for a listener starting from scratch."""
        return [(aid, n, _hour_time(h)) for aid, hours in self._recent.items() for h, n in hours.items()]


def _hour_time(hour: int) -> float:
    """When listeners are told an hour's events happened: at its start. The snapshot keeps hours,
    not seconds, so a process told the events as they came and one that started from the snapshot
    must be told the same time, or their decayed scores (trending, 大家都在搜) would differ."""
    return hour * 3600.0

