"""/api/v1/search, /search/suggest and /search/hot through the HTTP API."""

from __future__ import annotations

import re

import pytest


def search(client, q, **params):
    response = client.get("/api/v1/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("query, first", [
    ("宝宝出生怎么参保", "刚出生的婴儿"),
    ("佛山惠民保", "佛医保"),
    ("異地就醫備案", "异地医保备案"),
    ("yibaoka", "医保卡"),
    ("医保账户为什么是负的", "医保账户为什么师傅的"),
])
def test_readers_find_the_right_article_first(client, query, first):
    assert first in search(client, query)["items"][0]["title"]


def test_results_are_cards_with_highlights_facets_and_pages(client):
    body = search(client, "医保卡", per_page=5)
    hit = body["items"][0]
    assert set(hit) == {"id", "title", "summary", "category", "published_at", "score", "highlights"}
    assert "<em>" in hit["highlights"]["title"] and hit["score"] > 0
    assert body["meta"]["per_page"] == 5 and body["meta"]["total"] >= 5
    assert all({"slug", "name", "count"} == set(t) for t in body["facets"]["topics"])
    assert all({"name", "count"} == set(r) for r in body["facets"]["regions"])
    second = search(client, "医保卡", per_page=5, page=2)
    assert not {h["id"] for h in second["items"]} & {h["id"] for h in body["items"]}


def test_highlights_escape_html(client, write_headers):
    client.post("/api/v1/articles", headers=write_headers, json={
        "id": "html-title", "title": "<b>医保</b>报销<script>x</script>", "body": "正文"})
    hit = next(h for h in search(client, "医保报销", per_page=100)["items"] if h["id"] == "html-title")
    assert "<script>" not in hit["highlights"]["title"] and "&lt;script&gt;" in hit["highlights"]["title"]


def test_filters_by_topic_and_region(client):
    body = search(client, "医保", region="广州", per_page=100)
    assert body["items"] and all(
        "广州" in client.get(f"/api/v1/articles/{h['id']}").get_json()["regions"] for h in body["items"])
    topic = body["facets"]["topics"][0]["slug"]
    narrowed = search(client, "医保", region="广州", topic=topic, per_page=100)
    assert narrowed["meta"]["total"] == body["facets"]["topics"][0]["count"]


def test_new_articles_are_searchable_at_once_and_drafts_are_hidden(client, write_headers):
    client.post("/api/v1/articles", headers=write_headers,
                json={"id": "new-one", "title": "喀什医保怎么转移", "body": "正文"})
    client.post("/api/v1/articles", headers=write_headers,
                json={"id": "draft-one", "title": "喀什医保草稿", "body": "正文", "status": "draft"})
    ids = [h["id"] for h in search(client, "喀什医保")["items"]]
    assert ids[0] == "new-one" and "draft-one" not in ids
    client.delete("/api/v1/articles/new-one", headers=write_headers)
    assert "new-one" not in [h["id"] for h in search(client, "喀什医保")["items"]]


