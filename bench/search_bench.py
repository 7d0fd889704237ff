"""Search latency, build time and memory: our numpy index vs tantivy and FTS5.

Every engine gets the same synthetic corpus (bench/corpus.py) and the same
tokens (service.domain.text.search_tokens; tantivy uses its whitespace
tokenizer, FTS5 unicode61 over space-joined words), ranks with title
weighted over body, ORs the query words and counts all matches. Each
engine runs in a fresh process so its RSS delta is its own. Latency is
reported as wall time and as thread CPU time: the second is what to read
on a shared, busy machine.

Our index is timed through SearchIndex._search, the scorer under the
answer cache that search() consults, so every timed query is scored
afresh. Queries of only very common words (医保 is in nearly every
article: COMMON_QUERIES) are reported on rows of their own, as they are
the worst case of an exhaustive scorer.

The tokenised corpus (for the baselines) and our built index are cached
in var/bench, so a size is tokenised once (minutes at 1,000,000); a
cached index reports its load time as the build time (note "cached").

    python -m bench.search_bench [--sizes 10000,100000,1000000] [--repeat 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import hashlib
import os
import pickle
import sqlite3
import statistics
import time
from pathlib import Path

from .paths import CACHE
from .procs import in_child

ENGINES = ("numpy", "tantivy", "fts5")


def _rss_mb() -> float:
    """Resident MB after handing freed heap back to the OS.

    Without malloc_trim the build's freed temporaries stay resident and the
    delta says more about glibc than about the index.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _corpus_key(size: int) -> str:
    """Names the cached files of one corpus: its size and the code generating it."""
    from . import corpus

    digest = hashlib.sha256(Path(corpus.__file__).read_bytes()).hexdigest()[:12]
    return f"{size}-{digest}"


def timed_mixes(run, repeat: int) -> dict:
    """The query mix, and on their own the queries of only very common words."""
    from .corpus import COMMON_QUERIES, QUERIES

    result = time_queries(run, QUERIES, repeat)
    common = time_queries(run, COMMON_QUERIES, repeat)
    result.update(common_cpu_p50=common["cpu_p50"], common_cpu_p99=common["cpu_p99"])
    return result


def time_queries(run, queries: list[str], repeat: int) -> dict:
    for q in queries:  # warm caches and lazy structures
        run(q)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        for q in queries:
            w, c = time.perf_counter(), time.thread_time()
            run(q)
            cpu.append((time.thread_time() - c) * 1000)
            wall.append((time.perf_counter() - w) * 1000)
    return {
        "p50": statistics.median(wall), "p99": _percentile(wall, 0.99),
        "cpu_p50": statistics.median(cpu), "cpu_p99": _percentile(cpu, 0.99),
    }


def _tokenised(size: int, cache: Path) -> list[tuple[str, str]]:
    """(title words, other words) per article, space-joined, cached on disk."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from .corpus import generate

    rows = token_rows(generate(size))
    cache.write_bytes(pickle.dumps(rows))
    return rows


def token_rows(articles) -> list[tuple[str, str]]:
    """What the baselines index of each article: its title's words, and those of the rest."""
    from service.domain.text import search_tokens

    rows = []
    for a in articles:
        rest = " ".join(filter(None, [a.get("answer"), a.get("summary"), " ".join(a.get("tags") or []),
                                      a.get("body")]))
        rows.append((" ".join(search_tokens(a["title"])), " ".join(search_tokens(rest))))
    return rows


def _query_words(q: str) -> list[str]:
    from service.domain.text import search_text, token_spans

    return list(dict.fromkeys(w for w, _, _ in token_spans(search_text(q))))


def warm_up() -> None:
    """Load the segmenter, pinyin and OpenCC tables outside the measurement."""
    from service.domain import text
    from service.domain.search import pinyin as search_pinyin

    text.search_tokens("異地就醫備案 医保卡")
    search_pinyin.title_keys("医保卡")


def _built_index(size: int):
    """Our index of the corpus, from var/bench when built before; (index, build s, RSS MB, cached)."""
    workers = int(os.environ.get("SEARCH_BENCH_WORKERS", "1"))
    from service.domain.search.index import SearchIndex

    from .corpus import generate

    saved = CACHE / f"search-index-{_corpus_key(size)}.arrays"
    warm_up()
    gc.collect()
    before = _rss_mb()
    start = time.perf_counter()
    index = SearchIndex.load(saved) if saved.exists() else None
    if index is not None:
        return index, *_build_cost(before, start), True
    articles = generate(size)
    before = _rss_mb()
    start = time.perf_counter()
    index = SearchIndex()
    index.build(articles, workers=workers)
    build, memory = _build_cost(before, start)
    del articles
    CACHE.mkdir(parents=True, exist_ok=True)
    index.save(saved)
    return index, build, memory, False


