"""Creating, replacing, patching and deleting topics.

A topic's parent must exist and be top-level (one level of nesting); a topic
still carried by articles, or a parent of others, cannot be deleted.

Creating a topic or changing its keywords re-derives the topics of the
articles whose topics were derived (on_keywords: ArticleWrites.reclassify).
Deleting one cannot change them: a topic no article carries was never
among the kept ones, so the others are ranked the same without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import Conflict, Invalid, NotFound
from ..store.store import Store


class TopicWrites:
    def __init__(self, store: Store, on_keywords: Callable[[Iterable[str]], object] = lambda keywords: 0):
        self.store = store
        self._on_keywords = on_keywords

    def create(self, data: dict) -> dict:
        slug = data["slug"]

        def decide(current):
            if current is not None:
                raise Conflict(f"a topic with slug '{slug}' exists", {"slug": ["already exists"]})
            return self._checked(data)

        return self._write(slug, decide)

    def replace(self, slug: str, data: dict) -> dict:
        def decide(current):
            self._existing(slug, current)
            return self._checked({**data, "slug": slug})

        return self._write(slug, decide)

    def patch(self, slug: str, changes: dict) -> dict:
        if not changes:  # nothing to change: no write
            return self._existing(slug, self.store.get("topics", slug))

        def decide(current):
            current = self._existing(slug, current)
            return self._checked({**current, **changes, "slug": slug})

        return self._write(slug, decide)

    def _write(self, slug: str, decide) -> dict:
        """Write the topic; if its keywords changed, re-derive articles' topics."""
        before: list[str] = []

        def keeping_old(current):
            before.extend((current or {}).get("keywords") or [])
            return decide(current)

        record = self.store.write("topics", slug, keeping_old)
        after = record.get("keywords") or []
        if sorted(set(after)) != sorted(set(before)):
            self._on_keywords([*before, *after])
        return record

    def delete(self, slug: str) -> None:
        def decide(current):
            self._existing(slug, current)
            users = sum(1 for a in self.store.all("articles").values() if slug in a["topics"])
            if users:
                raise Conflict(f"topic '{slug}' is used by {users} articles; reassign them first")
            children = [t["slug"] for t in self.store.all("topics").values() if t.get("parent") == slug]
            if children:
                raise Conflict(f"topic '{slug}' is the parent of {', '.join(sorted(children))}")
            return None

        self.store.write("topics", slug, decide)

    @staticmethod
    def _existing(slug: str, current: dict | None) -> dict:
        if current is None:
            raise NotFound(f"no topic with slug '{slug}'")
        return current

    def _checked(self, data: dict) -> dict:
        record = {"description": "", "parent": None, "keywords": [], **data}
        parent = record["parent"]
        if parent is not None:
            found = self.store.get("topics", parent)
            if parent == record["slug"]:
                raise Invalid("a topic cannot be its own parent", {"parent": ["is the topic itself"]})
            if found is None:
                raise Invalid("unknown parent", {"parent": [f"no topic '{parent}'"]})
            if found.get("parent"):
                raise Invalid("one level of nesting", {"parent": [f"'{parent}' has a parent itself"]})
            has_children = any(
                t.get("parent") == record["slug"] for t in self.store.all("topics").values()
            )
            if has_children:
                raise Invalid("one level of nesting", {"parent": ["this topic has children of its own"]})
        return record
