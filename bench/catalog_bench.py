"""Article listings (service/domain/content/catalog.py) on a large store: build, writes, latency, memory.

    PYTHONPATH=. .venv/bin/python -m bench.catalog_bench [--size 100000] [--requests 300] [--seed 7]

The store is bench/store_corpus.py's (generated once into var/bench/store-<size>, then reused), copied
to a temporary DATA_DIR so the writes measured here never touch the cache. One process, no HTTP:

* build: `catalog.build()`, which the service calls in Services.open (in the gunicorn master, before
  the workers fork: they share what it made), when the catalog has one;
* first list: the first `catalog.articles()` (the default query, page 1) after that, so whatever the
  catalog makes lazily is in it;
* after a write: one article's title (or status, or topics) patched through `Store.write`, then the
  same first page again, and a filtered one: the median of --writes rounds;
* filtered lists: --requests random queries (topic, region, category, tag, status, dates, drafts, all
  four sorts, pages 1-5 of 20), each answered as the API does (the total, then one page of records):
  p50/p99 wall time. No write in between, so a catalog that keeps results may answer repeats from them;
* memory: what the catalog holds after all of the above (tracemalloc, numpy's arrays included), and
  its peak while building, in a second pass over the same store.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from service.domain.content.catalog import ArticleQuery, Catalog
from service.domain.content.regions import normalise_region
from service.domain.store.store import Store

from .paths import CACHE, ROOT

PER_PAGE = 20
SORTS = ("-published_at", "published_at", "title", "-views")


def corpus_store(size: int) -> Path:
    """The cached store of `size` articles, generated on first use."""
    data = CACHE / f"store-{size // 1000}k" if size % 1000 == 0 else CACHE / f"store-{size}"
    if not (data / "snapshot.json").exists():
        subprocess.run([sys.executable, "-m", "bench.store_corpus", "--size", str(size), "--out", str(data)],
                       check=True, cwd=ROOT)
    return data


def open_store(source: Path, into: Path) -> Store:
    into.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "snapshot.json", into / "snapshot.json")
    return Store(into, seed=dict, compact_bytes=1 << 40).open()


def catalog_over(store: Store) -> Catalog:
    views = {key: article.get("views", 0) for key, article in store.all("articles").items()}
    count = lambda article_id: views.get(article_id, 0)  # noqa: E731
    try:  # the views revision: these counts never change
        catalog = Catalog(store, normalise_region, count, views_revision=lambda: 0)
    except TypeError:  # a catalog from before it took one
        catalog = Catalog(store, normalise_region, count)
    store.subscribe(catalog.on_change)
    return catalog


def answer(catalog: Catalog, query: ArticleQuery, page: int = 1) -> tuple[int, list[dict]]:
    """What list_articles asks of the catalog: the total and one page of records."""
    listing = catalog.articles(query)
    start = (page - 1) * PER_PAGE
    return len(listing), list(listing[start:start + PER_PAGE])


def queries(store: Store, count: int, rng: random.Random) -> list[tuple[ArticleQuery, int]]:
    articles = list(store.all("articles").values())
    topics = sorted(store.all("topics"))
    regions = sorted({r for a in articles[:2000] for r in a["regions"]}) + ["广州市", "江西省"]
    categories = sorted({a["category"] for a in articles[:2000]})
    tags = sorted({t for a in articles[:2000] for t in a["tags"]})
    dates = sorted({a["published_at"] for a in articles[:2000]})
    out = []
    for _ in range(count):
        fields: dict = {"sort": rng.choice(SORTS), "include_drafts": rng.random() < 0.3}
        for name, values, share in (("topic", topics, 0.5), ("region", regions, 0.3),
                                    ("category", categories, 0.2), ("tag", tags, 0.15),
                                    ("status", ("published", "draft"), 0.1),
                                    ("published_after", dates, 0.15), ("published_before", dates, 0.1)):
            if rng.random() < share:
                fields[name] = rng.choice(values)
        out.append((ArticleQuery(**fields), rng.randint(1, 5)))
    return out


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(run) -> tuple[float, float]:
    """(wall, CPU) seconds: the second is what to read on a shared, busy machine."""
    started, cpu = time.perf_counter(), time.thread_time()
    run()
    return time.perf_counter() - started, time.thread_time() - cpu


def both(times: list[tuple[float, float]], pick) -> str:
    """"wall ms (CPU ms)" of pick(values)."""
    return f"{ms(pick([w for w, _ in times]))} ({ms(pick([c for _, c in times]))} CPU)"


def patches(store: Store, rng: random.Random):
    """Edits an editor makes: a new title, a draft published or unpublished, other topics."""
    ids = sorted(store.all("articles"))
    topics = sorted(store.all("topics"))
    while True:
        article_id = rng.choice(ids)
        change = rng.choice((
            lambda a: {**a, "title": a["title"] + "(更新)"},
            lambda a: {**a, "status": "draft" if a["status"] == "published" else "published"},
            lambda a: {**a, "topics": rng.sample(topics, 2)},
        ))
        yield article_id, change


def run(size: int, requests: int, writes: int, seed: int) -> dict:
    rng = random.Random(seed)
    source = corpus_store(size)
    out: dict = {"size": size}
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        store = open_store(source, Path(tmp) / "data")
        catalog = catalog_over(store)
        default = ArticleQuery()
        filtered = ArticleQuery(topic="enrollment", region="广东")
        one = lambda values: values[0]  # noqa: E731
        if hasattr(catalog, "build"):
            out["build ms"] = both([timed(catalog.build)], one)
        out["first list ms"] = both([timed(lambda: answer(catalog, default))], one)
        out["second list ms"] = both([timed(lambda: answer(catalog, default))], one)
        out["first filtered list ms"] = both([timed(lambda: answer(catalog, filtered))], one)
        after_plain, after_filtered, after_views = [], [], []
        edits = patches(store, rng)
        for _ in range(writes):
            article_id, change = next(edits)
            store.write("articles", article_id, change)
            after_plain.append(timed(lambda: answer(catalog, default)))
            article_id, change = next(edits)
            store.write("articles", article_id, change)
            after_filtered.append(timed(lambda: answer(catalog, filtered)))
            after_views.append(timed(lambda: answer(catalog, ArticleQuery(sort="-views"))))
        out["list after a write ms (median)"] = both(after_plain, statistics.median)
        out["filtered list after a write ms (median)"] = both(after_filtered, statistics.median)
        out["-views list after a write ms (median)"] = both(after_views, statistics.median)
        mix = queries(store, requests, rng)
        took = [timed(lambda q=q, p=p: answer(catalog, q, p)) for q, p in mix]
        out["filtered lists p50 ms"] = both(took, lambda values: percentile(values, 0.5))
        out["filtered lists p99 ms"] = both(took, lambda values: percentile(values, 0.99))
        topics = sorted(store.all("topics"))
        out["topic counts (all, after writes) ms"] = both([timed(lambda: [catalog.topic_count(t) for t in topics])],
                                                          one)
        del catalog, store
    with tempfile.TemporaryDirectory(prefix="catalog-bench-") as tmp:
        store = open_store(source, Path(tmp) / "data")
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        catalog = catalog_over(store)
        answer(catalog, ArticleQuery())
        for q, p in queries(store, 50, random.Random(seed)):
            answer(catalog, q, p)
        [catalog.topic_count(t) for t in store.all("topics")]
        now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["catalog memory MB"] = round((now - before) / 2**20, 1)
        out["catalog peak MB"] = round((peak - before) / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for name, value in run(args.size, args.requests, args.writes, args.seed).items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
