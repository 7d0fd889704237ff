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
    """A mapping of at most `maxsize` entries: adding one more drops the least
    recently used. A lock makes each call atomic, for a threaded server."""

    __slots__ = ("maxsize", "_entries", "_lock")

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._entries: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._entries.pop(key, _MISSING)
            if value is _MISSING:
                return default
            self._entries[key] = value  # now the most recently used
            return value

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep `value` under `key`; returns it."""
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = value
            if len(self._entries) > self.maxsize:
                del self._entries[next(iter(self._entries))]
        return value

    def get_or_put(self, key: Hashable, make: Callable[[], Any]) -> Any:
        value = self.get(key, _MISSING)
        return self.put(key, make()) if value is _MISSING else value

    def pop(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            return self._entries.pop(key, default)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._entries.values()))

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
