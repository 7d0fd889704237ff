"""Every request and response shape of the API, one marshmallow schema each.

The Swagger document is generated from these classes (see openapi.py), so
what the docs say and what the code validates cannot drift apart.
"""

from __future__ import annotations

import copy

from marshmallow import Schema, fields, missing, validate

from .field_types import IsoDate, Text, Timestamp, comma_list

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
MAX_PAGE = 100_000
ARTICLE_SORTS = ("-published_at", "published_at", "-views", "title")
STATUSES = ("published", "draft")


# -- shared --------------------------------------------------------------


class ProblemSchema(Schema):
    """RFC 7807 problem document: every 4xx and 5xx response has this shape."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"example": "Validation failed"})
    status = fields.Integer(required=True, metadata={"example": 400})
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages per offending field or parameter."},
    )
    request_id = fields.String()


class PageMetaSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class PageQuerySchema(Schema):
    page = fields.Integer(
        load_default=1, validate=validate.Range(1, MAX_PAGE), metadata={"description": "From 1."}
    )
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 100))


# -- topics ---------------------------------------------------------------


class TopicRefSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class TopicSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    parent = fields.String(allow_none=True, required=True)
    keywords = fields.List(fields.String(), required=True)
    article_count = fields.Integer(
        required=True, metadata={"description": "Published articles carrying this topic or one of its children."}
    )


class TopicWriteSchema(Schema):
    """Body of PUT (and, with slug, POST) for a topic."""

    name = Text(required=True, validate=validate.Length(1, 40))
    description = Text(load_default="", validate=validate.Length(max=500))
    parent = Text(
        load_default=None, allow_none=True, validate=validate.Regexp(SLUG_PATTERN)
    )
    keywords = fields.List(
        Text(validate=validate.Length(1, 30)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class TopicCreateSchema(TopicWriteSchema):
    slug = Text(
        required=True,
        validate=validate.Regexp(SLUG_PATTERN, error="Lower-case ASCII letters, digits and '-'."),
    )


class TopicPageSchema(Schema):
    items = fields.List(fields.Nested(TopicSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


# -- cards: 相关推荐, trending, for-you, and 大家都在搜 ------------------------


class ScoredArticleSchema(Schema):
    """What every card shows of an article, with how well it fits."""

    id = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    category = fields.String(required=True)
    published_at = IsoDate(required=True)
    score = fields.Float(required=True)


class CardSchema(ScoredArticleSchema):
    """An article as a recommendation card, with why it is there."""

    reasons = fields.List(fields.String(), required=True, metadata={"example": ["同属「异地就医」", "都在讲 备案"]})


class CardListSchema(Schema):
    items = fields.List(fields.Nested(CardSchema), required=True)


HOT_SOURCES = ("pin", "search", "topic")


class HotSearchSchema(Schema):
    query = fields.String(required=True)
    count = fields.Integer(required=True, metadata={
        "description": "Searches counted for it, at most one per reader and hour (0 for a new pin or a topic)."})
    pinned = fields.Boolean(required=True)
    source = fields.String(required=True, validate=validate.OneOf(HOT_SOURCES), metadata={
        "description": "pin: an editor's; search: searched by enough readers; topic: a topic name, "
                       "filling the list while searches are too few."})


# -- articles -------------------------------------------------------------


class ArticleSchema(Schema):
    """One question page."""

    id = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "The question."})
    answer = fields.String(
        allow_none=True, required=True, metadata={"description": "Short direct answer, or null."}
    )
    summary = fields.String(required=True, metadata={"description": "Plain text, <= 120 chars."})
    body = fields.String(required=True, metadata={"description": "Markdown source."})
    body_html = fields.String(metadata={"description": "Sanitised HTML; with formats=html."})
    body_text = fields.String(metadata={"description": "Plain text; with formats=text."})
    category = fields.String(required=True)
    topics = fields.List(fields.Nested(TopicRefSchema), required=True)
    tags = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    disclaimer = fields.String(required=True)
    published_at = IsoDate(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    version = fields.Integer(required=True)
    views = fields.Integer(required=True)
    related = fields.List(fields.Nested(CardSchema), metadata={"description": "相关推荐; with include=related."})
    hot = fields.List(fields.Nested(HotSearchSchema), metadata={"description": "大家都在搜; with include=hot."})


ARTICLE_FIELDS = tuple(ArticleSchema().fields)
# 相关推荐 and 大家都在搜 are lists embedded in one article by ?include=, not fields
# of the record: ?fields= names the others, and says so when asked for these.
EMBEDDED = ("related", "hot")
SPARSE_FIELDS = tuple(name for name in ARTICLE_FIELDS if name not in EMBEDDED)
EMBED_HINTS = {name: f"'{name}' is embedded with include={name} (on GET /articles/{{id}}), not named in fields."
               for name in EMBEDDED}


def sparse_fields():
    return comma_list(SPARSE_FIELDS, hints=EMBED_HINTS, data_key="fields", attribute="fields",
                      description="Sparse fieldset (related and hot come with include).")


class ArticleWriteSchema(Schema):
    """Body of PUT for an article (POST adds an optional id; PATCH makes all optional)."""

    title = Text(required=True, validate=validate.Length(1, 200))
    answer = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    summary = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=120),
        metadata={"description": "Derived from the body when omitted."},
    )
    body = Text(required=True, validate=validate.Length(1, 100_000))
    category = Text(load_default=None, allow_none=True, validate=validate.Length(1, 30))
    topics = fields.List(
        Text(validate=validate.Regexp(SLUG_PATTERN)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10),
        metadata={"description": "Topic slugs; assigned from the text when omitted or null."},
    )
    tags = fields.List(
        Text(validate=validate.Length(1, 30)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    regions = fields.List(
        Text(validate=validate.Length(1, 30)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "Places; recognised in the text when omitted or null."},
    )
    disclaimer = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    published_at = IsoDate(load_default=None, allow_none=True)
    status = Text(load_default="published", validate=validate.OneOf(STATUSES))


class ArticleCreateSchema(ArticleWriteSchema):
    id = Text(
        validate=validate.Regexp(ID_PATTERN, error="Lower-case ASCII letters, digits, '-' and '_'."),
        metadata={"description": "Optional; generated when omitted."},
    )


class ArticleListQuerySchema(PageQuerySchema):
    topic = Text(validate=validate.Length(1, 64), metadata={"description": "Topic slug."})
    region = Text(validate=validate.Length(1, 30), metadata={"description": "e.g. 广州, 江西"})
    category = Text(validate=validate.Length(1, 30))
    tag = Text(validate=validate.Length(1, 30))
    status = Text(
        validate=validate.OneOf(STATUSES), metadata={"description": "draft needs a key."}
    )
    published_after = IsoDate(metadata={"description": "Inclusive."})
    published_before = IsoDate(metadata={"description": "Inclusive."})
    sort = Text(load_default="-published_at", validate=validate.OneOf(ARTICLE_SORTS))
    # published_after later than published_before is an empty range, not an error.
    fields_ = sparse_fields()
    formats = comma_list(("html", "text"), description="Rendered bodies to add.")


class ArticleGetQuerySchema(Schema):
    include = comma_list(("related", "hot"), description="Embed 相关推荐 and 大家都在搜: a whole page in one request.")
    fields_ = sparse_fields()
    formats = comma_list(("html", "text"), description="Rendered bodies to add.")


# -- operations -----------------------------------------------------------


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ready"})
    articles = fields.Integer(required=True)
    topics = fields.Integer(required=True)
    seq = fields.Integer(required=True, metadata={"description": "Last change applied."})
    backend = fields.String(required=True, metadata={"description": "The store of record: json or postgres.",
                                                      "example": "json"})
    latest = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The newest change in the store of record (null while it cannot be reached)."})
    lag = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Changes in the store of record this node has not applied yet."})


def optional_fields(schema: type[Schema], name: str) -> type[Schema]:
    """The same fields, none required and none defaulted: the PATCH shape of a
    write schema (a missing field means 'leave it'), or a sparse fieldset."""
    patched = {}
    for field_name, field in schema._declared_fields.items():
        field = copy.deepcopy(field)
        field.required = False
        field.load_default = missing
        patched[field_name] = field
    return Schema.from_dict(patched, name=name)


ArticlePatchSchema = optional_fields(ArticleWriteSchema, "ArticlePatchSchema")
TopicPatchSchema = optional_fields(TopicWriteSchema, "TopicPatchSchema")
# What GET answers: an Article, narrowed to the requested fields by ?fields=.
SparseArticleSchema = optional_fields(ArticleSchema, "SparseArticleSchema")


class ArticlePageSchema(Schema):
    items = fields.List(
        fields.Nested(SparseArticleSchema),
        required=True,
        metadata={"description": "Articles; every field of Article unless ?fields= narrows them."},
    )
    meta = fields.Nested(PageMetaSchema, required=True)


# -- search ---------------------------------------------------------------

# Spelled out rather than \s, which means other characters in Python (\x1c-\x1f, \x85) than in the
# ECMA regexes of the spec (\ufeff): this way the service and what clients read in the spec agree.
SPACE = r"\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = validate.Regexp(rf"^[^\x00]*[^\x00{SPACE}][^\x00]*$", error="Must not be blank.")
MAX_QUERY = 200


class SearchQuerySchema(PageQuerySchema):
    q = Text(required=True, validate=[NOT_BLANK, validate.Length(max=MAX_QUERY)],
             metadata={"description": "What the reader typed: Chinese, pinyin, traditional characters all work."})
    topic = Text(validate=validate.Length(1, 64), metadata={"description": "Topic slug."})
    region = Text(validate=validate.Length(1, 30), metadata={"description": "e.g. 广州, 江西"})


class HighlightsSchema(Schema):
    title = fields.String(required=True, metadata={"description": "HTML-escaped, matches in <em>."})
    summary = fields.String(required=True, metadata={"description": "HTML-escaped, matches in <em>."})


class SearchHitSchema(ScoredArticleSchema):
    highlights = fields.Nested(HighlightsSchema, required=True)


class TopicFacetSchema(Schema):
    slug = fields.String(required=True)
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class RegionFacetSchema(Schema):
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class FacetsSchema(Schema):
    topics = fields.List(fields.Nested(TopicFacetSchema), required=True)
    regions = fields.List(fields.Nested(RegionFacetSchema), required=True)


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(SearchHitSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)
    facets = fields.Nested(
        FacetsSchema, required=True,
        metadata={"description": "Counts over the query's matches, each with the other filter applied."},
    )


class SuggestQuerySchema(Schema):
    q = Text(required=True, validate=[NOT_BLANK, validate.Length(max=50)],
             metadata={"description": "What is in the search box so far (characters, pinyin or initials)."})
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 20))


class SuggestionSchema(Schema):
    text = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("query", "title")))
    id = fields.String(metadata={"description": "The article, for a title."})


class SuggestionListSchema(Schema):
    items = fields.List(fields.Nested(SuggestionSchema), required=True)


class HotQuerySchema(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))


class HotListSchema(Schema):
    items = fields.List(fields.Nested(HotSearchSchema), required=True)


class HotCountedQuerySchema(PageQuerySchema):
    pass


class HotCountedSchema(Schema):
    query = fields.String(required=True, metadata={"description": "As counted (normalised)."})
    count = fields.Integer(required=True, metadata={
        "description": "Searches counted, at most one per reader and hour."})
    readers = fields.Integer(required=True, metadata={"description": "Distinct readers in the last 14 days."})
    shown = fields.Boolean(required=True, metadata={
        "description": "Whether it qualifies for 大家都在搜: pinned, or enough readers and not blocked."})
    rule = fields.String(required=True, allow_none=True, validate=validate.OneOf(("pin", "block")))


class HotCountedPageSchema(Schema):
    items = fields.List(fields.Nested(HotCountedSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)


class HotRulePathSchema(Schema):
    query = Text(required=True, validate=[NOT_BLANK, validate.Length(1, MAX_QUERY)], metadata={
        "description": "The search, as people type it, percent-encoded (/ as %2F); it is normalised: "
                       "異地就醫 and 异地就医 are one."})


class HotRuleWriteSchema(Schema):
    action = Text(required=True, validate=validate.OneOf(("pin", "block")))
    position = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 50),
        metadata={"description": "Where a pin stands in the list (1 = first); pins without one follow."},
    )


class HotRuleSchema(Schema):
    query = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(("pin", "block")))
    position = fields.Integer(required=True, allow_none=True)
    updated_at = Timestamp(required=True)


class HotRuleListSchema(Schema):
    items = fields.List(fields.Nested(HotRuleSchema), required=True)


# -- recommendations ------------------------------------------------------


class RelatedQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 50))


class TrendingQuerySchema(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))
    topic = Text(validate=validate.Length(1, 64), metadata={"description": "Topic slug."})
    region = Text(validate=validate.Length(1, 30), metadata={"description": "e.g. 广州, 江西"})


class ForYouQuerySchema(Schema):
    history = comma_list(max_items=50, description="Article ids the reader viewed, newest first.")
    limit = fields.Integer(load_default=10, validate=validate.Range(1, 50))


class ForYouMetaSchema(Schema):
    unknown = fields.List(fields.String(), required=True, metadata={"description": "History ids ignored."})
    fallback = fields.Boolean(required=True, metadata={"description": "True when the history gave nothing."})


class ForYouSchema(Schema):
    items = fields.List(fields.Nested(CardSchema), required=True)
    meta = fields.Nested(ForYouMetaSchema, required=True)


class ViewRecordedSchema(Schema):
    id = fields.String(required=True)
    views = fields.Integer(required=True, metadata={"description": "Views counted so far (all workers)."})
