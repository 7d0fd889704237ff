"""Title suggestions at scale: build, first suggest after a load, latency, memory.

Builds the search index over the synthetic corpus (bench/corpus.py), saves it,
then in a fresh process loads it and asks suggest() the prefixes a reader
types: text, full pinyin, initials, words inside titles, one character,
nonsense. Reports the build, the load, the first suggest (what the first
reader waits for), p50/p99 of the rest, and the RSS each step adds.

    python -m bench.suggest_bench [--size 100000] [--workers 2] [--prefixes 600] [--reference]

--reference also builds the list-based suggester the arrays replaced
(tests/suggest_reference.py) in the loaded process, as the old first
suggest did, and times both on the same prefixes, interleaved, so a busy
machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import time
from pathlib import Path

from .paths import CACHE
from .search_bench import _percentile, _rss_mb


def prefixes(titles: list[str], count: int, seed: int = 3) -> list[str]:
    """What readers type: title openings, their pinyin and initials, words inside, nonsense."""
    from service.domain.search.pinyin import spellings
    from service.domain.search.suggest import keys_of

    rng = random.Random(seed)
    out: list[str] = []
    for title in rng.sample(titles, count):
        norm, full, initials = keys_of(title)
        kind = rng.randrange(6)
        if kind == 0:
            out.append(norm[: rng.randint(1, 6)])
        elif kind == 1:
            out.append(full[: rng.randint(2, 14)])
        elif kind == 2:
            out.append(initials[: rng.randint(1, 5)])
        elif kind == 3 and len(norm) > 4:
            at = rng.randrange(1, len(norm) - 2)
            out.append(norm[at:at + rng.randint(2, 4)])
        elif kind == 4:
            out.append(norm[:2] + spellings(norm[2:4])[0])  # mixed: 广州yibao
        else:
            out.append(rng.choice(["xyzq", "医保qq", "zzzz", "卡卡卡卡", "q"]))
    return out


def _build(size: int, workers: int, path: Path, queue) -> None:
    from service.domain.search.index import SearchIndex

    from . import corpus

    articles = corpus.generate(size)
    before = _rss_mb()
    index = SearchIndex()
    started = time.perf_counter()
    index.build(articles, workers=workers)
    built = time.perf_counter() - started
    index.save(path)
    queue.put({"build_s": built, "build_rss_mb": _rss_mb() - before, "file_mb": path.stat().st_size / 2**20,
               "titles": [a["title"] for a in articles]})


def _interleaved(index, asked: list[str]) -> dict:
    """The arrays and the list-based reference timed prefix by prefix on one index."""
    from service.domain.search.planning import clean_query
    from tests.suggest_reference import ReferenceSuggester

    docs = index.docs
    before = _rss_mb()
    started = time.perf_counter()
    reference = ReferenceSuggester(((d, t) for d, t in enumerate(docs.titles) if docs.ids[d] is not None),
                                   lambda d: docs.ids[d])
    built = time.perf_counter() - started
    grown = _rss_mb() - before
    ours, theirs, differ = [], [], 0
    for prefix in asked:
        query = clean_query(prefix)
        started = time.perf_counter()
        a = [docs.ids[d] for d in index.suggester.candidates(query, docs)]
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        b = [docs.ids[d] for d in reference.candidates(query)]
        theirs.append(time.perf_counter() - started)
        differ += a != b
    return {"reference_build_s": built, "reference_rss_mb": grown, "candidates_differ": differ,
            **{f"{name}_{q}_ms": 1000 * _percentile(times, p)
               for name, times in (("arrays", ours), ("reference", theirs))
               for q, p in (("p50", 0.5), ("p99", 0.99))}}


def _serve(path: Path, asked: list[str], reference: bool, queue) -> None:
    from service.domain.search.index import SearchIndex

    base = _rss_mb()
    started = time.perf_counter()
    index = SearchIndex.load(path)
    loaded = time.perf_counter() - started
    after_load = _rss_mb()
    started = time.perf_counter()
    index.suggest(asked[0])
    first = time.perf_counter() - started
    after_first = _rss_mb()
    times = []
    for prefix in asked[1:]:
        index._answers.clear()  # each one computed, not remembered
        started = time.perf_counter()
        index.suggest(prefix)
        times.append(time.perf_counter() - started)
    suggester = getattr(index, "suggester", None) or getattr(index, "_suggester", None)
    arrays = suggester.nbytes() if suggester is not None and hasattr(suggester, "nbytes") else None
    compared = _interleaved(index, asked) if reference else {}
    queue.put({**compared,
        "load_s": loaded, "load_rss_mb": after_load - base, "first_suggest_s": first,
        "first_suggest_rss_mb": after_first - after_load,
        "p50_ms": 1000 * statistics.median(times), "p99_ms": 1000 * _percentile(times, 0.99),
        "max_ms": 1000 * max(times), "suggester_array_mb": arrays / 2**20 if arrays is not None else None,
    })


def _in_process(target, *args) -> dict:
    queue = multiprocessing.get_context("fork").Queue()
    proc = multiprocessing.get_context("fork").Process(target=target, args=(*args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prefixes", type=int, default=600)
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"suggest-{args.size}.arrays"
    built = _in_process(_build, args.size, args.workers, path)
    asked = prefixes(built.pop("titles"), args.prefixes)
    served = _in_process(_serve, path, asked, args.reference)
    print(json.dumps({"size": args.size, **built, **served}, indent=1))


if __name__ == "__main__":
    main()
