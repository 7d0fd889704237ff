"""Creating, replacing, patching and deleting articles.

Every write makes its record with article_record (defaults, the summary,
topics and regions derived where left empty, the bookkeeping); here an
editor's topics are checked against the taxonomy and an editor's regions
against the gazetteer (and stored as derived ones are). Version checks run
inside the store's write lock, so a stale writer in another process cannot
overwrite.

When the taxonomy's keywords change, reclassify() derives the topics again
for the articles whose topics were derived (`topics_auto`; an editor's
choice is never touched) and writes those that change through the store,
so every worker sees them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from ..errors import Conflict, Invalid, NotFound, PreconditionFailed
from ..store.store import Store, utcnow
from ..text import normalise, tokens
from .article_record import DERIVED, article_record, stamped


class _Unchanged(Exception):
    """Raised inside a write's decide() to leave the record as it is."""


class ArticleWrites:
    def __init__(self, store: Store, assign_topics: Callable, find_regions: Callable, editor_regions: Callable):
        self.store = store
        self._assign_topics = assign_topics
        self._find_regions = find_regions
        self._editor_regions = editor_regions

    def create(self, data: dict) -> dict:
        article_id = data.pop("id", None) or uuid.uuid4().hex[:16]

        def decide(current):
            if current is not None:
                raise Conflict(f"an article with id '{article_id}' exists", {"id": ["already exists"]})
            return self._record({**data, "id": article_id})

        return self.store.write("articles", article_id, decide)

    def replace(self, article_id: str, data: dict, if_match: int | None = None) -> dict:
        def decide(current):
            current = self._existing(article_id, current, if_match)
            return self._record({**data, "id": article_id}, current)

        return self.store.write("articles", article_id, decide)

    def patch(self, article_id: str, changes: dict, if_match: int | None = None) -> dict:
        if not changes:  # nothing to change: no write, no new version
            return self._existing(article_id, self.store.get("articles", article_id), if_match)

        def decide(current):
            current = self._existing(article_id, current, if_match)
            merged = {**current, **changes}
            for field in DERIVED:
                if field not in changes and current.get(f"{field}_auto"):
                    merged[field] = None  # derived before: derive again from the new text
            # Regions kept from before were checked when they were set.
            return self._record(merged, current, check_regions="regions" in changes)

        return self.store.write("articles", article_id, decide)

    def delete(self, article_id: str, if_match: int | None = None) -> None:
        def decide(current):
            self._existing(article_id, current, if_match)
            return None

        self.store.write("articles", article_id, decide)

    def reclassify(self, keywords: Iterable[str]) -> int:
        """Derive topics again where they were derived and the text mentions one
        of these keywords (a topic's old and new ones); returns how many changed.

        Only an article whose text holds a keyword's words can score
        differently, so the others are skipped without being segmented.
        """
        words = {seq[0] for seq in (tokens(k) for k in keywords) if seq}
        if not words:
            return 0
        changed = 0
        for article_id, article in list(self.store.all("articles").items()):
            if not article.get("topics_auto"):
                continue
            text = normalise(f"{article['title']}\n{article['body']}")
            if not any(w in text for w in words):
                continue
            try:
                self.store.write("articles", article_id, self._reclassified)
                changed += 1
            except _Unchanged:
                pass
        return changed

    def _reclassified(self, current: dict | None) -> dict:
        # Decided again under the write lock: another worker may have changed it.
        if current is None or not current.get("topics_auto"):
            raise _Unchanged
        topics = self._topics(current["title"], current["body"])
        if topics == current["topics"]:
            raise _Unchanged
        return stamped({**current, "topics": topics}, utcnow(), current)

    # -- helpers ---------------------------------------------------------

    @staticmethod
    def _existing(article_id: str, current: dict | None, if_match: int | None) -> dict:
        if current is None:
            raise NotFound(f"no article with id '{article_id}'")
        if if_match is not None and if_match != current["version"]:
            raise PreconditionFailed(
                f"article '{article_id}' is at version {current['version']}, not {if_match}"
            )
        return current

    def _record(self, fields: dict, current: dict | None = None, check_regions: bool = True) -> dict:
        """The record to store (see article_record), with an editor's topics and places checked."""
        record = article_record(fields, utcnow(), current, topics=self._topics, regions=self._find_regions)
        if not record["topics_auto"]:
            unknown = [slug for slug in record["topics"] if self.store.get("topics", slug) is None]
            if unknown:
                raise Invalid("unknown topics", {"topics": [f"no topic '{s}'" for s in unknown]})
            record["topics"] = list(dict.fromkeys(record["topics"]))
        if not record["regions_auto"] and check_regions:
            regions, problems = self._editor_regions(record["regions"])
            if problems:
                raise Invalid(" ".join(problems), {"regions": problems})
            record["regions"] = regions
        return record

    def _topics(self, title: str, body: str) -> list[str]:
        return self._assign_topics(title, body, list(self.store.all("topics").values()))
