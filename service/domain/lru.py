"""One bounded cache type for the whole service: a least-recently-used mapping.

Every cache of derived answers (the search index's, the catalogue's, the related
lists', the HTTP layer's) is one of these, held by the object whose state it
caches, so its bounds keep a worker's memory flat whatever clients ask for, and
whoever changes that state clears it. Pure functions use functools.lru_cache.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any

_MISSING = object()


class LRU:
    """A mapping of at most `maxsize` entries (or, with `weigh`, of entries weighing at most
    `maxsize` together: a page of 100 articles holds more than one of 5): adding one more drops
    the least recently used. A lock makes each call atomic, for a threaded server."""

    __slots__ = ("maxsize", "_entries", "_lock", "_weigh", "_weights", "weight")

    def __init__(self, maxsize: int, weigh: Callable[[Any], int] | None = None):
        self.maxsize = maxsize
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._weigh = weigh
        self._weights: dict[Hashable, int] = {}
        self.weight = 0  # what the entries weigh (their number, without weigh)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._entries.pop(key, _MISSING)
            if value is _MISSING:
                return default
            self._entries[key] = value  # now the most recently used
            return value

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep `value` under `key`; returns it."""
        weight = self._weigh(value) if self._weigh is not None else 1
        with self._lock:
            self._drop(key)
            self._entries[key] = value
            self._weights[key] = weight
            self.weight += weight
            while self.weight > self.maxsize and len(self._entries) > 1:
                self._drop(next(iter(self._entries)))
        return value

    def _drop(self, key: Hashable) -> Any:
        value = self._entries.pop(key, _MISSING)
        if value is not _MISSING:
            self.weight -= self._weights.pop(key)
        return value

    def get_or_put(self, key: Hashable, make: Callable[[], Any]) -> Any:
        value = self.get(key, _MISSING)
        return self.put(key, make()) if value is _MISSING else value

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._drop(key)
            return default if value is _MISSING else value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weights.clear()
            self.weight = 0

    def values(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._entries.values()))

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
