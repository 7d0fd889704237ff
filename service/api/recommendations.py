"""/api/v1/recommendations: what is being read now, and what to read next."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from ..current import current_services
from .decorators import answers, arguments, other_responses
from .representations import cards
from .responses import cacheable, json_response
from .schemas import CardListSchema, ForYouQuerySchema, ForYouSchema, TrendingQuerySchema

ns = Namespace("recommendations", description="Trending and for-you")

TRENDING_REASON = "最近很多人在看"


@ns.route("/trending")
class TrendingList(Resource):
    @arguments(TrendingQuerySchema)
    @answers(CardListSchema, description="Most viewed recently (views fade with a half-life).")
    @other_responses({400: "Invalid parameters."})
    def get(self, args):
        """Trending: time-decayed views, optionally within a topic or a region."""
        services = current_services()
        services.views.refresh()  # what every worker published (this one's flusher publishes its own)
        ranked = services.trending.trending(args["limit"], topic=args.get("topic"), region=args.get("region"))
        items = cards([{"id": aid, "score": score, "reasons": [TRENDING_REASON]} for aid, score in ranked])
        return cacheable({"items": items})


@ns.route("/for-you")
class ForYouList(Resource):
    @arguments(ForYouQuerySchema)
    @answers(ForYouSchema, description="What to read next; unknown history ids are listed in meta.")
    @other_responses({400: "Invalid parameters."})
    def get(self, args):
        """For you: blends the related lists of what the reader viewed (newest first)."""
        services = current_services()
        services.views.refresh()
        history = args.get("history") or []
        items, unknown = services.for_you.for_you(history, args["limit"])
        known = [aid for aid in history if aid not in set(unknown)]
        meta = {"unknown": unknown, "fallback": not known}
        return json_response({"items": cards(items), "meta": meta})
