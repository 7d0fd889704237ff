"""The data directory each size starts from: the synthetic corpus written as snapshot.json, kept in
var/bench between runs so the same corpus is generated once."""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from pathlib import Path

from . import corpus, store_corpus
from .paths import CACHE, ROOT


def corpus_key(size: int, seed: int) -> str:
    h = hashlib.sha256(f"{size}:{seed}".encode())
    for path in (Path(corpus.__file__), Path(store_corpus.__file__), ROOT / "seeds" / "articles.json",
                 ROOT / "seeds" / "topics.json"):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def prepare_store(data_dir: Path, size: int, seed: int, use_cache: bool) -> dict:
    """snapshot.json in data_dir (from the cache when the same corpus was made before);
    returns facts about it and a sample of published article ids."""
    from service.domain.store.snapshot import read_document

    started = time.perf_counter()
    cached = CACHE / f"snapshot-{size}-{seed}-{corpus_key(size, seed)}.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    if use_cache and cached.exists():
        shutil.copyfile(cached, data_dir / "snapshot.json")
        from_cache = True
    else:
        store_corpus.write(data_dir, size, seed)
        from_cache = False
        if use_cache:
            CACHE.mkdir(parents=True, exist_ok=True)
            for old in CACHE.glob(f"snapshot-{size}-{seed}-*.json"):
                old.unlink()
            shutil.copyfile(data_dir / "snapshot.json", cached)
    snapshot = data_dir / "snapshot.json"
    doc = read_document(snapshot)  # the service's reader: a 1M snapshot is too big for one orjson call
    published = [a["id"] for a in doc["articles"] if a["status"] == "published"]
    info = {
        "articles": len(doc["articles"]), "topics": len(doc["topics"]), "snapshot_mb": snapshot.stat().st_size / 2**20,
        "seconds": time.perf_counter() - started, "from_cache": from_cache,
        # the first seed pages (the frontend's demo pages) and a deterministic sample of the rest
        "sample_ids": published[:5] + random.Random(11).sample(published[5:], min(195, len(published) - 5)),
    }
    sampled = set(info["sample_ids"])
    info["sample_titles"] = [a["title"] for a in doc["articles"] if a["id"] in sampled]
    del doc
    return info
