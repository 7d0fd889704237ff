"""Schema 2 -> 3.

Version 2 kept a `views` number in every article, always 0: views are counted
by the views event log (views.jsonl and its snapshot) and shown from there.
Version 3 no longer stores it.
"""

FROM_VERSION = 2
TO_VERSION = 3


def upgrade(doc: dict) -> dict:
    for article in doc.get("articles", []):
        article.pop("views", None)
    return doc
