"""After a background compaction a process serves the indexes saved for the new snapshot (mapped,
shared with every other process), brought up to its state, with the same answers as a fresh build."""

from __future__ import annotations

import mmap

import numpy as np

from service import create_app
from service.domain.content.catalog import ArticleQuery, Catalog
from service.domain.content.regions import normalise_region
from service.domain.recommend.related import Related
from service.domain.search import index as search_index
from service.domain.search.index import SearchIndex

KEY = "generations-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUERIES = ("医保", "医保卡", "报销", "异地就医备案", "新生儿", "第三代社保卡", "yibaoka")


def _service(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": KEY, "TESTING": True, "RATE_LIMIT_ENABLED": False,
                      "ACCESS_LOG": False, "COMPACT_BYTES": 12_000})
    return app, app.extensions["service"].open()


def _post(client, n: int) -> None:
    body = {"id": f"gen-{n}", "title": f"第三代社保卡第{n}次怎么激活", "body": "社保卡激活流程，医保报销。" * 120,
            "status": "published"}
    response = client.post("/api/v1/articles", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()


def _compacted(service, client, start: int) -> int:
    """Write until a compaction ran in the background and the store reads the new snapshot."""
    before, n = service.store.snapshot_id, start
    while service.store.snapshot_id == before:
        _post(client, n)
        n += 1
        service.store.wait_for_compaction()
    return n


def _mapped(array: np.ndarray) -> bool:
    base = array
    while isinstance(base, np.ndarray | memoryview):
        base = base.base if isinstance(base, np.ndarray) else base.obj
    return isinstance(base, mmap.mmap)


def test_a_process_moves_onto_the_indexes_saved_by_a_compaction(tmp_path):
    app, service = _service(tmp_path / "data")
    client = app.test_client()
    served = service.indexes.snapshot_id
    n = _compacted(service, client, 0)
    assert service.indexes.snapshot_id == served  # still its own, with every change applied to them
    service.generations.prepare()  # off the request turn: loads the new snapshot's files
    _post(client, n)  # a change between the load and the swap is replayed into them too
    service.generations.adopt()
    assert service.generations.adopted == 1
    assert service.indexes.snapshot_id == service.store.snapshot_id != served
    assert _mapped(service.search.postings.docs)  # the file's pages, shared by every process

    records = service.store.all("articles")
    fresh = SearchIndex(service.search.synonyms)
    fresh.build(records.values())
    for q in QUERIES:
        live, built = service.search.search(q, limit=50), fresh.search(q, limit=50)
        assert [(h.id, round(h.score, 9)) for h in live.hits] == [(h.id, round(h.score, 9)) for h in built.hits], q
    assert service.search.search(f"第三代社保卡第{n}次怎么激活").hits[0].id == f"gen-{n}"
    names = {t["slug"]: t["name"] for t in service.store.all("topics").values()}
    related = Related(lambda: records, lambda: names, search=fresh).build()
    for article_id in [f"gen-{i}" for i in range(n + 1)] + sorted(records)[:10]:
        assert service.related.related(article_id) == related.related(article_id), article_id
    catalog = Catalog(service.store, normalise_region, service.view_count)
    for query in (ArticleQuery(), ArticleQuery(sort="title"), ArticleQuery(include_drafts=True)):
        assert list(service.catalog.articles(query)) == list(catalog.articles(query))
    service.close()


def test_files_of_a_snapshot_compacted_over_before_the_swap_are_not_served(tmp_path):
    app, service = _service(tmp_path / "data")
    client = app.test_client()
    n = _compacted(service, client, 0)
    service.generations.prepare()
    _post(client, n)
    service.store.compact()  # another snapshot: what was loaded is for an older one
    service.generations.adopt()
    assert service.generations.adopted == 0
    assert service.indexes.snapshot_id == service.store.snapshot_id  # the compaction here saved its own
    assert service.search.search(f"第三代社保卡第{n}次怎么激活").hits[0].id == f"gen-{n}"
    service.close()


def test_a_delta_due_for_folding_asks_for_a_compaction_instead_of_a_fold_in_each_worker(tmp_path, monkeypatch):
    monkeypatch.setattr(search_index, "DELTA_DOCS", 3)  # a fold is due after three new articles
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "API_KEYS": KEY, "TESTING": True,
                      "RATE_LIMIT_ENABLED": False, "ACCESS_LOG": False})  # the journal alone: no compaction
    service = app.extensions["service"].open()
    client = app.test_client()
    before = service.store.snapshot_id
    for n in range(3):
        _post(client, n)
    assert service.search.postings.delta_docs == 3  # not folded here: a compaction was asked for
    service.store.wait_for_compaction()
    assert service.store.snapshot_id != before
    service.generations.prepare()
    service.generations.adopt()
    assert service.generations.adopted == 1 and service.search.postings.delta_docs == 0
    assert _mapped(service.search.postings.docs)
    assert service.search.search("第三代社保卡第2次怎么激活").hits[0].id == "gen-2"
    for n in range(3, 3 + 3 * search_index.PRIVATE_FOLD_LATER):  # no compaction comes: folded here, later
        service.store.compactor._retry_at = float("inf")
        _post(client, n)
    assert service.search.postings.delta_docs < 3 * search_index.PRIVATE_FOLD_LATER
    service.close()
