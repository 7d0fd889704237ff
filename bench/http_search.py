"""Searches no cache has seen, through HTTP: queries made of the corpus's own title words, each
sent once, timed at the client (connection, request, scoring, answer).

Every search the service has answered is remembered until the index changes, so a benchmark that
repeats its queries measures the cache. These are pairs of words from the sampled articles'
titles, drawn by a seeded generator (the same corpus gives the same queries), none of them a
query any other bench or the soak sends.
"""

from __future__ import annotations

import random
import time
import urllib.parse

from .procs import Server


def distinct_queries(titles: list[str], count: int, seen: set[str], seed: int = 3) -> list[str]:
    from service.domain.text import search_tokens

    words = sorted({w for t in titles for w in search_tokens(t) if len(w) > 1 and not w.isascii()})
    if len(words) < 2:
        raise ValueError("too few title words to make queries from")
    rng = random.Random(seed)
    pairs: set[frozenset[str]] = set()
    out: list[str] = []
    for _ in range(count * 100):  # bounded: a tiny vocabulary cannot loop for ever
        if len(out) == count:
            break
        a, b = rng.sample(words, 2)
        query = f"{a} {b}"
        if frozenset((a, b)) in pairs or query in seen or f"{b} {a}" in seen:
            continue
        pairs.add(frozenset((a, b)))
        out.append(query)
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(server: Server, queries: list[str]) -> dict:
    """Each query once, one after another; latencies in ms."""
    latencies, failed = [], []
    for q in queries:
        target = "/api/v1/search?q=" + urllib.parse.quote(q, safe="")
        started = time.perf_counter()
        status, _, _ = server.get(target)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            failed.append(f"{q}: {status}")
    return {"queries": len(queries), "p50": _percentile(latencies, .5), "p99": _percentile(latencies, .99),
            "max": max(latencies, default=float("nan")), "non_200_samples": failed[:5], "non_200": len(failed)}
