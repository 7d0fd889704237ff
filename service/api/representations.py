"""How a stored article is shown: topic names filled in, optional rendered
bodies, sparse fieldsets — always through ArticleSchema."""

from __future__ import annotations

import orjson

from ..current import current_services
from ..domain.content.article_record import is_public
from ..domain.content.markdown import to_html, to_text
from .responses import etag_for
from .schemas import ArticleSchema

_full = ArticleSchema()


class Shown:
    """One representation of an article: ArticleSchema's dump, its bytes and
    their ETag, made together and reused together."""

    __slots__ = ("dumped", "body", "etag")

    def __init__(self, dumped: dict, version: int):
        self.dumped = dumped
        self.body = orjson.dumps(dumped)
        self.etag = etag_for(version, self.body)


def shown_article(article: dict, fields=None, formats=None, include=None) -> Shown:
    """An article as shown, reused while nothing it shows has changed.

    Embedded 相关推荐 and 大家都在搜 change with every view and search, so a
    representation that includes them is always made afresh.
    """
    if include:
        return Shown(render_article(article, fields, formats, include), article["version"])
    services = current_services()
    caches = services.caches
    variants = caches.of_article(caches.shown, article["id"])
    variant = (tuple(fields or ()), tuple(formats or ()))
    # updated_at too: an article deleted and created again starts at version 1 again.
    state = (article["version"], article.get("updated_at"), services.view_count(article["id"]),
             services.store.revision["topics"])
    kept = variants.get(variant)
    if kept is None or kept[0] != state:
        kept = variants.put(variant, (state, Shown(render_article(article, fields, formats), article["version"])))
    return kept[1]


def dump_article(article: dict, fields=None, formats=None, include=None) -> dict:
    """ArticleSchema's dump of an article (reused, see shown_article)."""
    return shown_article(article, fields, formats, include).dumped


def render_article(article: dict, fields=None, formats=None, include=None) -> dict:
    """The article through ArticleSchema, every time."""
    services = current_services()
    topics = services.store.all("topics")
    shown = dict(article, views=services.view_count(article["id"]))
    shown["topics"] = [topic_ref(slug, topics) for slug in article["topics"]]
    # Asking for a rendered field is asking for its format.
    formats = set(formats or ()) | {f[len("body_"):] for f in fields or () if f.startswith("body_")}
    if "html" in formats:
        shown["body_html"] = to_html(article["body"])
    if "text" in formats:
        shown["body_text"] = to_text(article["body"])
    include = include or ()
    if "related" in include:
        shown["related"] = related_cards(article["id"], 20)
    if "hot" in include:
        shown["hot"] = services.hot.top(10)
    dumped = _full.dump(shown)
    if fields:  # what include embeds is shown however fields narrows the rest
        dumped = {name: dumped[name] for name in (*fields, *include) if name in dumped}
    return dumped


def topic_ref(slug: str, topics: dict) -> dict:
    """{slug, name} of a topic (a slug whose topic is gone shows as its own name)."""
    return {"slug": slug, "name": topics[slug]["name"] if slug in topics else slug}


def scored(article: dict, score: float) -> dict:
    """The fields every card shows (ScoredArticleSchema)."""
    return {
        "id": article["id"], "title": article["title"], "summary": article["summary"],
        "category": article["category"], "published_at": article["published_at"], "score": score,
    }


def as_card(article: dict, score: float, reasons: list[str]) -> dict:
    return {**scored(article, score), "reasons": reasons}


def cards(scored: list[dict]) -> list[dict]:
    """[{id, score, reasons}] as cards; anything no longer published is left out."""
    articles = current_services().store.all("articles")
    out = []
    for item in scored:
        article = articles.get(item["id"])
        if is_public(article):
            out.append(as_card(article, item["score"], item["reasons"]))
    return out


def related_cards(article_id: str, limit: int) -> list[dict]:
    """相关推荐 cards, reused until an article or a topic changes (the lists and
    the cards' fields follow nothing else)."""
    services = current_services()
    revision = services.store.revision
    caches = services.caches
    limits = caches.of_article(caches.related, article_id)
    state = (revision["articles"], revision["topics"])
    kept = limits.get(limit)
    if kept is None or kept[0] != state:
        kept = limits.put(limit, (state, cards(services.related.related(article_id, limit))))
    return kept[1]
