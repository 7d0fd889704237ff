"""How a stored article is shown: topic names filled in, optional rendered
bodies, sparse fieldsets — always through ArticleSchema."""

from __future__ import annotations

import orjson

from ..domain.markdown import to_html, to_text
from .decorators import current_services
from .schemas import ArticleSchema

_full = ArticleSchema()


def dump_article(article: dict, fields=None, formats=None) -> dict:
    topics = current_services().store.all("topics")
    shown = dict(article)
    shown["topics"] = [
        {"slug": slug, "name": topics[slug]["name"] if slug in topics else slug}
        for slug in article["topics"]
    ]
    # Asking for a rendered field is asking for its format.
    formats = set(formats or ()) | {f[len("body_"):] for f in fields or () if f.startswith("body_")}
    if "html" in formats:
        shown["body_html"] = to_html(article["body"])
    if "text" in formats:
        shown["body_text"] = to_text(article["body"])
    dumped = _full.dump(shown)
    if fields:
        dumped = {name: dumped[name] for name in fields if name in dumped}
    return dumped


def article_bytes(article: dict, fields=None, formats=None) -> bytes:
    return orjson.dumps(dump_article(article, fields, formats))
