"""相关推荐, page views, trending and for-you through the HTTP API."""

from __future__ import annotations

import re

from service import create_app

PAGE_380 = "e9231330f69d2e16"
CARD_FIELDS = {"id", "title", "summary", "category", "published_at", "score", "reasons"}


def titles(cards):
    return [c["title"] for c in cards]


def published(client) -> None:
    """What each worker's flusher thread does within seconds, done now: the views and searches
    counted here reach the logs that trending and 大家都在搜 read (a GET never writes them)."""
    services = client.application.extensions["service"]
    services.views.flush()
    services.searches.flush()


def test_related_cards_say_why(client):
    response = client.get(f"/api/v1/articles/{PAGE_380}/related?limit=20")
    cards = response.get_json()["items"]
    assert response.status_code == 200 and len(cards) == 20
    assert all(set(c) == CARD_FIELDS and c["reasons"] and c["category"] == "健康新闻" for c in cards)
    assert PAGE_380 not in [c["id"] for c in cards]
    scores = [c["score"] for c in cards]
    assert scores == sorted(scores, reverse=True)
    # The seed page's own 相关推荐 pads with a 吉林延边 back-pain hospital: ours does not lead with it.
    assert not any("延边" in t for t in titles(cards[:10]))
    assert client.get(f"/api/v1/articles/{PAGE_380}/related?limit=3").get_json()["items"] == cards[:3]


def test_related_leads_with_siblings(client):
    def first_titles(query, n=3):
        article = client.get("/api/v1/search", query_string={"q": query}).get_json()["items"][0]
        return article["title"], titles(client.get(f"/api/v1/articles/{article['id']}/related?limit={n}")
                                        .get_json()["items"])

    anchor, cards = first_titles("佛山健康佛医保")
    assert all("佛医保" in t or "惠民保" in t for t in cards), (anchor, cards)
    anchor, cards = first_titles("婴儿可以买医保吗")
    assert all("婴儿" in t or "新生儿" in t or "宝宝" in t for t in cards), (anchor, cards)


def test_related_never_lists_drafts_and_unknown_is_404(client, write_headers):
    cards = client.get(f"/api/v1/articles/{PAGE_380}/related").get_json()["items"]
    target = cards[0]["id"]
    client.patch(f"/api/v1/articles/{target}", json={"status": "draft"}, headers=write_headers)
    assert target not in [c["id"] for c in client.get(f"/api/v1/articles/{PAGE_380}/related").get_json()["items"]]
    assert client.get("/api/v1/articles/nope/related").status_code == 404
    assert client.get(f"/api/v1/articles/{target}/related").status_code == 404  # a draft, no key


def test_include_embeds_related_and_hot_in_one_request(app, client):
    for n in range(3):  # 大家都在搜 shows what several readers searched
        app.test_client().get("/api/v1/search", query_string={"q": "佛山惠民保"},
                              environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
    published(client)
    page = client.get(f"/api/v1/articles/{PAGE_380}?include=related,hot&formats=html").get_json()
    assert len(page["related"]) == 20 and set(page["related"][0]) == CARD_FIELDS
    assert page["hot"][0] == {"query": "佛山惠民保", "count": 3, "pinned": False, "source": "search"}
    assert "body_html" in page
    plain = client.get(f"/api/v1/articles/{PAGE_380}").get_json()
    assert "related" not in plain and "hot" not in plain


def test_views_count_and_move_trending(client):
    for _ in range(3):
        assert client.post(f"/api/v1/articles/{PAGE_380}/views").status_code == 202
    other = "97ba0e02d4ec5194"
    last = client.post(f"/api/v1/articles/{other}/views")
    assert last.status_code == 202 and last.get_json() == {"id": other, "views": 1}
    published(client)
    trending = client.get("/api/v1/recommendations/trending").get_json()["items"]
    assert [c["id"] for c in trending] == [PAGE_380, other]
    assert set(trending[0]) == CARD_FIELDS
    assert client.get(f"/api/v1/articles/{PAGE_380}").get_json()["views"] == 3
    by_views = client.get("/api/v1/articles?sort=-views&per_page=2&fields=id,views").get_json()["items"]
    assert by_views == [{"id": PAGE_380, "views": 3}, {"id": other, "views": 1}]
    assert client.post("/api/v1/articles/nope/views").status_code == 404


def test_trending_by_topic_and_region(client):
    client.post(f"/api/v1/articles/{PAGE_380}/views")
    published(client)
    topic = client.get(f"/api/v1/articles/{PAGE_380}").get_json()["topics"][0]["slug"]
    assert [c["id"] for c in client.get(f"/api/v1/recommendations/trending?topic={topic}").get_json()["items"]] \
        == [PAGE_380]
    assert client.get("/api/v1/recommendations/trending", query_string={"region": "广州"}).get_json()["items"] == []


def test_views_are_rate_limited_per_client(data_dir):
    client = create_app({"DATA_DIR": str(data_dir), "RATE_LIMIT_VIEWS": "2 per minute"}).test_client()
    statuses = [client.post(f"/api/v1/articles/{PAGE_380}/views").status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert client.post("/api/v1/articles/97ba0e02d4ec5194/views").status_code == 202  # per article


def test_for_you_follows_history(client):
    history = client.get("/api/v1/search", query_string={"q": "佛医保"}).get_json()["items"][:2]
    ids = [h["id"] for h in history]
    body = client.get("/api/v1/recommendations/for-you", query_string={"history": ",".join(ids + ["nope"])}).get_json()
    assert body["meta"] == {"unknown": ["nope"], "fallback": False}
    picks = body["items"]
    assert picks and not {p["id"] for p in picks} & set(ids)
    assert any("佛医保" in p["title"] or "惠民保" in p["title"] for p in picks[:3])
    assert any(r.startswith("因为你看过") for p in picks for r in p["reasons"])


def test_for_you_without_history_falls_back_to_trending(client):
    client.post(f"/api/v1/articles/{PAGE_380}/views")
    published(client)
    body = client.get("/api/v1/recommendations/for-you?history=").get_json()
    assert body["meta"]["fallback"] is True and body["items"][0]["id"] == PAGE_380


def test_the_history_parameter_is_documented_as_it_is_checked(client):
    # The spec's pattern is exactly the rule: fuzzers send what it allows and expect a 200.
    spec = client.get("/api/v1/swagger.json").get_json()
    param = next(p for p in spec["paths"]["/api/v1/recommendations/for-you"]["get"]["parameters"]
                 if p["name"] == "history")
    pattern = re.compile(param["pattern"])
    for history, status in (("a," * 49 + "a", 200), (",,e9231330f69d2e16, ", 200), ("a," * 50 + "a", 400),
                            ("a,\x00", 400)):
        assert bool(pattern.fullmatch(history)) == (status == 200), history
        assert client.get("/api/v1/recommendations/for-you", query_string={"history": history}).status_code == status


def test_reads_never_write_the_counters(client, data_dir, read_headers):
    client.post(f"/api/v1/articles/{PAGE_380}/views")
    client.get("/api/v1/search", query_string={"q": "佛山惠民保"})
    logs = [data_dir / "views.jsonl", data_dir / "hot-searches.jsonl"]
    before = [log.read_bytes() for log in logs]
    for url in ("/api/v1/recommendations/trending", "/api/v1/recommendations/for-you?history=",
                "/api/v1/search/hot", "/api/v1/search/suggest?q=佛山", f"/api/v1/articles/{PAGE_380}?include=hot"):
        assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/search/hot/counted", headers=read_headers).status_code == 200
    assert [log.read_bytes() for log in logs] == before  # this worker's events wait for its flusher
