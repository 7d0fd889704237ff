"""/healthz and /readyz: for load balancers and orchestrators."""

from __future__ import annotations

from flask_restx import Namespace, Resource

from ..current import current_services
from ..observability import metrics_response
from .decorators import answers, other_responses
from .problems import ApiProblem
from .responses import json_response
from .schemas import HealthSchema, ReadinessSchema

ns = Namespace("ops", description="Operations")


@ns.route("/healthz")
class Health(Resource):
    @answers(HealthSchema, description="The process is alive.")
    def get(self):
        """Liveness."""
        return json_response({"status": "ok"})


@ns.route("/readyz")
class Ready(Resource):
    @answers(ReadinessSchema, description="The store is loaded and its indexes built.")
    @other_responses({503: "Not ready yet."})
    def get(self):
        """Readiness."""
        services = current_services()
        if not services.ready:
            raise ApiProblem(503, "The store or its indexes are still loading.")
        store = services.store
        latest = store.latest_seq()
        return json_response({
            "status": "ready",
            "articles": len(store.all("articles")),
            "topics": len(store.all("topics")),
            "seq": store.seq,
            "backend": store.BACKEND,
            "latest": latest,
            "lag": None if latest is None else max(0, latest - store.seq),
        })


@ns.route("/metrics")
class Metrics(Resource):
    @ns.produces(["text/plain"])
    @ns.response(200, "Prometheus text exposition: request counts and latency per route, journal, indexes.")
    def get(self):
        """Prometheus metrics."""
        services = current_services()
        return metrics_response(services.index_sizes(), services.store.log_bytes())
