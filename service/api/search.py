"""/api/v1/search: full-text search, suggestions and 大家都在搜."""

from __future__ import annotations

import orjson
from flask import g
from flask_restx import Namespace, Resource
from werkzeug.routing import PathConverter

from ..current import current_services
from ..domain.content.catalog import topic_family
from ..security import client_identity
from .decorators import answers, arguments, authenticated, body, other_responses, path_arguments
from .representations import scored, topic_ref
from .responses import cacheable, collection, json_response, page_slice, written
from .schemas import (
    HotCountedPageSchema,
    HotCountedQuerySchema,
    HotListSchema,
    HotQuerySchema,
    HotRuleListSchema,
    HotRulePathSchema,
    HotRuleSchema,
    HotRuleWriteSchema,
    SearchPageSchema,
    SearchQuerySchema,
    SuggestionListSchema,
    SuggestQuerySchema,
)

ns = Namespace("search", description="Search, suggestions and 大家都在搜")

_rule, _rules = HotRuleSchema(), HotRuleListSchema()


@ns.route("")
class Search(Resource):
    @arguments(SearchQuerySchema)
    @answers(SearchPageSchema, description="Matching article cards, best first, with highlights and facets.")
    @other_responses({400: "Blank or overlong q, or other invalid parameters."})
    def get(self, args):
        """Search articles (title weighted over answer, summary and body)."""
        services = current_services()
        offset = (args["page"] - 1) * args["per_page"]
        topic = args.get("topic")
        family = tuple(sorted(topic_family(topic, services.store.all("topics")))) if topic else None
        result = services.search.search(args["q"], topic=family, region=args.get("region"),
                                        include_drafts=bool(g.get("role")), offset=offset, limit=args["per_page"])
        services.hot.record(args["q"], client_identity(), found=result.total, page=args["page"],
                            with_key=bool(g.get("role")))
        _, _, pages = page_slice(result.total, args["page"], args["per_page"])
        items = [card(services.store.get("articles", hit.id), hit) for hit in result.hits]
        topics = services.store.all("topics")
        facets = {
            "topics": [{**topic_ref(slug, topics), "count": n} for slug, n in result.facets["topics"]],
            "regions": [{"name": name, "count": n} for name, n in result.facets["regions"]],
        }
        return collection(items, result.total, args["page"], args["per_page"], pages, {"facets": facets})


def card(article: dict, hit) -> dict:
    return {**scored(article, hit.score), "highlights": hit.highlights}


@ns.route("/suggest")
class Suggest(Resource):
    @arguments(SuggestQuerySchema)
    @answers(SuggestionListSchema, description="Completions: popular queries, then titles.")
    @other_responses({400: "Blank or overlong q."})
    def get(self, args):
        """Completions for a search box (characters, pinyin such as yibao, or initials such as ybk)."""
        services = current_services()
        popular = [item["query"] for item in services.hot.top(50, fallback=False)]
        found = services.search.suggest(args["q"], limit=args["limit"], popular=popular)
        items = [{"text": s["text"], "kind": "title", "id": s["id"]} if s.get("id")
                 else {"text": s["text"], "kind": "query"} for s in found]
        return cacheable({"items": items})


class AnyText(PathConverter):
    """The rest of the path, whatever it holds: Werkzeug decodes %2F before routing, so a
    query with a slash (even a leading or doubled one) arrives as several path segments."""

    regex = r"[\s\S]+"  # "." would stop at a newline (%0A)
    part_isolating = False


@ns.route("/hot")
class Hot(Resource):
    @arguments(HotQuerySchema)
    @answers(HotListSchema, description="大家都在搜: pins, what enough readers searched, then topics; recent first.")
    @other_responses({400: "Invalid limit."})
    def get(self, args):
        """大家都在搜."""
        return cacheable({"items": current_services().hot.top(args["limit"])})


@ns.route("/hot/counted")
class HotCounted(Resource):
    @authenticated(write=False)
    @arguments(HotCountedQuerySchema)
    @answers(HotCountedPageSchema, description="Every counted search, shown or not, in 大家都在搜's order.")
    @other_responses({400: "Invalid page or per_page."})
    def get(self, args):
        """Everything counted for 大家都在搜, with its readers and whether it is shown (for editors)."""
        rows = current_services().hot.counted()
        start, end, pages = page_slice(len(rows), args["page"], args["per_page"])
        return collection(rows[start:end], len(rows), args["page"], args["per_page"], pages)


@ns.route("/hot/rules")
class HotRules(Resource):
    @authenticated(write=False)
    @answers(HotRuleListSchema, description="Every pin and block.")
    def get(self):
        """Editors' pins and blocks."""
        rules = sorted(current_services().store.all("pins").values(), key=lambda r: r["query"])
        return json_response(_rules.dump({"items": rules}))


# merge_slashes=False: a query such as "//" or "a//b" is the query, not a path to tidy up.
@ns.route("/hot/rules/<text:query>", merge_slashes=False)
class HotRule(Resource):
    @authenticated()
    @path_arguments(HotRulePathSchema)
    @body(HotRuleWriteSchema)
    @answers(HotRuleSchema, description="The rule as stored.")
    @other_responses({400: "Invalid body or query.", 415: "The body is not JSON."})
    def put(self, data, query):
        """Pin a search (at a position) or block it from 大家都在搜."""
        rule = current_services().hot_rules.put(query, data["action"], data["position"])
        return written(orjson.dumps(_rule.dump(rule)))

    @authenticated()
    @path_arguments(HotRulePathSchema)
    @ns.response(204, "Removed.")
    @other_responses({400: "Invalid query.", 404: "No rule for that search."})
    def delete(self, query):
        """Remove a pin or block."""
        current_services().hot_rules.delete(query)
        return "", 204
