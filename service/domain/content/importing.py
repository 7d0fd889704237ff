"""Importing parsed pages: into a running store, or as the seeds/ dataset.

Ids are stable (a page's file hash, a card's title hash), so importing the
same pages again changes nothing; an article whose content changed is
updated in place with its version bumped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..store.snapshot import SCHEMA_VERSION
from ..store.store import Store, utcnow
from .article_record import stamped

# What the importer decides; store bookkeeping (version, timestamps) is not compared.
COMPARED = ("title", "answer", "summary", "body", "category", "topics", "tags", "regions",
            "disclaimer", "published_at", "status", "related_curated")


def dataset(articles: list[dict]) -> dict:
    """The committed seeds/articles.json document: articles as build_articles makes them."""
    return {"schema_version": SCHEMA_VERSION, "articles": articles}


def import_articles(store: Store, articles: Iterable[dict], progress: Callable[[], None] = lambda: None
                    ) -> dict[str, int]:
    """Write each article (as build_articles makes them) unless the store already has the same content."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for article in articles:
        current = store.get("articles", article["id"])
        if current is not None and all(current.get(f) == article.get(f) for f in COMPARED):
            counts["unchanged"] += 1
        else:
            store.write("articles", article["id"],
                        lambda current, article=article: stamped(article, utcnow(), current))
            counts["created" if current is None else "updated"] += 1
        progress()
    return counts
