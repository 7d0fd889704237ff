"""Finding articles: the inverted index, query planning and scoring, pinyin, synonyms,
suggestions and highlighting."""

from .index import SearchIndex

__all__ = ["SearchIndex"]
