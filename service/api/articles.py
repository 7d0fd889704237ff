"""/api/v1/articles: question pages."""

from __future__ import annotations

import orjson
from flask import g, request
from flask_restx import Namespace, Resource

from ..current import current_services
from ..domain.content.article_record import is_visible
from ..domain.content.catalog import ArticleQuery
from ..domain.errors import NotFound
from ..security import views_limit
from .decorators import (
    answers,
    arguments,
    authenticated,
    body,
    other_responses,
)
from .representations import dump_article, related_cards, shown_article
from .responses import cacheable, collection, conditional, if_match_version, page_slice, written
from .roles import require_role
from .schemas import (
    ArticleCreateSchema,
    ArticleGetQuerySchema,
    ArticleListQuerySchema,
    ArticlePageSchema,
    ArticlePatchSchema,
    ArticleSchema,
    ArticleWriteSchema,
    CardListSchema,
    RelatedQuerySchema,
    SparseArticleSchema,
    ViewRecordedSchema,
)

ns = Namespace("articles", description="Question pages: 文章")

INVALID = {400: "Invalid parameters or body."}
LISTING = {**INVALID, 401: "status=draft without a key, or an unknown key."}
WRITE_ERRORS = {400: "Invalid body.", 404: "No such article.", 412: "If-Match is stale.",
                415: "The body is not JSON.", 422: "Names a topic, or a place, that does not exist."}


def visible_article(article_id: str) -> dict:
    """The article, unless it does not exist or is a draft the caller may not see."""
    article = current_services().store.get("articles", article_id)
    if not is_visible(article, editor=bool(g.get("role"))):
        raise NotFound(f"no article with id '{article_id}'")
    return article


def list_articles(args: dict, **fixed):
    """The article collection for list endpoints (shared by topics/{slug}/articles)."""
    if args.get("status") == "draft":
        require_role(write=False)
    query = ArticleQuery(
        topic=fixed.get("topic", args.get("topic")),
        region=args.get("region"),
        category=args.get("category"),
        tag=args.get("tag"),
        status=args.get("status"),
        published_after=args.get("published_after"),
        published_before=args.get("published_before"),
        sort=args["sort"],
        include_drafts=bool(g.get("role")),
    )
    services = current_services()
    revision = services.store.revision
    # A page shows the articles' records and view counts: kept until either changes.
    key = (query, args["page"], args["per_page"], tuple(args.get("fields") or ()), tuple(args.get("formats") or ()))
    state = (revision["articles"], revision["topics"], services.views.revision)
    kept = services.caches.pages.get(key)
    if kept is None or kept[0] != state:
        listing = services.catalog.articles(query)  # docnos: only this page's records are read
        start, end, pages = page_slice(listing.total, args["page"], args["per_page"])
        items = [dump_article(a, args.get("fields"), args.get("formats")) for a in listing[start:end]]
        kept = services.caches.pages.put(key, (state, items, listing.total, pages))
    _, items, total, pages = kept
    return collection(items, total, args["page"], args["per_page"], pages)


@ns.route("")
class ArticleList(Resource):
    @arguments(ArticleListQuerySchema)
    @answers(ArticlePageSchema, description="A page of articles.")
    @other_responses(LISTING)
    def get(self, args):
        """List articles: filters, sort, sparse fields, pagination."""
        return list_articles(args)

    @authenticated()
    @body(ArticleCreateSchema)
    @answers(ArticleSchema, 201, "Created; Location names it.")
    @other_responses({400: "Invalid body.", 409: "The id exists.", 415: "The body is not JSON.",
                      422: "Names a topic, or a place, that does not exist."})
    def post(self, data):
        """Create an article."""
        article = current_services().article_writes.create(data)
        return article_written(article, 201, location=ns_url(article["id"]))


def ns_url(article_id: str) -> str:
    return f"{request.url_root}api/v1/articles/{article_id}"


@ns.route("/<string:article_id>")
@ns.param("article_id", "Article id")
class ArticleItem(Resource):
    @arguments(ArticleGetQuerySchema)
    @answers(SparseArticleSchema, description="The article (narrowed by ?fields=); ETag for conditional requests.")
    @other_responses({304: "Not modified (If-None-Match).", 404: "No such article.", **INVALID})
    def get(self, args, article_id):
        """One article, with `?fields=` and `?formats=html,text`."""
        article = visible_article(article_id)
        shown = shown_article(article, args.get("fields"), args.get("formats"), args.get("include"))
        return conditional(shown.body, shown.etag)

    @authenticated()
    @body(ArticleWriteSchema)
    @answers(ArticleSchema, description="Replaced.")
    @other_responses(WRITE_ERRORS)
    def put(self, data, article_id):
        """Replace an article (send If-Match to avoid overwriting a newer version)."""
        return article_written(current_services().article_writes.replace(article_id, data, if_match_version()))

    @authenticated()
    @body(ArticlePatchSchema)
    @answers(ArticleSchema, description="Patched.")
    @other_responses(WRITE_ERRORS)
    def patch(self, data, article_id):
        """Change some fields of an article; null topics/regions/summary re-derive them."""
        return article_written(current_services().article_writes.patch(article_id, data, if_match_version()))

    @authenticated()
    @ns.response(204, "Deleted.")
    @other_responses({404: "No such article.", 412: "If-Match is stale."})
    def delete(self, article_id):
        """Delete an article."""
        current_services().article_writes.delete(article_id, if_match_version())
        return "", 204


def article_written(article: dict, status: int = 200, location: str | None = None):
    """The article as a GET shows it, with the same ETag."""
    shown = shown_article(article)
    return written(shown.body, status, etag=shown.etag, location=location)


@ns.route("/<string:article_id>/related")
@ns.param("article_id", "Article id")
class ArticleRelated(Resource):
    @arguments(RelatedQuerySchema)
    @answers(CardListSchema, description="相关推荐: cards best first, each with its reasons.")
    @other_responses({400: "Invalid limit.", 404: "No such article."})
    def get(self, args, article_id):
        """The 相关推荐 list: related articles, and why each is there."""
        visible_article(article_id)
        return cacheable({"items": related_cards(article_id, args["limit"])})


@ns.route("/<string:article_id>/views")
@ns.param("article_id", "Article id")
class ArticleViews(Resource):
    @views_limit
    @answers(ViewRecordedSchema, 202, "Counted (published to every worker within seconds).")
    @other_responses({404: "No such article.", 429: "Too many views from this client."})
    def post(self, article_id):
        """Record a page view (public, rate-limited per client)."""
        article = visible_article(article_id)
        services = current_services()
        services.views.record(article["id"])
        return written(orjson.dumps({"id": article["id"], "views": services.view_count(article["id"])}), 202)
