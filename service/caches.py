"""What the HTTP layer reuses between requests: bounded caches, one set per Services.

Each entry is checked against the change counters it was made under (the
store's revisions, the view counter's), so a cache saves work but never
changes an answer; the bounds keep a worker's memory flat whatever clients ask
for. Held by the Services instance, so a store opened again (a CLI command, a
test) starts with empty caches.
"""

from __future__ import annotations

from .domain.lru import LRU

QUERIES_KEPT = 4096  # loaded query strings, all endpoints together
LINKS_KEPT = 4096  # Link headers of collection pages
# Per worker, and every worker holds its own: about 14 KB an article shown (dump and bytes),
# 25 KB its 相关推荐 cards as shown, 14 KB an article on a list page (its dump, shared with the
# article's while both are kept). So about 50 MB in all: popular pages fit, a long tail costs a
# re-render, not memory (three workers at 100k articles serve in about 600 MB).
PAGE_ITEMS_KEPT = 1_000  # articles on the kept pages of the article list (and of topics' lists)
ARTICLES_KEPT = 1_500
RELATED_KEPT = 500
VARIANTS_KEPT = 16  # per article: ?fields=/?formats= variants, or 相关推荐 limits


class Caches:
    """The HTTP layer's caches for one Services instance."""

    def __init__(self):
        self.queries = LRU(QUERIES_KEPT)  # (schema, query string) -> loaded arguments
        self.links = LRU(LINKS_KEPT)  # (URL, query string, page, pages) -> Link header
        # (query, page, per_page, fields, formats) -> (state, items, total, pages), weighed by its items
        self.pages = LRU(PAGE_ITEMS_KEPT, weigh=lambda kept: max(1, len(kept[1])))
        self.topics = LRU(1)  # (topics, articles revisions) -> every topic as shown
        self.shown = LRU(ARTICLES_KEPT)  # article id -> LRU of (fields, formats) -> (state, Shown)
        self.related = LRU(RELATED_KEPT)  # article id -> LRU of limit -> (state, cards)

    @staticmethod
    def of_article(cache: LRU, article_id: str) -> LRU:
        """The variants kept for one article in `shown` or `related`."""
        return cache.get_or_put(article_id, lambda: LRU(VARIANTS_KEPT))

    def on_change(self, kind: str, key: str, old: dict | None, new: dict | None) -> None:
        """A store listener: what was kept for an article goes with it."""
        if kind == "articles" and new is None:
            self.shown.pop(key)
            self.related.pop(key)