def _run_numpy(size: int, repeat: int, _cache: Path) -> dict:
    from .corpus import generate

    index, build, memory, from_cache = _built_index(size)

    def scored(q: str):  # the scorer itself: search() remembers answers until the index changes
        return index._search(q, None, None, False, 0, 20)

    result = timed_mixes(scored, repeat)
    updates = []
    for n, article in enumerate(generate(200, seed=99)):
        article["id"] = f"a{(n * 7) % size:06d}"  # replace existing articles (generate's ids)
        t = time.perf_counter()
        index.upsert(article)
        updates.append((time.perf_counter() - t) * 1000)
    # Replaced versions stay in the postings until compaction: document frequencies are then
    # counted over live documents only, which costs a pass over each query term's postings.
    from .corpus import QUERIES

    edited = time_queries(scored, QUERIES, repeat)
    suggest = time_queries(lambda p: index._suggest(p, 10, ()), ["医", "佛山", "yib", "gz", "2025年"], repeat)
    result.update(build=build, memory=memory, from_cache=from_cache, upsert_p50=statistics.median(updates),
                  edited_cpu_p50=edited["cpu_p50"], edited_cpu_p99=edited["cpu_p99"],
                  upsert_p99=_percentile(updates, 0.99), suggest_p99=suggest["p99"],
                  arrays=index.nbytes() / 2**20, cached=index.cached_nbytes() / 2**20)
    return result


def _baseline_start(size: int, cache: Path) -> tuple[list, float, float]:
    """The same tokens for every baseline, then the RSS and the clock its build starts from."""
    rows = _tokenised(size, cache)
    warm_up()
    gc.collect()
    return rows, _rss_mb(), time.perf_counter()


def _build_cost(before: float, start: float) -> tuple[float, float]:
    """Seconds since the build started, and the RSS it added (MB)."""
    build = time.perf_counter() - start
    gc.collect()
    return build, _rss_mb() - before


def _run_tantivy(size: int, repeat: int, cache: Path) -> dict:
    rows, before, start = _baseline_start(size, cache)
    run = tantivy_search(rows)
    build, memory = _build_cost(before, start)
    result = timed_mixes(run, repeat)
    result.update(build=build, memory=memory)
    return result


def tantivy_search(rows: list[tuple[str, str]]):
    """A tantivy index of the rows (token_rows), and the function that queries it as ours is
    queried: the words ORed, title weighted over body, top 20 and the count of all matches."""
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("body", tokenizer_name="whitespace")
    index = tantivy.Index(builder.build())
    writer = index.writer(heap_size=256 * 2**20, num_threads=1)
    for title, body in rows:
        writer.add_document(tantivy.Document(title=title, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def run(q: str):
        words = _query_words(q)
        if not words:
            return None
        query = index.parse_query(" ".join(words), ["title", "body"], field_boosts={"title": 3.0})
        return searcher.search(query, 20, count=True)

    return run


def _run_fts5(size: int, repeat: int, cache: Path) -> dict:
    rows, before, start = _baseline_start(size, cache)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='unicode61')")
    db.executemany("INSERT INTO docs(title, body) VALUES (?, ?)", rows)
    db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    db.commit()
    build, memory = _build_cost(before, start)

    def run(q: str):
        words = _query_words(q)
        if not words:
            return None
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        total = db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (match,)).fetchone()
        page = db.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 3.0, 1.0) LIMIT 20",
            (match,),
        ).fetchall()
        return total, page

    result = timed_mixes(run, repeat)
    result.update(build=build, memory=memory)
    return result


def _child(engine: str, size: int, repeat: int, cache: str) -> dict:
    runner = {"numpy": _run_numpy, "tantivy": _run_tantivy, "fts5": _run_fts5}[engine]
    return runner(size, repeat, Path(cache))


def _measure(engine: str, size: int, repeat: int, cache: Path) -> dict:
    return in_child(_child, engine, size, repeat, str(cache))


def _tokenise_seconds(size: int, cache: Path) -> float:
    start = time.perf_counter()
    _tokenised(size, cache)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=10, help="passes over the query mix")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--workers", type=int, default=1,
                        help="tokenising processes for our build (baselines tokenise in one)")
    args = parser.parse_args(argv)
    os.environ["SEARCH_BENCH_WORKERS"] = str(args.workers)
    from .corpus import COMMON_QUERIES, QUERIES

    print(f"{len(QUERIES)} queries (and {len(COMMON_QUERIES)} of only common words) x {args.repeat} passes; "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}\n")
    print("| articles | engine | build s | RSS delta MB | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | "
          "common-only CPU p50/p99 ms | notes |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    CACHE.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        cache = CACHE / f"search-tokens-{_corpus_key(size)}.pickle"
        engines = args.engines.split(",")
        reused = cache.exists()
        tokenise = _tokenise_seconds(size, cache) if {"tantivy", "fts5"} & set(engines) else 0.0
        for engine in engines:
            r = _measure(engine, size, args.repeat, cache)
            build = r["build"] + (tokenise if engine != "numpy" else 0.0)
            if engine == "numpy":
                notes = (f"{'cached, ' if r['from_cache'] else ''}arrays {r['arrays']:.0f} MB "
                         f"(+ {r['cached']:.0f} MB built by queries); "
                         f"upsert p50/p99 {r['upsert_p50']:.1f}/{r['upsert_p99']:.1f} ms; "
                         f"after 200 upserts CPU p50/p99 {r['edited_cpu_p50']:.2f}/{r['edited_cpu_p99']:.2f} ms; "
                         f"suggest p99 {r['suggest_p99']:.2f} ms")
            else:
                notes = (f"build = {tokenise:.1f} s {'cached ' if reused else ''}tokens"
                         f" + {r['build']:.1f} s indexing")
            print(f"| {size:,} | {engine} | {build:.1f} | {r['memory']:.0f} | {r['p50']:.2f} | "
                  f"{r['p99']:.2f} | {r['cpu_p50']:.2f} | {r['cpu_p99']:.2f} | "
                  f"{r['common_cpu_p50']:.2f}/{r['common_cpu_p99']:.2f} | {notes} |", flush=True)

if __name__ == "__main__":
    main()
