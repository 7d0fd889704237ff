"""The shapes of stored records, for checking a store or a backup.

These describe what the snapshot and journal hold (topic slugs, derivation
flags), which is not what the API shows; the API's shapes are in api/schemas.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate


class TopicRecordSchema(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$"))
    name = fields.String(required=True, validate=validate.Length(1, 40))
    description = fields.String(required=True)
    parent = fields.String(required=True, allow_none=True)
    keywords = fields.List(fields.String(), required=True)


class ArticleRecordSchema(Schema):
    class Meta:
        unknown = INCLUDE  # derivation flags and future fields are not errors

    id = fields.String(required=True, validate=validate.Length(1, 64))
    title = fields.String(required=True, validate=validate.Length(1, 200))
    answer = fields.String(required=True, allow_none=True)
    summary = fields.String(required=True, validate=validate.Length(max=120))
    body = fields.String(required=True)
    category = fields.String(required=True)
    topics = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    disclaimer = fields.String(required=True)
    published_at = fields.Date(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("published", "draft")))
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class PinRecordSchema(Schema):
    """An editor's rule for 大家都在搜."""

    query = fields.String(required=True, validate=validate.Length(1, 30))
    action = fields.String(required=True, validate=validate.OneOf(("pin", "block")))
    position = fields.Integer(required=True, allow_none=True, validate=validate.Range(1, 50))
    updated_at = fields.String(required=True)


def check_document(doc: dict) -> list[str]:
    """Every problem in a snapshot-shaped document, as readable lines."""
    problems = []
    checks = (("topics", "slug", TopicRecordSchema()), ("articles", "id", ArticleRecordSchema()),
              ("pins", "query", PinRecordSchema()))
    for kind, key, schema in checks:
        records = doc.get(kind, [])
        if not isinstance(records, list):
            problems.append(f"{kind}: must be a list")
            continue
        for index, record in enumerate(records):
            where = f"{kind}[{index}]"
            if isinstance(record, dict) and record.get(key):
                where += f" ({key} {record[key]})"
            try:
                schema.load(record)
            except ValidationError as exc:
                for field, messages in sorted(exc.normalized_messages().items()):
                    problems.append(f"{where}: {field}: {'; '.join(map(str, messages))}")
    slugs = {t.get("slug") for t in doc.get("topics", []) if isinstance(t, dict)}
    for article in doc.get("articles", []):
        if isinstance(article, dict):
            for slug in article.get("topics") or []:
                if slug not in slugs:
                    problems.append(f"articles ({article.get('id')}): topics: no topic '{slug}'")
    return problems
