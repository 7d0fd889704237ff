"""What editors write and readers browse: the article record and its visibility, article and
topic writes, the topic taxonomy, regions, the catalogue of article lists, Markdown, the page
importer and the seed dataset a new store starts from."""

from .article_writes import ArticleWrites
from .catalog import Catalog
from .topic_writes import TopicWrites

__all__ = ["ArticleWrites", "Catalog", "TopicWrites"]
