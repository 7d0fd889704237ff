"""The search index, related lists and catalogue columns are saved beside the snapshot and
loaded by the next start; the journal written since is replayed into them."""

from __future__ import annotations

import shutil

from service import create_app
from service.domain.content.catalog import Catalog
from service.domain.store.derived import SERVICE_DIR, code_id

QUERIES = ["医保报销", "yibaoka", "异地就医备案", "佛山", "门诊"]
LISTS = [{"per_page": 100}, {"sort": "title", "per_page": 100}, {"topic": "yidi", "sort": "published_at"},
         {"region": "广东", "per_page": 50}, {"status": "draft", "per_page": 100}]


def _app(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": "test-write-key", "TESTING": True,
                      "RATE_LIMIT": "100000 per minute", "RATE_LIMIT_WRITE": "100000 per minute"})
    app.extensions["service"].open()
    return app


def _answers(client, article_ids):
    """What readers see from the indexes: search pages and related cards."""
    out = {q: client.get("/api/v1/search", query_string={"q": q}).get_json() for q in QUERIES}
    headers = {"Authorization": "Bearer test-write-key"}  # drafts are listed to editors
    for n, query in enumerate(LISTS):
        out[f"list {n}"] = client.get("/api/v1/articles", query_string=query, headers=headers).get_json()
    out["topics"] = client.get("/api/v1/topics").get_json()
    for aid in article_ids:
        out[aid] = client.get(f"/api/v1/articles/{aid}/related?limit=20").get_json()
    return out


def _saved(data_dir):
    return {p.name: p.stat().st_ino for p in (data_dir / "indexes").glob("*.arrays")}


def test_a_restart_loads_the_saved_indexes_and_answers_the_same(data_dir, monkeypatch):
    first = _app(data_dir)
    ids = sorted(first.extensions["service"].store.all("articles"))[:12]
    before = _answers(first.test_client(), ids)
    files = _saved(data_dir)
    assert sorted(name.split("-")[0] for name in files) == ["catalog", "related", "search"]

    def never(self, records):
        raise AssertionError("the catalogue's columns are loaded, not built from every record")

    monkeypatch.setattr(Catalog, "_build", never)
    again = _app(data_dir)
    assert _saved(data_dir) == files  # loaded, not built and saved again
    assert _answers(again.test_client(), ids) == before


def test_changes_after_the_snapshot_are_replayed_into_loaded_indexes(data_dir, write_headers):
    first = _app(data_dir)
    client = first.test_client()
    body = "## 补办\n\n- 带身份证到社保窗口补办医保卡。\n- 佛山可在粤省事线上补办。"
    created = client.post("/api/v1/articles", headers=write_headers,
                          json={"title": "佛山医保卡丢了怎么补办", "body": body})
    assert created.status_code == 201
    new_id = created.get_json()["id"]
    victim = sorted(first.extensions["service"].store.all("articles"))[0]
    assert client.delete(f"/api/v1/articles/{victim}", headers=write_headers).status_code == 204
    files = _saved(data_dir)

    again = _app(data_dir)  # loads the snapshot's indexes, then replays the journal into them
    assert _saved(data_dir) == files
    fresh = again.test_client()
    hits = fresh.get("/api/v1/search", query_string={"q": "医保卡补办"}).get_json()["items"]
    assert hits[0]["id"] == new_id
    assert all(h["id"] != victim for h in fresh.get("/api/v1/search", query_string={"q": "医保"}).get_json()["items"])
    assert fresh.get(f"/api/v1/articles/{new_id}/related").get_json()["items"]
    # The same answers as a service that built everything from scratch.
    rebuilt_dir = data_dir.parent / "rebuilt"
    rebuilt_dir.mkdir()
    for name in ("snapshot.json", "journal.jsonl"):
        (rebuilt_dir / name).write_bytes((data_dir / name).read_bytes())
    rebuilt = _app(rebuilt_dir).test_client()
    ids = [new_id] + sorted(again.extensions["service"].store.all("articles"))[:8]
    assert _answers(fresh, ids) == _answers(rebuilt, ids)


def test_a_damaged_index_file_is_rebuilt(data_dir):
    first = _app(data_dir)
    ids = sorted(first.extensions["service"].store.all("articles"))[:5]
    before = _answers(first.test_client(), ids)
    for path in (data_dir / "indexes").glob("*.arrays"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    again = _app(data_dir)
    assert _answers(again.test_client(), ids) == before
    assert all(p.stat().st_size > 0 for p in (data_dir / "indexes").glob("*.arrays"))
    third = _app(data_dir)  # and the rewritten files load
    assert _answers(third.test_client(), ids) == before


def test_a_compaction_saves_the_indexes_for_the_new_snapshot(data_dir, write_headers):
    first = _app(data_dir)
    old = _saved(data_dir)
    client = first.test_client()
    created = client.post("/api/v1/articles", headers=write_headers,
                          json={"title": "新生儿医保怎么办理", "body": "正文"})
    assert created.status_code == 201
    first.extensions["service"].store.compact()
    new = _saved(data_dir)
    assert len(new) == 3 and not (set(new) & set(old))  # saved by the compacting process; the old ones gone
    ids = [created.get_json()["id"]] + sorted(first.extensions["service"].store.all("articles"))[:6]
    again = _app(data_dir)
    assert _saved(data_dir) == new  # loaded, not rebuilt
    assert _answers(again.test_client(), ids) == _answers(client, ids)


def test_an_unusable_index_directory_only_costs_a_rebuild(data_dir):
    _app(data_dir)
    index_dir = data_dir / "indexes"
    shutil.rmtree(index_dir)
    index_dir.write_text("not a directory")  # refuses files even to root, unlike permissions
    for _ in range(2):
        app = _app(data_dir)
        assert app.test_client().get("/api/v1/search", query_string={"q": "医保"}).get_json()["items"]


def test_the_saved_files_are_keyed_by_the_code_that_shapes_an_index(tmp_path):
    """A change inside a subpackage counts (the hash walks folders); a change to how
    articles are written does not (it would cost every deployment a full rebuild)."""
    copy = tmp_path / "service"
    shutil.copytree(SERVICE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    first = code_id(copy)

    def edited(relative: str) -> str:
        path = copy / relative
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        code_id.cache_clear()
        return code_id(copy)

    assert edited("domain/content/article_writes.py") == first
    assert edited("api/search.py") == first
    shaped = edited("domain/search/postings.py")
    assert shaped != first
    assert edited("domain/recommend/vectors.py") != shaped
    assert edited("data/dictionary.txt") not in (first, shaped)
    code_id.cache_clear()
