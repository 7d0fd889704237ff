"""What editors write and readers browse: article and topic writes, the topic taxonomy, regions,
the catalogue of article lists, Markdown, and the page importer."""

from .article_writes import ArticleWrites
from .catalog import Catalog
from .topic_writes import TopicWrites

__all__ = ["ArticleWrites", "Catalog", "TopicWrites"]
