"""Two machines as one service: two real gunicorn nodes (own DATA_DIR and port) on one PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import requests

from .server import Server, eventually, in_threads

KEY = {"Authorization": "Bearer test-write-key"}
VISIBLE_WITHIN = 1.0  # seconds: the bound a write on one node is seen on the other


@pytest.fixture
def database(databases):
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def nodes(database, tmp_path):
    started = []

    def start(name: str, workers: int = 2) -> Server:
        server = Server(tmp_path / name / "data", workers=workers, DATABASE_URL=database).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_write_through_one_node_is_seen_on_the_other_within_the_bound(nodes):
    a, b = nodes("a"), nodes("b")
    created = requests.post(a.url + "/api/v1/articles", headers=KEY, timeout=10,
                            json={"id": "across", "title": "跨节点的医保文章", "body": "正文"})
    assert created.status_code == 201
    seen = eventually(lambda: requests.get(b.url + "/api/v1/articles/across", timeout=5).status_code == 200,
                      VISIBLE_WITHIN)
    assert seen, "not visible on the other node within the bound"
    found = requests.get(b.url + "/api/v1/search", params={"q": "跨节点"}, timeout=5).json()
    assert [hit["id"] for hit in found["items"]] == ["across"]


def test_writers_spread_over_both_nodes_lose_no_update(nodes):
    a, b = nodes("a"), nodes("b")
    article_id = requests.get(a.url + "/api/v1/articles", timeout=5).json()["items"][0]["id"]
    start = requests.get(a.url + f"/api/v1/articles/{article_id}", timeout=5).json()["version"]
    failures = []

    def writer(n: int) -> None:
        with requests.Session() as session:
            for i in range(25):
                node = (a, b)[(n + i) % 2]
                response = session.patch(f"{node.url}/api/v1/articles/{article_id}", headers=KEY, timeout=10,
                                         json={"tags": [f"w{n}-{i}"]})
                if response.status_code != 200:
                    failures.append((response.status_code, response.text[:200]))

    in_threads(writer, 4)
    assert not failures
    for node in (a, b):
        version = eventually(
            lambda node=node: requests.get(f"{node.url}/api/v1/articles/{article_id}", timeout=5).json()["version"]
            == start + 100, VISIBLE_WITHIN)
        assert version, node.url


def test_a_node_killed_during_writes_loses_nothing_it_acknowledged(nodes):
    a, b = nodes("a"), nodes("b")
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        with requests.Session() as session:
            while not stop.is_set():
                n += 1
                try:
                    response = session.post(a.url + "/api/v1/articles", headers=KEY, timeout=5,
                                            json={"id": f"k{n}", "title": f"写入中的文章{n}", "body": "正文"})
                except requests.RequestException:
                    return  # the node is gone
                if response.status_code == 201:
                    acknowledged.append(f"k{n}")

    thread = threading.Thread(target=writer)
    thread.start()
    eventually(lambda: len(acknowledged) >= 20, 30)
    a.kill()
    stop.set()
    thread.join()
    assert len(acknowledged) >= 20

    def missing() -> list[str]:
        return [aid for aid in acknowledged
                if requests.get(f"{b.url}/api/v1/articles/{aid}", timeout=5).status_code != 200]

    assert eventually(lambda: not missing(), VISIBLE_WITHIN), missing()


def test_a_new_node_with_an_empty_data_dir_starts_from_the_database(nodes):
    a = nodes("a")
    requests.post(a.url + "/api/v1/articles", headers=KEY, timeout=10,
                  json={"id": "before-c", "title": "新节点之前", "body": "正文"})
    c = nodes("c")
    ids = {
        node.url: [item["id"] for item in requests.get(node.url + "/api/v1/articles", timeout=5,
                                                        params={"per_page": 100}).json()["items"]]
        for node in (a, c)
    }
    assert ids[a.url] == ids[c.url] and "before-c" in ids[c.url]
    ready = requests.get(c.url + "/readyz", timeout=5).json()
    assert ready["backend"] == "postgres" and ready["lag"] == 0


def test_views_and_limits_are_shared_by_nodes_on_one_redis(database, redis_url, tmp_path):
    """12 views from one client, alternating nodes, under a 10/minute limit: exactly 2 refused, and
    both nodes count the 10 that were let through."""
    env = {**redis_url.config(), "DATABASE_URL": database, "RATE_LIMIT_VIEWS": "10 per minute"}
    with Server(tmp_path / "a" / "data", workers=2, **env) as a, Server(tmp_path / "b" / "data", workers=2, **env) as b:
        article_id = requests.get(a.url + "/api/v1/articles", timeout=5).json()["items"][0]["id"]
        statuses = []
        for n in range(12):
            with requests.Session() as session:  # a new connection each time: any worker may answer
                statuses.append(session.post(f"{(a, b)[n % 2].url}/api/v1/articles/{article_id}/views",
                                             headers={"Connection": "close"}, timeout=10).status_code)
        assert sorted(statuses) == [202] * 10 + [429] * 2

        def counted() -> bool:
            return all(requests.get(f"{node.url}/api/v1/articles/{article_id}", timeout=5,
                                    headers={"Connection": "close"}).json()["views"] == 10 for node in (a, b))

        assert eventually(counted, 20)
