"""Search quality: nDCG@10 and recall@10 over judged queries.

tests/data/judged_queries.json lists queries a phone user types, each with
relevant article titles graded 1-3 (judged by title, so they survive a
change of article ids). The corpus is the committed seed dataset.

Run: python -m bench.search_eval [judged.json]
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from pathlib import Path

from service.domain.content.seeds import SEEDS_DIR, seed_document

ROOT = Path(__file__).resolve().parents[1]
JUDGED = ROOT / "tests" / "data" / "judged_queries.json"


def seed_articles(seeds_dir: Path = SEEDS_DIR) -> list[dict]:
    """The committed seed dataset: what a fresh store serves."""
    return seed_document(seeds_dir)["articles"]


def load_judged(path: Path = JUDGED) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    gains = [(2 ** grades.get(t, 0) - 1) / math.log2(i + 2) for i, t in enumerate(ranked[:k])]
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return sum(gains) / best if best else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    relevant = {t for t, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(index, judged: Iterable[dict], titles: dict[str, str], k: int = 10) -> dict:
    """Mean nDCG@k and recall@k; titles maps article id -> title."""
    rows = []
    for item in judged:
        result = index.search(item["query"], limit=k)
        ranked = [titles.get(h.id, "") for h in result.hits]
        grades = item["relevant"]
        rows.append({
            "query": item["query"],
            "ndcg": ndcg_at(ranked, grades, k),
            "recall": recall_at(ranked, grades, k),
            "first": ranked[0] if ranked else None,
        })
    count = max(len(rows), 1)
    return {
        "ndcg": sum(r["ndcg"] for r in rows) / count,
        "recall": sum(r["recall"] for r in rows) / count,
        "queries": rows,
    }


def main(argv: list[str] | None = None) -> None:
    from service.domain.search.index import SearchIndex

    argv = sys.argv[1:] if argv is None else argv
    judged = load_judged(Path(argv[0]) if argv else JUDGED)
    articles = seed_articles()
    index = SearchIndex()
    index.build(articles)
    report = evaluate(index, judged, {a["id"]: a["title"] for a in articles})
    for row in report["queries"]:
        print(f"{row['ndcg']:.3f}  {row['recall']:.3f}  {row['query']}  ->  {row['first']}")
    print(f"articles={len(articles)} queries={len(judged)} "
          f"nDCG@10={report['ndcg']:.3f} recall@10={report['recall']:.3f}")


if __name__ == "__main__":
    main()
