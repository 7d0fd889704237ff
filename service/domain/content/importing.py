"""Importing parsed pages: into a running store, or as the seeds/ dataset.

Ids are stable (a page's file hash, a card's title hash), so importing the
same pages again changes nothing; an article whose content changed is
updated in place with its version bumped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..store.snapshot import SCHEMA_VERSION
from ..store.store import Store, utcnow

# What the importer decides; store bookkeeping (version, timestamps) is not compared.
CONTENT_FIELDS = ("title", "answer", "summary", "body", "category", "topics", "tags", "regions",
                  "disclaimer", "published_at", "status", "related_curated")


def dataset(articles: list[dict]) -> dict:
    """The committed seeds/articles.json document."""
    return {"schema_version": SCHEMA_VERSION, "articles": [with_flags(a) for a in articles]}


def with_flags(article: dict) -> dict:
    """Imported summaries are the page's own text; topics and regions were derived."""
    return {**article, "summary_auto": False, "topics_auto": True, "regions_auto": True}


def import_articles(store: Store, articles: Iterable[dict], progress: Callable[[], None] = lambda: None
                    ) -> dict[str, int]:
    """Write each article unless the store already has the same content."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for article in articles:
        article = with_flags(article)
        current = store.get("articles", article["id"])
        if current is not None and all(current.get(f) == article.get(f) for f in CONTENT_FIELDS):
            counts["unchanged"] += 1
        else:
            store.write("articles", article["id"], lambda current, article=article: _stamped(current, article))
            counts["created" if current is None else "updated"] += 1
        progress()
    return counts


def _stamped(current: dict | None, article: dict) -> dict:
    now = utcnow()
    if current is None:
        return {**article, "created_at": now, "updated_at": now, "version": 1}
    return {**article, "created_at": current["created_at"], "updated_at": now,
            "version": current["version"] + 1}
