"""The real service under gunicorn with several workers: every worker sees
every acknowledged write, writes survive restarts and SIGKILL, and concurrent
writers through different workers lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests

from tests.server import Server, eventually

KEY = {"Authorization": "Bearer test-write-key"}


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path / "data", workers=3) as running:
        yield running


def fresh_get(url: str) -> requests.Response:
    # A new connection each time, so requests spread over the workers.
    with requests.Session() as session:
        return session.get(url, headers={"Connection": "close"}, timeout=10)



def test_every_worker_sees_every_acknowledged_write(server):
    writer = requests.Session()
    created = writer.post(server.url + "/api/v1/articles", headers=KEY, timeout=10,
                          json={"id": "seen-everywhere", "title": "佛山医保怎么交", "body": "正文"})
    assert created.status_code == 201
    url = server.url + "/api/v1/articles/seen-everywhere"
    with ThreadPoolExecutor(8) as pool:
        reads = list(pool.map(lambda _: fresh_get(url), range(60)))
    assert all(r.status_code == 200 for r in reads)
    assert {r.json()["version"] for r in reads} == {1}
    assert len({r.headers["X-Request-ID"] for r in reads}) == 60  # unique across workers
    patched = writer.patch(url, json={"answer": "线上缴费"}, headers=KEY, timeout=10)
    assert patched.status_code == 200
    with ThreadPoolExecutor(8) as pool:
        reads = list(pool.map(lambda _: fresh_get(url), range(60)))
    assert {r.json()["answer"] for r in reads} == {"线上缴费"}
    writer.delete(url, headers=KEY, timeout=10)
    with ThreadPoolExecutor(8) as pool:
        assert {r.status_code for r in pool.map(lambda _: fresh_get(url), range(30))} == {404}


def test_writes_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with Server(data, workers=2) as first:
        created = requests.post(first.url + "/api/v1/articles", headers=KEY, timeout=10,
                                json={"id": "kept", "title": "重启以后还在吗", "body": "在"})
        assert created.status_code == 201
    with Server(data, workers=2) as second:
        assert requests.get(second.url + "/api/v1/articles/kept", timeout=10).json()["title"] == "重启以后还在吗"


def test_sigkill_right_after_201_loses_nothing(tmp_path):
    data = tmp_path / "data"
    server = Server(data, workers=2).start()
    try:
        created = requests.post(server.url + "/api/v1/articles", headers=KEY, timeout=10,
                                json={"id": "acked", "title": "确认过的写入", "body": "不能丢"})
        assert created.status_code == 201
    finally:
        server.kill()
    with Server(data, workers=2) as again:
        assert requests.get(again.url + "/api/v1/articles/acked", timeout=10).status_code == 200


def test_concurrent_patches_through_all_workers_lose_nothing(server):
    requests.post(server.url + "/api/v1/articles", headers=KEY, timeout=10,
                  json={"id": "contended", "title": "并发写", "body": "0"})
    url = server.url + "/api/v1/articles/contended"
    writers, patches = 6, 15

    def write(n):
        with requests.Session() as session:
            return [session.patch(url, json={"body": f"writer {n} patch {i}"}, headers=KEY, timeout=30).status_code
                    for i in range(patches)]

    with ThreadPoolExecutor(writers) as pool:
        statuses = [s for batch in pool.map(write, range(writers)) for s in batch]
    assert statuses == [200] * (writers * patches)
    assert fresh_get(url).json()["version"] == 1 + writers * patches


def test_searches_and_views_through_any_worker_count_everywhere_and_survive_restart(tmp_path):
    data = tmp_path / "data"
    with Server(data, workers=3, TRUSTED_PROXIES=1) as server:
        def search(n):
            with requests.Session() as session:  # twelve readers: 大家都在搜 counts each once
                return session.get(server.url + "/api/v1/search", params={"q": "佛山惠民保"}, timeout=10,
                                   headers={"Connection": "close", "X-Forwarded-For": f"198.51.100.{n}"}).status_code

        def view(_):
            with requests.Session() as session:
                return session.post(server.url + "/api/v1/articles/e9231330f69d2e16/views",
                                    headers={"Connection": "close"}, timeout=10).status_code

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(search, range(12))) == {200}
            assert set(pool.map(view, range(9))) == {202}

        def hot_count():
            items = fresh_get(server.url + "/api/v1/search/hot").json()["items"]
            return items and items[0]["query"] == "佛山惠民保" and items[0]["count"] == 12

        def trending_leads():
            items = fresh_get(server.url + "/api/v1/recommendations/trending").json()["items"]
            views = fresh_get(server.url + "/api/v1/articles/e9231330f69d2e16").json()["views"]
            return items and items[0]["id"] == "e9231330f69d2e16" and views == 9

        assert eventually(hot_count), fresh_get(server.url + "/api/v1/search/hot").json()
        assert eventually(trending_leads)
    with Server(data, workers=2) as again:
        assert fresh_get(again.url + "/api/v1/search/hot").json()["items"][0]["count"] == 12
        assert fresh_get(again.url + "/api/v1/articles/e9231330f69d2e16").json()["views"] == 9


def test_long_and_undecodable_urls_reach_the_service_and_get_its_answer(tmp_path):
    """Percent-encoded, a character of q is up to 12 bytes of the request line;
    and the path gunicorn hands over undecoded is checked as UTF-8 there."""
    wide = "\U00020000"  # 𠀀: four bytes in UTF-8
    with Server(tmp_path / "data", workers=1) as running:
        def search(q: str, widest: bool = False) -> requests.Response:
            more = {"topic": wide * 64, "region": wide * 30, "page": 100000, "per_page": 100} if widest else {}
            return requests.get(f"{running.url}/api/v1/search?{urlencode({'q': q, **more})}", timeout=10)

        accepted = search(wide * 200, widest=True)  # every parameter at the longest the API takes
        assert len(accepted.request.url) > 3500
        assert accepted.status_code == 200 and accepted.json()["meta"]["per_page"] == 100
        # 201 characters; then 7,200 bytes of q, past what gunicorn's default request line took.
        for refused in (search(wide * 201, widest=True), search(wide * 600)):
            assert refused.status_code == 400 and refused.headers["Content-Type"] == "application/problem+json"
            assert "q" in refused.json()["errors"]
        suggest = requests.get(f"{running.url}/api/v1/search/suggest?{urlencode({'q': wide * 600})}", timeout=10)
        assert suggest.status_code == 400 and "q" in suggest.json()["errors"]
        # What remains: a request line past gunicorn's limit gets gunicorn's own 414.
        assert search(wide * 700).status_code == 414
        for path in ("/api/v1/articles/%ED%A0%80", "/api/v1/topics/%FF", "/api/v1/search?q=%ED%A0%80"):
            bad = requests.get(running.url + path, timeout=10)
            assert bad.status_code == 400 and "UTF-8" in bad.json()["detail"], path
        assert requests.get(running.url + "/api/v1/articles/%E5%B9%BF", timeout=10).json()["detail"] == \
            "no article with id '广'"
