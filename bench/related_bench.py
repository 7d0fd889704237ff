"""相关推荐 at scale: build time, lookup latency, one-article re-link, memory.

    python -m bench.related_bench            # 10k and 100k
    python -m bench.related_bench 10000      # just one size

Uses bench/corpus.py (deterministic synthetic articles). Also reports how
many of the exact top-20 (brute force over every article, on a sample of
anchors) the approximate candidate index finds: by content cosine alone,
and by the whole score the lists are ranked on (cosine, topics, places,
curated links, recency), before MMR.
"""

from __future__ import annotations

import gc
import random
import resource
import sys
import time

import numpy as np

from bench.corpus import generate
from service.domain.recommend import ranking
from service.domain.recommend.related import Related


def _rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _recall(related: Related, anchors: list[int]) -> tuple[float, float, float]:
    """Against brute force (every row scored) on sample anchors: the share of the exact
    content top-20 the candidate index proposes, the share of the exact top-20 by the whole
    score, and the mean cosine of the best 20 it proposes over the exact top-20's (the
    synthetic corpus is templated, so many articles tie and the first figures understate
    what readers would notice)."""
    related.related(related.index.ids[anchors[0]])  # derive what the last change left stale
    index, signals = related.index, related.index.signals
    every = np.nonzero(index.eligible[: len(index.ids)])[0].astype(np.int32)
    found = found_scored = total = 0
    ratios = []
    for row in anchors:
        cos = related._cosines(row, every)
        cos[every == row] = -1
        score = ranking.scores(cos, signals.topic_overlap(row, every), signals.region_match(row, every),
                               np.isin(every, index.curated_rows(row)),
                               signals.recency(every, related._reference_day()))
        score[every == row] = -np.inf
        exact = np.argsort(-cos)[:20]
        cands = set(related._candidates(row).tolist())
        found += len(set(every[exact].tolist()) & cands)
        found_scored += len(set(every[np.argsort(-score)[:20]].tolist()) & cands)
        total += len(exact)
        mine = np.sort(related._cosines(row, np.array(sorted(cands), np.int32)))[::-1][:20] if cands else np.zeros(1)
        ratios.append(float(mine.mean()) / max(float(cos[exact].mean()), 1e-9))
    return found / max(total, 1), found_scored / max(total, 1), float(np.mean(ratios))


def time_lookups(related: Related, ids: list[str]) -> tuple[list[float], list[float]]:
    """Seconds of each uncached lookup: wall, and this thread's CPU (immune to a busy machine)."""
    lookups, lookups_cpu = [], []
    for aid in ids:
        t, c = time.perf_counter(), time.thread_time()
        related.related(aid)
        lookups.append(time.perf_counter() - t)
        lookups_cpu.append(time.thread_time() - c)
    return lookups, lookups_cpu


def run(size: int) -> dict:
    gc.collect()
    t = time.perf_counter()
    articles = generate(size)
    generated = time.perf_counter() - t
    records = {a["id"]: a for a in articles}
    rss_before = _rss_mb()
    related = Related(lambda: records, dict)
    t, cpu = time.perf_counter(), time.process_time()
    related.build()
    build, build_cpu = time.perf_counter() - t, time.process_time() - cpu
    rss_after = _rss_mb()

    rng = random.Random(1)
    ids = [a["id"] for a in articles if a["status"] == "published"]
    related.related(ids[0])
    lookups, lookups_cpu = time_lookups(related, rng.sample(ids, 2000))
    warm = []
    hot = rng.sample(ids, 200)
    for aid in hot:
        related.related(aid)  # fill the cache: a popular page is asked for again and again
    for aid in hot * 5:
        t = time.perf_counter()
        related.related(aid)
        warm.append(time.perf_counter() - t)

    # What a change costs: on_change, then the next lookup, which derives the vectors and
    # the candidate index again (a reader's request pays it, once per change per worker).
    relinks, relinks_cpu = [], []
    for n in range(20):  # an edit: same article, new text; then a brand-new article
        victim = dict(records[rng.choice(ids)])
        victim["title"] = victim["title"] + "新规定" + str(n)
        victim["body"] = victim["body"][::-1] if n % 2 else victim["body"] + "\n\n补充说明：家庭共济。"
        old = records[victim["id"]]
        records[victim["id"]] = victim
        t, c = time.perf_counter(), time.thread_time()
        related.on_change("articles", victim["id"], old, victim)
        related.related(victim["id"])
        relinks.append(time.perf_counter() - t)
        relinks_cpu.append(time.thread_time() - c)
        fresh = dict(generate(1, seed=1000 + n)[0], id=f"new{n}")
        records[fresh["id"]] = fresh
        t, c = time.perf_counter(), time.thread_time()
        related.on_change("articles", fresh["id"], None, fresh)
        related.related(fresh["id"])
        relinks.append(time.perf_counter() - t)
        relinks_cpu.append(time.thread_time() - c)
    recall, recall_scored, quality = _recall(related, rng.sample(range(len(ids)), 50))
    return {
        "size": size,
        "generate_s": generated,
        "build_s": build,
        "build_cpu_s": build_cpu,
        "lookup_p50_ms": 1000 * float(np.percentile(lookups, 50)),
        "lookup_p99_ms": 1000 * float(np.percentile(lookups, 99)),
        "lookup_cpu_p50_ms": 1000 * float(np.percentile(lookups_cpu, 50)),
        "lookup_cpu_p99_ms": 1000 * float(np.percentile(lookups_cpu, 99)),
        "lookup_cached_p99_ms": 1000 * float(np.percentile(warm, 99)),
        "relink_cpu_p50_ms": 1000 * float(np.percentile(relinks_cpu, 50)),
        "relink_cpu_max_ms": 1000 * float(max(relinks_cpu)),
        "relink_p50_ms": 1000 * float(np.percentile(relinks, 50)),
        "relink_max_ms": 1000 * float(max(relinks)),
        "array_mb": related.nbytes() / 2**20,
        "rss_growth_mb": rss_after - rss_before,
        "candidate_recall@20": recall,
        "candidate_score_recall@20": recall_scored,
        "candidate_cosine_ratio": quality,
    }


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 100_000]
    for size in sizes:
        r = run(size)
        print(
            f"{r['size']:>7} articles: build {r['build_s']:.1f} s wall, {r['build_cpu_s']:.1f} s CPU "
            f"(corpus generation {r['generate_s']:.1f} s apart) | "
            f"lookup (uncached) wall p50 {r['lookup_p50_ms']:.3f} ms p99 {r['lookup_p99_ms']:.3f} ms, "
            f"CPU p50 {r['lookup_cpu_p50_ms']:.3f} ms p99 {r['lookup_cpu_p99_ms']:.3f} ms, "
            f"cached p99 {r['lookup_cached_p99_ms']:.3f} ms | "
            f"a change and the next lookup wall p50 {r['relink_p50_ms']:.1f} ms max {r['relink_max_ms']:.1f} ms, "
            f"CPU p50 {r['relink_cpu_p50_ms']:.1f} ms max {r['relink_cpu_max_ms']:.1f} ms | "
            f"arrays {r['array_mb']:.1f} MB, RSS +{r['rss_growth_mb']:.0f} MB during build | "
            f"candidates vs brute force: recall@20 {r['candidate_recall@20']:.3f} by cosine, "
            f"{r['candidate_score_recall@20']:.3f} by the whole score, "
            f"mean cosine of top-20 {r['candidate_cosine_ratio']:.3f} of exact",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