@pytest.mark.parametrize("q", ["", "   ", "\u3000"])
def test_blank_query_is_a_400(client, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 400 and "q" in response.get_json()["errors"]


@pytest.mark.parametrize("q", ["\x1f", "\ufeff", " \x85\u3000"])
def test_blank_is_the_same_in_the_spec_and_the_service(client, q):
    # The spec's pattern names each blank character, so ECMA and Python regexes read it alike.
    spec = client.get("/api/v1/swagger.json").get_json()["paths"]
    for path in ("/api/v1/search", "/api/v1/search/suggest"):
        pattern = next(p["pattern"] for p in spec[path]["get"]["parameters"] if p["name"] == "q")
        assert "\\s" not in pattern and re.fullmatch(pattern, q) is None
        response = client.get(path, query_string={"q": q})
        assert response.status_code == 400 and response.get_json()["errors"]["q"] == ["Must not be blank."]


def test_missing_and_overlong_query(client):
    assert "q" in client.get("/api/v1/search").get_json()["errors"]
    response = client.get("/api/v1/search", query_string={"q": "医" * 201})
    assert response.status_code == 400 and "200" in response.get_json()["errors"]["q"][0]


ODD_QUERIES = ['"医保"', "医保 OR 1=1", "医保 -卡", "*", "医保 AND (", "🏥医保", "\\", "%", "医保\ufffd"]


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_any_characters_are_searched_cleanly(client, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code == 200


def test_suggest_completes_titles_and_pinyin(client):
    items = client.get("/api/v1/search/suggest", query_string={"q": "佛医保"}).get_json()["items"]
    titles = [i["text"] for i in items if i["kind"] == "title"]
    starts = [t.startswith("佛医保") for t in titles]
    assert titles and starts[0] and all("佛医保" in t for t in titles) and starts == sorted(starts, reverse=True)
    assert all("id" in i for i in items if i["kind"] == "title")
    pinyin = client.get("/api/v1/search/suggest", query_string={"q": "foyibao"}).get_json()["items"]
    assert any("佛医保" in i["text"] for i in pinyin)
    assert client.get("/api/v1/search/suggest", query_string={"q": " "}).status_code == 400


def as_reader(client, n: int):
    """A client whose address is 10.0.0.n: another reader for 大家都在搜."""
    client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"
    return client


def published(app) -> None:
    """What each worker's flusher thread does within seconds, done now: the searches counted
    here reach the log that 大家都在搜 reads (a GET never writes it)."""
    app.extensions["service"].searches.flush()


def test_hot_searches_count_real_searches_only(app, write_headers):
    readers = [as_reader(app.test_client(), n) for n in range(3)]
    for reader in readers:
        search(reader, "佛山惠民保")
        search(reader, "佛山惠民保")  # the same reader again within the hour: once
        search(reader, "異地就醫備案")
        search(reader, "異地就醫備案", page=2)  # paging through one search counts once
        search(reader, "zzzzqqqq")  # nothing found: not counted
    search(readers[0], "佛山惠民保")
    for reader in readers[:2]:
        # editors' searches do not count
        reader.get("/api/v1/search", query_string={"q": "医保卡"}, headers=write_headers)
    search(readers[2], "医保卡")  # one reader is not enough
    published(app)
    items = readers[0].get("/api/v1/search/hot").get_json()["items"]
    searched = [i for i in items if i["source"] == "search"]
    assert {i["query"]: i["count"] for i in searched} == {"佛山惠民保": 3, "异地就医备案": 3}
    queries = [i["query"] for i in items]
    assert "zzzzqqqq" not in queries and "医保卡" not in queries


def test_editors_pin_and_block(app, client, write_headers):
    for n in range(3):
        search(as_reader(app.test_client(), n), "佛山惠民保")
        search(as_reader(app.test_client(), n), "医保卡")
    published(app)
    assert client.put("/api/v1/search/hot/rules/医保卡", json={"action": "block"}).status_code == 401
    blocked = client.put("/api/v1/search/hot/rules/醫保卡", json={"action": "block"}, headers=write_headers)
    assert blocked.status_code == 200 and blocked.get_json()["query"] == "医保卡"
    pinned = client.put("/api/v1/search/hot/rules/新生儿参保", json={"action": "pin", "position": 1},
                        headers=write_headers)
    assert pinned.status_code == 200
    items = client.get("/api/v1/search/hot").get_json()["items"]
    assert items[0] == {"query": "新生儿参保", "count": 0, "pinned": True, "source": "pin"}
    assert "医保卡" not in [i["query"] for i in items] and "佛山惠民保" in [i["query"] for i in items]
    rules = client.get("/api/v1/search/hot/rules", headers=write_headers).get_json()["items"]
    assert {r["query"]: r["action"] for r in rules} == {"医保卡": "block", "新生儿参保": "pin"}
    assert client.delete("/api/v1/search/hot/rules/医保卡", headers=write_headers).status_code == 204
    assert "医保卡" in [i["query"] for i in client.get("/api/v1/search/hot").get_json()["items"]]
    assert client.delete("/api/v1/search/hot/rules/医保卡", headers=write_headers).status_code == 404
    bad = client.put("/api/v1/search/hot/rules/x", json={"action": "star"}, headers=write_headers)
    assert bad.status_code == 400 and "action" in bad.get_json()["errors"]
