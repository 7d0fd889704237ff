"""The in-process figures on the bench's store, in a process of their own (bench/procs.in_child):
the service's search scorer against tantivy over the same articles, and related lookups.

The store and its indexes are opened as the service opens them (Store, then domain Indexes, which
load what the first start saved), so the scorer timed is the one the service serves with, through
SearchIndex._search: the answer cache is bypassed and every query is scored afresh. tantivy
indexes the same articles' tokens (bench.search_bench.token_rows; cached in var/bench, as
tokenising a million articles takes minutes) and answers the same queries the same way.
"""

from __future__ import annotations

import os
import pickle
import random
import statistics
import time
from pathlib import Path


def _token_batch(articles, lo: int, hi: int) -> list[tuple[str, str]]:
    from .search_bench import token_rows

    return token_rows(articles[lo:hi])


def _rows(records, cache: Path) -> tuple[list[tuple[str, str]], float, bool]:
    from service.domain.forked import as_sequence, batch_map

    started = time.perf_counter()
    if cache.exists():
        return pickle.loads(cache.read_bytes()), time.perf_counter() - started, True
    # Batches read by position from the store's table: a million records are never all decoded at once.
    parts = batch_map(_token_batch, as_sequence(records), 4096, os.cpu_count() or 1)
    rows = [row for part in parts for row in part]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(rows))
    return rows, time.perf_counter() - started, False


def _times(run, repeat: int) -> dict:
    """The mix with the queries of only very common words, and those alone (ms)."""
    from .corpus import COMMON_QUERIES, QUERIES
    from .search_bench import time_queries

    every = time_queries(run, list(QUERIES) + list(COMMON_QUERIES), repeat)
    common = time_queries(run, list(COMMON_QUERIES), repeat)
    return {**every, "common_p99": common["p99"], "common_cpu_p99": common["cpu_p99"]}


def measure(data_dir: str, tokens_cache: str, repeat: int) -> dict:
    from service.domain import indexes
    from service.domain.store.store import Store

    from .related_bench import time_lookups
    from .search_bench import tantivy_search, warm_up

    warm_up()
    out: dict = {}
    started = time.perf_counter()
    store = Store(Path(data_dir)).open(replay=False, resumable=indexes.saved(Path(data_dir)))
    ix = indexes.Indexes(store, dict).open()
    out["open_s"] = time.perf_counter() - started
    out["ours"] = _times(lambda q: ix.search._search(q, None, None, False, 0, 20), repeat)

    records = store.all("articles")
    ids = sorted(i for i, a in records.items() if a.get("status") == "published")
    ix.related.related(ids[0])  # derives the weighed vectors once, as a worker's first lookup does
    wall, cpu = time_lookups(ix.related, random.Random(1).sample(ids, min(2000, len(ids))))
    out["related"] = {"p50": 1000 * statistics.median(wall), "p99": 1000 * _p99(wall),
                      "cpu_p50": 1000 * statistics.median(cpu), "cpu_p99": 1000 * _p99(cpu), "lookups": len(wall)}

    rows, tokenise_s, cached = _rows(records, Path(tokens_cache))
    started = time.perf_counter()
    run = tantivy_search(rows)
    out["tantivy_build_s"] = time.perf_counter() - started
    out["tokenise_s"], out["tokens_cached"] = tokenise_s, cached
    out["tantivy"] = _times(run, repeat)
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
