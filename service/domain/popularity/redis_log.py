"""An event counter's log in Redis, shared by every worker on every machine (REDIS_URL).

The same lines as the file log (file_log.py), so the counter (events.py)
counts the same way on either:

* <prefix><name>:log is a stream: flush() XADDs one entry per batch, its
  field "line" holding the JSON line the file log would append. Redis orders
  the entries, so every process replays the same lines in the same order:
  the same totals, hours, admitted readers and listener events as one
  machine's file log would give for those lines.
* <prefix><name>:snapshot is a hash: "doc" (the file snapshot's JSON: totals,
  recent hours, readers), "generation", "upto" (the last stream id folded into
  doc) and "fold", a random id naming this fold. A read is one MULTI/EXEC
  (fold id, entries after our last id, stream length), so it never mixes two
  folds; a process whose fold id changed reloads: doc, then the entries after
  "upto".
* Compaction, past COMPACT_ENTRIES entries, is one Lua script: if the fold is
  still the one the compactor caught up with, store the new doc and drop the
  entries up to the compactor's last id. Redis runs a script whole, so a
  reader sees the old fold or the new one, never half of one; entries other
  processes XADD meanwhile come after that id and stay; a second compactor's
  script finds another fold and does nothing.

Redis away: no error reaches a request. record() keeps buffering, up to
MAX_PENDING entries (a key and second, or a key, hour and reader: about 20 MB);
beyond, events are dropped until a flush gets through. flush() and refresh()
say so once per outage (outages.py) and skip Redis for a couple of seconds
rather than each wait for a timeout; reads meanwhile answer from what was last
replayed. When Redis is back the buffer goes out as one entry and everyone
catches up. An XADD whose reply was lost (the connection dropped after Redis
took it) is sent again: its events count twice, as rare as it sounds.

A Redis restart: this Redis keeps nothing on disk, so the stream and the
snapshot vanish. Every process notices (its fold id is gone) and keeps
counting what it last replayed; the first flush after the restart stores that
process's fold as the new snapshot (the same script, expecting no fold) and
every other process reloads from it. So while the service keeps running a
restart loses only what the first flusher had not replayed yet - a few
seconds of other processes' flushes - and the readers it had seen, counted
again if they search again that hour. If the service restarts too while
Redis is empty, the shared counts start again from zero. We do not keep a
copy in each node's DATA_DIR: every node would hold a different, partial
fold, and which one should win is not a question with a right answer. For
page views and searches that is acceptable: they are not money, trending and
大家都在搜 weigh the last day or three (24 h and 72 h half-lives) so they are
right again within days, and an operator who wants more turns on Redis
persistence (appendonly), which this code needs nothing for. Redis must not
evict these keys: they have no expiry, so maxmemory-policy noeviction (the
default) or any volatile-* policy keeps them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import orjson
from redis import Redis
from redis.exceptions import RedisError

from ..outages import Outage
from .event_log import Change, Reload
from .events import EventCounter

log = logging.getLogger("service.events")

COMPACT_ENTRIES = 10_000  # flushed batches: at 2 s per worker, an hour or so of ten workers
MAX_PENDING = 100_000

# KEYS: snapshot hash, stream. ARGV: the fold expected ("" for none: a seed after a restart),
# the new fold id, its generation, its doc, and the last stream id it holds ("" for none).
# A seed keeps that id only if the stream still holds it: after a restart the stream is new.
_FOLD = """
local current = redis.call('HGET', KEYS[1], 'fold')
if (current or '') ~= ARGV[1] then return false end
local upto = ARGV[5]
if upto == '' or (ARGV[1] == '' and #redis.call('XRANGE', KEYS[2], upto, upto) == 0) then upto = '0-0' end
redis.call('HSET', KEYS[1], 'fold', ARGV[2], 'generation', ARGV[3], 'upto', upto, 'doc', ARGV[4])
if upto ~= '0-0' then
  redis.call('XTRIM', KEYS[2], 'MINID', upto)
  redis.call('XDEL', KEYS[2], upto)
end
return upto
"""


def redis_counter(client: Redis, prefix: str, name: str, **options) -> EventCounter:
    """An EventCounter on a Redis log, buffering at most MAX_PENDING entries while Redis is away."""
    compact_entries = options.pop("compact_entries", COMPACT_ENTRIES)
    options.setdefault("max_pending", MAX_PENDING)
    return EventCounter(None, name, log=RedisEventLog(client, prefix, name, compact_entries), **options)


class RedisEventLog:
    errors: tuple[type[Exception], ...] = (RedisError,)
    read_errors: tuple[type[Exception], ...] = (RedisError,)

    def __init__(self, client: Redis, prefix: str, name: str, compact_entries: int = COMPACT_ENTRIES):
        self.client, self.name, self.compact_entries = client, name, compact_entries
        self.stream_key = f"{prefix}{name}:log"
        self.snapshot_key = f"{prefix}{name}:snapshot"
        self.outage = Outage(f"Redis ({self.stream_key})", log,
                             "events are counted in memory and sent when it is back")
        self._fold_script = client.register_script(_FOLD)
        self._position: tuple[str, int, str] | None = None  # (fold id, generation, last stream id read)
        self._length = 0

    def ready(self) -> bool:
        return self.outage.ready()

    def failed(self, what: str, exc: Exception) -> None:
        if not isinstance(exc, RedisError):  # Redis failing was said once, by the outage
            log.warning("%s: %s: %s", self.stream_key, what, exc)

    def append(self, entry: dict) -> None:
        self._call(self.client.xadd, self.stream_key, {"line": orjson.dumps(entry)})

    def read(self, repair: bool, fold: Callable[[int], dict]) -> Change:
        if self._position is None:
            return self._load(repair, fold)
        fold_id, generation, last = self._position
        pipe = self.client.pipeline(transaction=True)
        pipe.hget(self.snapshot_key, "fold")
        pipe.xrange(self.stream_key, f"({last}", "+")
        pipe.xlen(self.stream_key)
        current, entries, self._length = self._call(pipe.execute)
        if current is None or current.decode() != fold_id:
            return self._load(repair, fold)  # compacted, or Redis restarted
        if not entries:
            return None
        self._position = (fold_id, generation, entries[-1][0].decode())
        return _lines(entries)

    def oversized(self) -> bool:
        return self._length > self.compact_entries

    def compact(self, apply: Callable[[Change], None], fold: Callable[[int], dict], force: bool) -> None:
        apply(self.read(True, fold))
        if self._position is None or (not force and not self.oversized()):
            return
        fold_id, generation, last = self._position
        if self._store_fold(fold_id, generation + 1, fold, last) is not None:
            apply(self._load(True, fold))
        # else another process compacted first: the next read reloads from its fold

    def _load(self, repair: bool, fold: Callable[[int], dict]) -> Reload | None:
        """The snapshot and every entry after it; with `repair`, none in Redis makes ours the snapshot."""
        meta, entries = self._snapshot_and_entries()
        if not meta:
            if not repair:
                return None  # read as it was: the next flush stores a fold
            generation = self._position[1] + 1 if self._position else 0
            self._store_fold("", generation, fold, self._position[2] if self._position else "")
            meta, entries = self._snapshot_and_entries()
            if not meta:
                return None
        upto = _id(meta[b"upto"])
        entries = [e for e in entries if _id(e[0]) > upto]
        last = entries[-1][0].decode() if entries else meta[b"upto"].decode()
        self._position = (meta[b"fold"].decode(), int(meta[b"generation"]), last)
        self._length = len(entries)
        return Reload(orjson.loads(meta[b"doc"]), _lines(entries))

    def _snapshot_and_entries(self) -> tuple[dict, list]:
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(self.snapshot_key)
        pipe.xrange(self.stream_key, "-", "+")
        return self._call(pipe.execute)

    def _store_fold(self, expected: str, generation: int, fold: Callable[[int], dict], last: str) -> bytes | None:
        doc = orjson.dumps(fold(generation))
        return self._call(self._fold_script, [self.snapshot_key, self.stream_key],
                          [expected, secrets.token_hex(8), generation, doc, last])

    def _call(self, fn, *args):
        try:
            result = fn(*args)
        except RedisError as exc:
            self.outage.failed(exc)
            raise
        self.outage.succeeded()
        return result


def _id(entry_id: bytes) -> tuple[int, int]:
    ms, _, seq = entry_id.partition(b"-")
    return int(ms), int(seq or 0)


def _lines(entries: list) -> list[dict]:
    """The JSON lines of stream entries; one that is not JSON is skipped, as in the file log."""
    lines = []
    for _, fields in entries:
        try:
            lines.append(orjson.loads(fields[b"line"]))
        except (KeyError, orjson.JSONDecodeError):
            continue
    return lines


def shared_secret(client: Redis, prefix: str) -> Callable[[bytes], bytes | None]:
    """What ReaderTokens asks to agree on one secret: the first proposal kept in Redis wins.
    None while Redis cannot be reached (this machine then uses its own, and says so)."""
    key = f"{prefix}readers-key"

    def agree(candidate: bytes) -> bytes | None:
        try:
            client.set(key, candidate, nx=True)
            return client.get(key)
        except RedisError as exc:
            log.warning("cannot agree on the readers' secret in Redis (%s): this machine uses its own", exc)
            return None

    return agree
