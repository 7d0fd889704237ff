"""Schema 1 -> 2.

Version 1 kept an article's date as `date`, its topics as topic *names*, and
had no `regions` or `tags`. Version 2 names the date `published_at` (what the
API calls it), refers to topics by slug (names can be edited, slugs are
stable), and adds empty `regions` and `tags` lists.
"""

FROM_VERSION = 1
TO_VERSION = 2


def upgrade(doc: dict) -> dict:
    slug_by_name = {t["name"]: t["slug"] for t in doc.get("topics", [])}
    for article in doc.get("articles", []):
        if "date" in article:
            article["published_at"] = article.pop("date")
        article["topics"] = [slug_by_name.get(name, name) for name in article.get("topics", [])]
        article.setdefault("regions", [])
        article.setdefault("tags", [])
    doc.setdefault("pins", [])
    return doc
