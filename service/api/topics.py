"""/api/v1/topics: the taxonomy, with article counts."""

from __future__ import annotations

import orjson
from flask import request
from flask_restx import Namespace, Resource

from ..current import current_services
from ..domain.errors import NotFound
from .articles import list_articles
from .decorators import answers, arguments, authenticated, body, other_responses
from .responses import collection, conditional, etag_for, page_slice, written
from .schemas import (
    ArticleListQuerySchema,
    ArticlePageSchema,
    PageQuerySchema,
    TopicCreateSchema,
    TopicPageSchema,
    TopicPatchSchema,
    TopicSchema,
    TopicWriteSchema,
)

ns = Namespace("topics", description="Topics: 主题")

_topic = TopicSchema()
PARENT_RULE = "The parent does not exist, or the nesting would pass one level."


def shown(topic: dict) -> dict:
    return _topic.dump({**topic, "article_count": current_services().catalog.topic_count(topic["slug"])})


def all_shown() -> list[dict]:
    """Every topic as shown, parents before children: reused until a topic or an
    article changes (the counts follow articles), not dumped per request."""
    services = current_services()
    store = services.store
    key = (store.revision["topics"], store.revision["articles"])
    return services.caches.topics.get_or_put(
        key, lambda: [shown(t) for t in sorted(store.all("topics").values(), key=_family_order)])


def existing(slug: str) -> dict:
    topic = current_services().store.get("topics", slug)
    if topic is None:
        raise NotFound(f"no topic with slug '{slug}'")
    return topic


@ns.route("")
class TopicList(Resource):
    @arguments(PageQuerySchema)
    @answers(TopicPageSchema, description="Topics, parents before their children.")
    @other_responses({400: "Invalid parameters."})
    def get(self, args):
        """List topics with their article counts."""
        topics = all_shown()
        start, end, pages = page_slice(len(topics), args["page"], args["per_page"])
        return collection(topics[start:end], len(topics), args["page"], args["per_page"], pages)

    @authenticated()
    @body(TopicCreateSchema)
    @answers(TopicSchema, 201, "Created; Location names it.")
    @other_responses({400: "Invalid body.", 409: "The slug exists.", 415: "The body is not JSON.",
                      422: PARENT_RULE})
    def post(self, data):
        """Create a topic."""
        topic = current_services().topic_writes.create(data)
        return topic_written(topic, 201, location=f"{request.url_root}api/v1/topics/{topic['slug']}")


def topic_written(topic: dict, status: int = 200, location: str | None = None):
    """The topic as a GET shows it, with the ETag that GET gives."""
    body = orjson.dumps(shown(topic))
    return written(body, status, etag=etag_for(None, body), location=location)


def _family_order(topic: dict):
    return (topic.get("parent") or topic["slug"], topic.get("parent") is not None, topic["slug"])


@ns.route("/<string:slug>")
@ns.param("slug", "Topic slug")
class TopicItem(Resource):
    @answers(TopicSchema, description="The topic; ETag for conditional requests.")
    @other_responses({304: "Not modified (If-None-Match).", 404: "No such topic."})
    def get(self, slug):
        """One topic."""
        data = shown(existing(slug))
        return conditional(orjson.dumps(data))

    @authenticated()
    @body(TopicWriteSchema)
    @answers(TopicSchema, description="Replaced.")
    @other_responses({400: "Invalid body.", 404: "No such topic.", 415: "The body is not JSON.",
                      422: PARENT_RULE})
    def put(self, data, slug):
        """Replace a topic."""
        return topic_written(current_services().topic_writes.replace(slug, data))

    @authenticated()
    @body(TopicPatchSchema)
    @answers(TopicSchema, description="Patched.")
    @other_responses({400: "Invalid body.", 404: "No such topic.", 415: "The body is not JSON.",
                      422: PARENT_RULE})
    def patch(self, data, slug):
        """Change some fields of a topic."""
        return topic_written(current_services().topic_writes.patch(slug, data))

    @authenticated()
    @ns.response(204, "Deleted.")
    @other_responses({404: "No such topic.", 409: "Articles or child topics use it."})
    def delete(self, slug):
        """Delete a topic no article uses."""
        current_services().topic_writes.delete(slug)
        return "", 204


@ns.route("/<string:slug>/articles")
@ns.param("slug", "Topic slug")
class TopicArticles(Resource):
    @arguments(ArticleListQuerySchema)
    @answers(ArticlePageSchema, description="A page of the topic's articles.")
    @other_responses({400: "Invalid parameters.", 401: "status=draft without a key.", 404: "No such topic."})
    def get(self, args, slug):
        """The articles of a topic (same parameters as the article list)."""
        existing(slug)
        return list_articles(args, topic=slug)
