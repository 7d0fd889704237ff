"""The HTTP layer: one flask-restx namespace per resource, documented from
the marshmallow schemas."""

from __future__ import annotations

from flask import Flask
from flask_restx import Api

from . import articles, ops, recommendations, search, topics
from .openapi import registry
from .problems import problem_for

DESCRIPTION = (
    "Chinese health-insurance (医保) knowledge: articles (question pages), topics, search and "
    "recommendations. Errors are RFC 7807 problem documents. Writes need "
    "`Authorization: Bearer <key>` (use Authorize). Unknown query parameters are rejected."
)


class ServiceApi(Api):
    """flask-restx Api whose errors are problem documents and whose Swagger
    document carries every schema definition apispec produced."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # restx's default handlers are for its field masks (X-Fields), which nothing here uses, and
        # handle_error answers every error anyway: listed, they only put MaskError and ParseError
        # into the Swagger document's responses.
        self.error_handlers.clear()

    def handle_error(self, e):
        return problem_for(e)

    def ns_urls(self, ns, urls):
        # restx treats a registered path of "" as "not given"; ops lives at the root.
        path = self.get_ns_path(ns)
        return [(ns.path if path is None else path) + url for url in urls]

    @property
    def __schema__(self):
        schema = super().__schema__
        schema.setdefault("definitions", {}).update(registry.definitions())
        return schema


def init_api(app: Flask) -> Api:
    app.url_map.converters["text"] = search.AnyText
    api = ServiceApi(
        app,
        version="1.0",
        title="医保 knowledge API",
        description=DESCRIPTION,
        doc="/docs",
        default_swagger_filename="api/v1/swagger.json",
        authorizations={
            "bearer": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Type: Bearer <your key>",
            }
        },
    )
    # Errors answer application/problem+json; listing it makes the document say so.
    api.representations["application/problem+json"] = api.representations["application/json"]
    api.add_namespace(articles.ns, path="/api/v1/articles")
    api.add_namespace(topics.ns, path="/api/v1/topics")
    api.add_namespace(search.ns, path="/api/v1/search")
    api.add_namespace(recommendations.ns, path="/api/v1/recommendations")
    api.add_namespace(ops.ns, path="")
    api.models.update(registry.models)
    return api
