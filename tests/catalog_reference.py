"""The article catalogue as it was before its columns: the reference the columns are tested against.

Every list filters whole records with Python tests over an order sorted from the
store's records (made again after any article change). Slow at scale, but plainly
right: tests/test_catalog.py asks it and service/domain/content/catalog.py the same.

A parent topic stands for its family: its list and its count take in the
articles of its children (an article in 新生儿参保 is an article about 参保),
each article once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from service.domain.content.article_record import is_public
from service.domain.content.catalog import ArticleQuery
from service.domain.lru import LRU
from service.domain.store.store import Store

SORTS = {
    "-published_at": (lambda a: (a.get("published_at") or "", a["id"]), True),
    "published_at": (lambda a: (a.get("published_at") or "", a["id"]), False),
    "title": (lambda a: (a["title"], a["id"]), False),
}
# Views change all the time (and live outside the store): that order is made per request.
BY_VIEWS = "-views"
RESULTS_KEPT = 256


class ReferenceCatalog:
    def __init__(self, store: Store, normalise_region: Callable[[str], str | None],
                 views: Callable[[str], int] = lambda article_id: 0):
        self.store = store
        self._normalise_region = normalise_region
        self._views = views
        self._orders: dict[str, list[dict]] = {}
        self._results = LRU(RESULTS_KEPT)
        self._topic_counts: Counter | None = None

    def on_change(self, kind, key, old, new) -> None:
        if kind == "articles":
            self._orders.clear()
        if kind in ("articles", "topics"):  # a topic's parent decides which lists it is in
            self._results.clear()
            self._topic_counts = None

    def _order(self, sort: str) -> list[dict]:
        if sort == BY_VIEWS:
            by_date = self._order("-published_at")
            return sorted(by_date, key=lambda a: self._views(a["id"]), reverse=True)  # stable: newest first on ties
        order = self._orders.get(sort)
        if order is None:
            key, reverse = SORTS[sort]
            order = sorted(self.store.all("articles").values(), key=key, reverse=reverse)
            self._orders[sort] = order
        return order

    def articles(self, query: ArticleQuery) -> list[dict]:
        """Every article matching the query, in the requested order.

        Results are kept until an article changes (the same list pages are asked
        for again and again); the views order moves all the time and is not kept.
        """
        if query.sort == BY_VIEWS:
            return self._matching(query)
        return self._results.get_or_put(query, lambda: self._matching(query))

    def _matching(self, query: ArticleQuery) -> list[dict]:
        tests = []
        if not query.include_drafts:
            tests.append(is_public)
        if query.status:
            tests.append(lambda a: a["status"] == query.status)
        if query.topic:
            family = topic_family(query.topic, self.store.all("topics"))
            tests.append(lambda a: not family.isdisjoint(a["topics"]))
        if query.region:
            region = self._normalise_region(query.region) or query.region
            tests.append(lambda a: region in a["regions"])
        if query.category:
            tests.append(lambda a: a["category"] == query.category)
        if query.tag:
            tests.append(lambda a: query.tag in a["tags"])
        if query.published_after:
            tests.append(lambda a: (a.get("published_at") or "") >= query.published_after)
        if query.published_before:
            tests.append(lambda a: (a.get("published_at") or "") <= query.published_before)
        return [a for a in self._order(query.sort) if all(test(a) for test in tests)]

    def topic_count(self, slug: str) -> int:
        """Published articles that carry this topic or one of its children."""
        if self._topic_counts is None:
            topics = self.store.all("topics")
            counts: Counter = Counter()
            for article in self.store.all("articles").values():
                if is_public(article):
                    parents = (topics.get(t, {}).get("parent") for t in article["topics"])
                    counts.update({*article["topics"], *(p for p in parents if p)})
            self._topic_counts = counts
        return self._topic_counts[slug]


def topic_family(slug: str, topics: dict[str, dict]) -> set[str]:
    """The slug and its children's slugs (one level of nesting)."""
    return {slug, *(t["slug"] for t in topics.values() if t.get("parent") == slug)}
