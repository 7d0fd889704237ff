"""The PostgreSQL store on the real local server: schema and data migrations, moving from the
embedded store, concurrent writers on two nodes, and the database going away mid-load."""

from __future__ import annotations

import time

import orjson
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service import create_app
from service.domain.store.postgres import PostgresStore
from service.domain.store.snapshot import SCHEMA_VERSION, StoreError

from .conftest import app_config
from .server import in_threads
from .tcp_proxy import Proxy


@pytest.fixture
def database(databases):
    url = databases.create()
    yield url
    databases.drop(url)


def node(url: str, data_dir, api_keys: str):
    """One machine's service on the shared database (its own DATA_DIR)."""
    app = create_app({**app_config(data_dir, api_keys), "DATABASE_URL": url})
    app.extensions["service"].open()
    return app


def sql(url: str, query: str, params=()):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else None


def test_db_upgrade_creates_the_schema_and_seeds_once(database, tmp_path, api_keys):
    app = create_app({**app_config(tmp_path / "a", api_keys), "DATABASE_URL": database})
    first = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and f"at schema version {SCHEMA_VERSION}" in first.output, first.output
    again = create_app({**app_config(tmp_path / "b", api_keys), "DATABASE_URL": database})
    second = again.test_cli_runner().invoke(args=["db", "upgrade"])
    assert "nothing to do" in second.output
    assert sql(database, "SELECT count(*) FROM records WHERE kind = 'articles'")[0][0] == 105
    assert sql(database, "SELECT max(version) FROM schema_migrations")[0][0] == 1
    check = again.test_cli_runner().invoke(args=["db", "check"])
    assert check.exit_code == 0 and "ok: 105 articles" in check.output, check.output
    for services in (app.extensions["service"], again.extensions["service"]):
        services.close()


