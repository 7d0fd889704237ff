"""The one bounded cache type: at most maxsize entries, the least recently used go first."""

from __future__ import annotations

import threading

from service.domain.lru import LRU


def test_it_keeps_at_most_maxsize_and_drops_the_least_recently_used():
    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_none_is_an_answer_like_any_other():
    cache, calls = LRU(4), []
    for _ in range(3):
        assert cache.get_or_put("k", lambda: calls.append(1)) is None
    assert calls == [1]


def test_clear_pop_and_values():
    cache = LRU(3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.pop("b") == "B" and cache.pop("b", "gone") == "gone"
    assert sorted(cache.values()) == ["A", "C"]
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


def test_threads_never_break_the_bound():
    cache = LRU(50)

    def fill(offset: int) -> None:
        for i in range(2000):
            cache.get_or_put((offset, i % 120), lambda i=i: i)

    threads = [threading.Thread(target=fill, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_with_weigh_the_bound_is_the_entries_weight():
    cache = LRU(10, weigh=len)
    cache.put("a", [1] * 4)
    cache.put("b", [1] * 4)
    cache.put("a", [1] * 2)  # replaced: its old weight goes
    assert cache.weight == 6
    cache.put("c", [1] * 5)  # 11: the least recently used (b) goes
    assert "b" not in cache and cache.weight == 7
    cache.put("d", [1] * 30)  # heavier than the bound alone: kept, and all else dropped
    assert list(cache.values()) == [[1] * 30] and cache.weight == 30
    assert cache.pop("d") == [1] * 30 and cache.weight == 0
