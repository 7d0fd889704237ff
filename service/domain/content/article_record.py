"""The one place a stored article record is made: its defaults, what is derived, its bookkeeping.

An article written through the API, imported from pages or loaded from the
seeds gets the same fields the same way:

* content (article_content): the given fields, defaults for the missing ones,
  and summary, topics and regions derived from the text where left empty,
  each with a `<field>_auto` flag saying it was, so a later edit of the text
  derives it again and never touches what an editor chose;
* bookkeeping (stamped): created_at, updated_at and a version counting writes.

The summary rule (summary_of): the first paragraph of its own that is not a
lead-in to a list (…如下:), else the first one; without such paragraphs, the
first line of a list; cut to SUMMARY_CHARS at a sentence end when one is near.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from .markdown import text_blocks

DEFAULT_CATEGORY = "健康新闻"
DEFAULT_DISCLAIMER = "本内容不能代替面诊,如有不适请尽快就医。"
SUMMARY_CHARS = 120
# Fields derived from the text unless an editor sets them.
DERIVED = ("summary", "topics", "regions")
# A record's content fields, in the order records are written (seeds/articles.json is).
CONTENT_FIELDS = ("id", "title", "answer", "summary", "body", "category", "topics", "topics_auto", "tags",
                  "regions", "disclaimer", "published_at", "status", "related_curated", "summary_auto",
                  "regions_auto")

# (title, body) -> topic slugs, or -> region names.
Derive = Callable[[str, str], list[str]]

PUBLISHED = "published"

_SENTENCE_END = re.compile(r"[。!！?？;；]")
_LEAD_IN = (":", "：")


def article_record(fields: dict, now: str, previous: dict | None = None, *, topics: Derive,
                   regions: Derive) -> dict:
    """A stored article from the given fields (`id`, `title` and `body` at least): written at
    `now`, replacing `previous` if there is one."""
    return stamped(article_content(fields, topics=topics, regions=regions), now, previous)


def article_content(fields: dict, *, topics: Derive, regions: Derive) -> dict:
    """The fields with defaults for those left out, and what was left empty derived: the
    summary (missing or empty) from the body, topics and regions (missing or None) by
    `topics(title, body)` and `regions(title, body)`. Given topics and regions are kept as
    they are: checking them against the taxonomy and the gazetteer is the caller's."""
    record = dict(fields)
    record.setdefault("answer", None)
    record.setdefault("tags", [])
    record.setdefault("related_curated", [])
    record["category"] = record.get("category") or DEFAULT_CATEGORY
    record["disclaimer"] = record.get("disclaimer") or DEFAULT_DISCLAIMER
    record["status"] = record.get("status") or PUBLISHED
    published = record.get("published_at") or date.today()
    record["published_at"] = published if isinstance(published, str) else published.isoformat()
    record["summary_auto"] = not record.get("summary")
    if record["summary_auto"]:
        record["summary"] = summary_of(record["body"])
    record["topics_auto"] = record.get("topics") is None
    if record["topics_auto"]:
        record["topics"] = topics(record["title"], record["body"])
    record["regions_auto"] = record.get("regions") is None
    if record["regions_auto"]:
        record["regions"] = regions(record["title"], record["body"])
    ordered = {name: record.pop(name) for name in CONTENT_FIELDS if name in record}
    return {**ordered, **record}


def stamped(content: dict, now: str, previous: dict | None = None) -> dict:
    """The record with its bookkeeping: new at `now`, or the next version of `previous`."""
    if previous is None:
        return {**content, "created_at": now, "updated_at": now, "version": 1}
    return {**content, "created_at": previous["created_at"], "updated_at": now,
            "version": previous["version"] + 1}


def summary_of(markdown: str) -> str:
    """A body's summary (the rule is in the module docstring)."""
    blocks = text_blocks(markdown)
    paragraphs = [text for kind, level, text in blocks if kind == "paragraph" and level == 0]
    candidates = paragraphs or [text for kind, _, text in blocks if kind != "heading"]
    chosen = next((text for text in candidates if not text.endswith(_LEAD_IN)), None)
    return summarise(chosen or (candidates[0] if candidates else ""))


def summarise(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Plain text cut to `limit` characters, at a sentence end when one is near."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]]
    return head.rstrip(",，、:： ") + "…"


def is_public(article: dict | None) -> bool:
    """The one visibility rule: only a published article is listed, found, counted or
    recommended to readers without a key; a draft is seen only by editors."""
    return article is not None and article.get("status", PUBLISHED) == PUBLISHED


def is_visible(article: dict | None, editor: bool) -> bool:
    """Whether this caller may see the article at all: any existing one for an editor (a key)."""
    return article is not None and (editor or is_public(article))