def test_a_database_newer_than_the_code_stops_the_service(database, tmp_path, api_keys):
    node(database, tmp_path / "a", api_keys).extensions["service"].close()
    sql(database, "INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future.sql')")
    with pytest.raises(StoreError, match="schema is at version 99, newer than this service knows"):
        PostgresStore(database, tmp_path / "b").open()
    sql(database, "DELETE FROM schema_migrations WHERE version = 99")
    sql(database, "UPDATE store_meta SET value = %s WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        PostgresStore(database, tmp_path / "c").open()


def test_records_written_by_older_code_are_migrated(database, tmp_path, api_keys):
    node(database, tmp_path / "a", api_keys).extensions["service"].close()
    sql(database, "UPDATE records SET record = json_build_object('views', 7)::jsonb || record::jsonb "
                  "WHERE kind = 'articles'")
    sql(database, "UPDATE store_meta SET value = '2' WHERE name = 'schema_version'")
    store = PostgresStore(database, tmp_path / "b").open()
    assert all("views" not in a for a in store.all("articles").values())
    version = sql(database, "SELECT value::text FROM store_meta WHERE name = 'schema_version'")[0][0]
    assert version == str(SCHEMA_VERSION)
    store.close()


@pytest.mark.parametrize("backend", ["json"], indirect=True)  # the move starts from the embedded store
def test_moving_from_the_embedded_store_is_export_then_import(database, app, tmp_path, write_headers, api_keys):
    client = app.test_client()
    client.post("/api/v1/articles", json={"id": "moved", "title": "搬家的文章", "body": "正文"}, headers=write_headers)
    app.extensions["service"].hot_rules.put("医保卡", "pin", 1)
    backup = tmp_path / "backup.json"
    assert app.test_cli_runner().invoke(args=["export", str(backup)]).exit_code == 0

    target = node(database, tmp_path / "pg", api_keys)
    result = target.test_cli_runner().invoke(args=["import", str(backup)])
    assert result.exit_code == 0, result.output
    exported = orjson.loads(backup.read_bytes())
    moved = target.extensions["service"].store.document()
    for name in ("articles", "topics", "pins"):
        assert sorted(moved[name], key=orjson.dumps) == sorted(exported[name], key=orjson.dumps), name
    assert target.test_client().get("/api/v1/articles/moved").get_json()["title"] == "搬家的文章"
    target.extensions["service"].close()


def test_concurrent_writers_on_two_nodes_lose_no_update(database, tmp_path, api_keys, write_headers):
    nodes = [node(database, tmp_path / name, api_keys) for name in ("a", "b")]
    article_id = next(iter(nodes[0].extensions["service"].store.all("articles")))
    start = nodes[0].test_client().get(f"/api/v1/articles/{article_id}").get_json()["version"]
    failures = []

    def writer(n: int) -> None:
        client = nodes[n % 2].test_client()
        for i in range(25):
            response = client.patch(f"/api/v1/articles/{article_id}", json={"tags": [f"w{n}-{i}"]},
                                    headers=write_headers)
            if response.status_code != 200:
                failures.append(response.status_code)

    in_threads(writer, 4)
    assert not failures
    for app in nodes:
        assert app.test_client().get(f"/api/v1/articles/{article_id}").get_json()["version"] == start + 100
        app.extensions["service"].close()


def test_a_write_on_one_node_is_seen_on_the_other_within_a_second(database, tmp_path, api_keys, write_headers):
    a, b = (node(database, tmp_path / name, api_keys) for name in ("a", "b"))
    written = a.test_client().post("/api/v1/articles", json={"id": "fresh", "title": "新文章", "body": "正文"},
                                   headers=write_headers)
    assert written.status_code == 201
    deadline, seen = time.monotonic() + 1.0, None
    while time.monotonic() < deadline and seen != 200:
        seen = b.test_client().get("/api/v1/articles/fresh").status_code
        time.sleep(0.02)
    assert seen == 200
    for app in (a, b):
        app.extensions["service"].close()


def test_the_database_going_away_fails_writes_cleanly_and_loses_nothing(database, tmp_path, api_keys,
                                                                         write_headers):
    proxy = Proxy(int(conninfo_to_dict(database).get("port", 5432)))
    url = make_conninfo(database, host="127.0.0.1", port=str(proxy.port))
    app = node(url, tmp_path / "a", api_keys)
    client = app.test_client()
    assert client.post("/api/v1/articles", json={"id": "before", "title": "断开之前", "body": "正文"},
                       headers=write_headers).status_code == 201

    proxy.cut()
    refused = client.post("/api/v1/articles", json={"id": "during", "title": "断开之时", "body": "正文"},
                          headers=write_headers)
    assert refused.status_code == 503, refused.get_json()
    assert refused.mimetype == "application/problem+json" and refused.headers["Retry-After"]
    assert client.get("/api/v1/articles/before").status_code == 200  # reads go on from memory
    assert client.get("/api/v1/search", query_string={"q": "断开之前"}).get_json()["meta"]["total"] >= 1

    proxy.restore()
    deadline = time.monotonic() + 10
    while True:  # the pool reconnects by itself
        again = client.post("/api/v1/articles", json={"id": "after", "title": "恢复之后", "body": "正文"},
                            headers=write_headers)
        if again.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert again.status_code == 201
    ids = {row[0] for row in sql(database, "SELECT key FROM records WHERE kind = 'articles'")}
    assert {"before", "after"} <= ids and "during" not in ids
    app.extensions["service"].close()
    proxy.close()


def test_readyz_reports_the_backend_and_how_far_behind_this_node_is(database, tmp_path, api_keys,
                                                                     write_headers):
    a, b = (node(database, tmp_path / name, api_keys) for name in ("a", "b"))
    a.test_client().post("/api/v1/articles", json={"id": "lagging", "title": "落后", "body": "正文"},
                         headers=write_headers)
    services_b = b.extensions["service"]
    assert services_b.store.latest_seq() == services_b.store.seq + 1  # b has not served a request since
    ready = b.test_client().get("/readyz").get_json()  # serving one catches up first
    assert ready["backend"] == "postgres" and ready["lag"] == 0 and ready["seq"] == ready["latest"]
    for app in (a, b):
        app.extensions["service"].close()


def test_a_node_restarts_from_its_saved_indexes_and_replays_the_rest(database, tmp_path, api_keys,
                                                                      write_headers, monkeypatch):
    first = node(database, tmp_path / "a", api_keys)
    saved = sorted(p.name for p in (tmp_path / "a" / "indexes").glob("*.arrays"))
    assert len(saved) == 3  # search, related, catalog
    client = first.test_client()
    client.post("/api/v1/articles", json={"id": "later", "title": "重启之后的医保报销", "body": "正文"},
                headers=write_headers)
    aid = next(a for a in first.extensions["service"].store.all("articles") if a != "later")
    client.patch(f"/api/v1/articles/{aid}", json={"title": "改过标题的医保报销"}, headers=write_headers)
    client.delete("/api/v1/articles/e9231330f69d2e16", headers=write_headers)
    first.extensions["service"].close()

    from service.domain.recommend.related import Related
    from service.domain.search.index import SearchIndex

    def no_build(*args, **kwargs):
        raise AssertionError("the saved indexes should have been loaded")

    from service.domain.store.postgres import PostgresStore

    def no_read_all(*args, **kwargs):
        raise AssertionError("the records of the saved state should have been mapped from its segment")

    with monkeypatch.context() as patched:
        patched.setattr(SearchIndex, "build", no_build)
        patched.setattr(Related, "build", no_build)
        patched.setattr(PostgresStore, "_read_all", staticmethod(no_read_all))
        restarted = node(database, tmp_path / "a", api_keys)  # same DATA_DIR: its saved indexes
    fresh = node(database, tmp_path / "b", api_keys)  # nothing saved: built from the records now
    for query in ("医保报销", "重启之后", "改过标题"):
        url = f"/api/v1/search?q={query}"
        assert restarted.test_client().get(url).get_json() == fresh.test_client().get(url).get_json(), query
    for article_id in ("later", aid):
        url = f"/api/v1/articles/{article_id}/related"
        assert restarted.test_client().get(url).get_json() == fresh.test_client().get(url).get_json()
    assert restarted.test_client().get("/api/v1/articles/e9231330f69d2e16").status_code == 404
    for app in (restarted, fresh):
        app.extensions["service"].close()


def test_saved_indexes_of_a_state_the_database_no_longer_has_are_not_used(database, tmp_path, api_keys,
                                                                          monkeypatch):
    """A database restored from a backup and written again reaches the same seqs with other
    changes: indexes saved for the old state at such a seq must be built again, not loaded."""
    node(database, tmp_path / "a", api_keys).extensions["service"].close()
    seq = sql(database, "SELECT max(seq) FROM changes")[0][0]
    sql(database, "UPDATE changes SET at = 'another history' WHERE seq = %s", (seq,))
    from service.domain.search.index import SearchIndex

    built = []
    original = SearchIndex.build
    monkeypatch.setattr(SearchIndex, "build", lambda self, *a, **k: built.append(1) or original(self, *a, **k))
    node(database, tmp_path / "a", api_keys).extensions["service"].close()
    assert built == [1]
