"""How good are the 相关推荐 lists? Judged anchors, two measures, one baseline.

tests/data/related_judgements.json names anchor articles (by title) with the
siblings that truly belong in their top 3 (gain 2) and fair companions
(gain 1). We report, over the anchors:

* precision@3: the share of the first three cards that are top-3 siblings,
  out of min(3, number of siblings) so a perfect list scores 1;
* nDCG@10 with those gains.

The baseline is a plain TF-IDF cosine over the same tokens() of title,
answer, summary and body (no title weight, no pruning, no other signal),
computed in the same run so the comparison is like for like.

    python -m bench.related_eval
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

from service.domain.content.taxonomy import load_taxonomy
from service.domain.recommend.related import Related
from service.domain.text import tokens

ROOT = Path(__file__).resolve().parents[1]
JUDGEMENTS = ROOT / "tests" / "data" / "related_judgements.json"
SEEDS = ROOT / "seeds"


def seed_articles(seeds_dir: Path = SEEDS) -> list[dict]:
    """seeds/articles.json when the importer has written it, else the pages parsed now."""
    path = Path(seeds_dir) / "articles.json"
    if path.exists():
        return orjson.loads(path.read_bytes())["articles"]
    from service.domain.content.pages import build_articles, load_pages

    return build_articles(load_pages(Path(seeds_dir) / "pages"), load_taxonomy()).articles


def load_judgements(path: Path = JUDGEMENTS) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["judgements"]


def tfidf_baseline(articles: list[dict]) -> Callable[[str], list[str]]:
    """Ranker: plain TF-IDF cosine, all pairs (fine at seed size)."""
    docs = []
    for a in articles:
        text = " ".join(a.get(f) or "" for f in ("title", "answer", "summary", "body"))
        docs.append(Counter(tokens(text)))
    df = Counter(t for d in docs for t in d)
    vocab = {t: i for i, t in enumerate(df)}
    n = len(docs)
    matrix = np.zeros((n, len(vocab)), dtype=np.float32)
    for i, d in enumerate(docs):
        for t, c in d.items():
            matrix[i, vocab[t]] = c * math.log(n / df[t])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(norms > 0, norms, 1)
    sims = matrix @ matrix.T
    ids = [a["id"] for a in articles]
    published = np.array([a.get("status") == "published" for a in articles])
    row = {aid: i for i, aid in enumerate(ids)}

    def rank(article_id: str) -> list[str]:
        i = row[article_id]
        scores = np.where(published, sims[i], -np.inf)
        scores[i] = -np.inf
        return [ids[j] for j in np.argsort(-scores, kind="stable")[:20] if np.isfinite(scores[j])]

    return rank


def related_ranker(articles: list[dict]) -> Callable[[str], list[str]]:
    names = {t["slug"]: t["name"] for t in load_taxonomy()}
    related = Related.from_articles(articles, names)
    return lambda article_id: [c["id"] for c in related.related(article_id)]


def evaluate(rank: Callable[[str], list[str]], articles: list[dict], judgements: list[dict]) -> dict:
    """Mean precision@3 and nDCG@10 of a ranker, with per-anchor detail."""
    by_title = {a["title"]: a["id"] for a in articles}
    per_anchor = []
    for j in judgements:
        gains = {by_title[t]: 2 for t in j["top3"]}
        gains.update({by_title[t]: 1 for t in j.get("also", ()) if by_title[t] not in gains})
        ranked = rank(by_title[j["anchor"]])
        hits = sum(1 for aid in ranked[:3] if gains.get(aid) == 2)
        precision = hits / min(3, len(j["top3"]))
        dcg = sum(gains.get(aid, 0) / math.log2(i + 2) for i, aid in enumerate(ranked[:10]))
        ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gains.values(), reverse=True)[:10]))
        per_anchor.append({"anchor": j["anchor"], "precision@3": precision, "ndcg@10": dcg / ideal if ideal else 0})
    count = max(len(per_anchor), 1)
    return {
        "precision@3": sum(p["precision@3"] for p in per_anchor) / count,
        "ndcg@10": sum(p["ndcg@10"] for p in per_anchor) / count,
        "per_anchor": per_anchor,
    }


def compare(articles: list[dict] | None = None, judgements: list[dict] | None = None) -> dict:
    articles = articles if articles is not None else seed_articles()
    judgements = judgements if judgements is not None else load_judgements()
    return {
        "related": evaluate(related_ranker(articles), articles, judgements),
        "tfidf_baseline": evaluate(tfidf_baseline(articles), articles, judgements),
    }


def main() -> None:
    result = compare()
    print(f"{'':16}{'precision@3':>12}{'nDCG@10':>10}")
    for name, r in result.items():
        print(f"{name:16}{r['precision@3']:12.3f}{r['ndcg@10']:10.3f}")
    print("\nper anchor (related / baseline precision@3, nDCG@10):")
    for mine, base in zip(result["related"]["per_anchor"], result["tfidf_baseline"]["per_anchor"], strict=True):
        print(f"  {mine['precision@3']:.2f}/{base['precision@3']:.2f}  "
              f"{mine['ndcg@10']:.2f}/{base['ndcg@10']:.2f}  {mine['anchor']}")


if __name__ == "__main__":
    main()
