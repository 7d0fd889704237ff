"""From marshmallow schemas to the Swagger 2.0 document flask-restx serves.

apispec's marshmallow converter turns each schema into JSON Schema; those
become flask-restx SchemaModels (for responses and request bodies) and
parameter lists (for query strings). Nested schemas become definitions that
are merged into the document, so no shape is ever written twice by hand.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_restx import SchemaModel
from marshmallow import Schema


def schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__
    return name[: -len("Schema")] if name.endswith("Schema") and name != "Schema" else name


class SchemaRegistry:
    def __init__(self):
        self._plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
        self.spec = APISpec("schemas", "1", "2.0", plugins=[self._plugin])
        self.models: dict[str, SchemaModel] = {}

    def model(self, schema: type[Schema]) -> SchemaModel:
        """The restx model documenting `schema` (created once per schema)."""
        name = schema_name(schema)
        if name not in self.models:
            if name not in self.spec.components.schemas:
                self.spec.components.schema(name, schema=schema)
            self.models[name] = SchemaModel(name, self.definitions()[name])
        return self.models[name]

    def query_params(self, schema: type[Schema], location: str = "query") -> dict:
        """restx `params` for a query-string (or URL path) schema."""
        params = self._plugin.converter.schema2parameters(schema, location=location)
        return {p.pop("name"): _without_null_defaults(p) for p in params}

    def definitions(self) -> dict:
        return _without_null_defaults(self.spec.to_dict().get("definitions", {}))


def _without_null_defaults(node):
    """Swagger 2.0 has no null: a `default: null` (from load_default=None)
    only restates that the field is optional, so it is left out."""
    if isinstance(node, dict):
        return {k: _without_null_defaults(v) for k, v in node.items() if not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_without_null_defaults(v) for v in node]
    return node


registry = SchemaRegistry()
