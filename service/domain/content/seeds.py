"""The first store: the committed dataset in seeds/, as a snapshot document."""

from __future__ import annotations

from pathlib import Path

import orjson

from ..store.snapshot import COLLECTIONS, SCHEMA_VERSION
from .article_record import stamped

SEEDS_DIR = Path(__file__).resolve().parents[3] / "seeds"


def seed_document(seeds_dir: Path = SEEDS_DIR) -> dict:
    """seeds/topics.json and seeds/articles.json as a snapshot at seq 0.

    The dataset holds no bookkeeping: each article is stamped as written at
    its publication date, so a fresh store is the same on every machine.
    """
    doc = {"schema_version": SCHEMA_VERSION, "seq": 0}
    doc.update({name: [] for name in COLLECTIONS})
    for name in ("topics", "articles"):
        path = Path(seeds_dir) / f"{name}.json"
        if path.exists():
            data = orjson.loads(path.read_bytes())
            doc[name] = data[name]
            if name == "articles":  # the records whose layout migrations change
                doc["schema_version"] = data.get("schema_version", SCHEMA_VERSION)
    doc["articles"] = [stamped(a, f"{a['published_at']}T00:00:00.000Z") for a in doc["articles"]]
    return doc
