"""What editors write and readers browse: article and topic writes, the topic taxonomy, regions,
the catalogue of article lists, Markdown, and the page importer."""
