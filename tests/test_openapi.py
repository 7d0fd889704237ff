"""The Swagger document: valid, complete, and generated from the schemas."""

from __future__ import annotations

import inspect
import re

from marshmallow import Schema
from openapi_spec_validator import validate

from service.api import schemas
from service.api.openapi import schema_name

NOT_API = {"static", "doc", "specs", "index", "root", "restx_doc.static"}


def spec(client):
    response = client.get("/api/v1/swagger.json")
    assert response.status_code == 200
    return response.get_json()


def test_spec_is_valid_swagger_2(client):
    document = spec(client)
    assert document["swagger"] == "2.0"
    validate(document)


def test_every_route_is_documented(app, client):
    paths = spec(client)["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_API:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert path in paths, f"{rule.rule} is not in the spec"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {path} is not in the spec"


def declared_schemas():
    for _, cls in inspect.getmembers(schemas, inspect.isclass):
        if issubclass(cls, Schema) and cls is not Schema and cls.__module__ == schemas.__name__:
            yield cls
    yield schemas.ArticlePatchSchema
    yield schemas.TopicPatchSchema


def test_each_model_matches_its_schema(client):
    definitions = spec(client)["definitions"]
    documented = 0
    for cls in declared_schemas():
        name = schema_name(cls)
        if name not in definitions:
            continue
        documented += 1
        model = definitions[name]
        instance = cls()
        names = {field.data_key or key for key, field in instance.fields.items() if not field.load_only}
        assert set(model["properties"]) == names, name
        required = {field.data_key or key for key, field in instance.fields.items() if field.required}
        assert set(model.get("required", [])) == required, name
    assert documented >= 10


def test_bodies_params_and_security_come_from_schemas(client):
    document = spec(client)
    post = document["paths"]["/api/v1/articles"]["post"]
    body = next(p for p in post["parameters"] if p["in"] == "body")
    assert body["schema"]["$ref"] == "#/definitions/ArticleCreate"
    assert post["security"] == [{"bearer": []}]
    article = document["definitions"]["ArticleWrite"]
    assert article["properties"]["title"]["maxLength"] == 200
    assert article["properties"]["status"]["enum"] == ["published", "draft"]
    assert article["additionalProperties"] is False
    params = {p["name"]: p for p in document["paths"]["/api/v1/articles"]["get"]["parameters"]}
    assert params["per_page"]["maximum"] == 100 and params["per_page"]["minimum"] == 1
    assert params["sort"]["enum"] == list(schemas.ARTICLE_SORTS)
    assert "fields" in params and "formats" in params
    patch = document["definitions"]["ArticlePatch"]
    assert "required" not in patch
    assert document["definitions"]["Article"]["properties"]["topics"]["items"]["$ref"] == "#/definitions/TopicRef"
    assert "bearer" in document["securityDefinitions"]


def test_docs_page_and_root_redirect(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger" in docs.data.lower()
    root = client.get("/")
    assert root.status_code == 302 and root.headers["Location"].endswith("/docs")
