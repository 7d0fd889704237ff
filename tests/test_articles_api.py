"""Articles through the HTTP API: every endpoint, success and failure."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

DISCLAIMER = "本内容不能代替面诊,如有不适请尽快就医。"
ARTICLE = "e9231330f69d2e16"  # a seeded page with 相关推荐


def new_article(client, headers, **fields):
    body = {"title": "广州医保卡丢了怎么办", "body": "## 一、补办\n\n1. 到天河区医保中心\n2. 带身份证", **fields}
    response = client.post("/api/v1/articles", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def test_create_returns_201_location_and_derived_fields(client, write_headers):
    response = new_article(client, write_headers, id="gz-card-lost")
    article = response.get_json()
    assert response.headers["Location"].endswith("/api/v1/articles/gz-card-lost")
    assert article["version"] == 1 and article["views"] == 0
    assert article["disclaimer"] == DISCLAIMER
    assert article["summary"] == "到天河区医保中心"  # no paragraph of its own: the first list line
    assert article["status"] == "published" and article["category"] == "健康新闻"
    assert "广州" in article["regions"]
    assert {"slug", "name"} <= set(article["topics"][0])
    fetched = client.get("/api/v1/articles/gz-card-lost")
    assert fetched.status_code == 200 and fetched.get_json() == article


def test_chinese_is_sent_as_is(client, write_headers):
    new_article(client, write_headers, id="utf8")
    raw = client.get("/api/v1/articles/utf8").get_data()
    assert "广州医保卡".encode() in raw and b"\\u" not in raw


def test_conditional_get_and_cache_control(client, write_headers):
    new_article(client, write_headers, id="etag")
    first = client.get("/api/v1/articles/etag")
    etag = first.headers["ETag"]
    assert etag.startswith('"1.') and "public" in first.headers["Cache-Control"]
    again = client.get("/api/v1/articles/etag", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    sparse = client.get("/api/v1/articles/etag?fields=title")
    assert sparse.headers["ETag"] != etag


def test_every_write_answers_with_the_etag_a_get_gives(client, write_headers):
    created = new_article(client, write_headers, id="etag-write")
    got = client.get("/api/v1/articles/etag-write")
    assert created.headers["ETag"] == got.headers["ETag"] and created.data == got.data
    # The create's tag is current.
    patched = client.patch("/api/v1/articles/etag-write", json={"answer": "补办"},
                           headers={**write_headers, "If-Match": created.headers["ETag"]})
    assert patched.status_code == 200
    assert patched.headers["ETag"] == client.get("/api/v1/articles/etag-write").headers["ETag"]


def test_if_match_guards_writes(client, write_headers):
    new_article(client, write_headers, id="guarded")
    etag = client.get("/api/v1/articles/guarded").headers["ETag"]
    ok = client.patch("/api/v1/articles/guarded", json={"answer": "可以补办"},
                      headers={**write_headers, "If-Match": etag})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2
    stale = client.patch("/api/v1/articles/guarded", json={"answer": "不行"},
                         headers={**write_headers, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/articles/guarded").get_json()["answer"] == "可以补办"
    assert client.delete("/api/v1/articles/guarded", headers={**write_headers, "If-Match": etag}).status_code == 412


def test_put_replaces_and_patch_rederives(client, write_headers):
    new_article(client, write_headers, id="put-me", summary="手写摘要", tags=["补办"])
    replaced = client.put("/api/v1/articles/put-me", json={"title": "江西抚州医保报销", "body": "继续缴费"},
                          headers=write_headers)
    body = replaced.get_json()
    assert replaced.status_code == 200 and body["version"] == 2
    assert body["tags"] == [] and body["summary"] == "继续缴费" and "抚州" in body["regions"]
    patched = client.patch("/api/v1/articles/put-me", json={"body": "新的正文,讲异地就医备案"},
                           headers=write_headers).get_json()
    assert patched["summary"] == "新的正文,讲异地就医备案"  # derived summary follows the body
    assert patched["title"] == "江西抚州医保报销"


def test_editor_regions_are_checked_and_stored_with_their_province_and_city(client, write_headers):
    article = new_article(client, write_headers, id="set-places", title="医保卡丢了怎么办",
                          regions=["广州市", "天河区"]).get_json()
    assert article["regions"] == ["广东", "广州", "天河区"]
    found = client.get("/api/v1/articles", query_string={"region": "广东", "fields": "id", "per_page": 100})
    assert {"id": "set-places"} in found.get_json()["items"]
    # What a GET shows goes back in a PUT: 鼓楼区 is the one in the 南京 named with it.
    put = client.put("/api/v1/articles/set-places", headers=write_headers,
                     json={"title": "医保卡", "body": "补办", "regions": ["江苏", "南京", "鼓楼区"]})
    assert put.status_code == 200 and put.get_json()["regions"] == ["江苏", "南京", "鼓楼区"]
    kept = client.patch("/api/v1/articles/set-places", json={"answer": "补办"}, headers=write_headers)
    assert kept.get_json()["regions"] == ["江苏", "南京", "鼓楼区"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("regions, named", [(["广州", "火星"], "火星"), (["鼓楼区"], "鼓楼区")])
def test_an_editor_region_that_is_no_single_place_is_a_422_naming_it(client, method, regions, named, write_headers):
    new_article(client, write_headers, id="placed", regions=["佛山"])
    body = {"title": "医保卡", "body": "补办", "regions": regions}
    url = "/api/v1/articles" if method == "POST" else "/api/v1/articles/placed"
    response = client.open(url, method=method, json=body, headers=write_headers)
    assert response.status_code == 422 and response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    assert named in problem["detail"] and len(problem["errors"]["regions"]) == 1
    assert named in problem["errors"]["regions"][0]
    assert client.get("/api/v1/articles/placed").get_json()["regions"] == ["广东", "佛山"]


def test_editor_topics_override_and_unknown_topic_is_rejected(client, write_headers):
    slug = client.get("/api/v1/topics").get_json()["items"][0]["slug"]
    article = new_article(client, write_headers, id="chosen", topics=[slug]).get_json()
    assert [t["slug"] for t in article["topics"]] == [slug]
    patched = client.patch("/api/v1/articles/chosen", json={"title": "婴儿医保怎么办"}, headers=write_headers)
    assert [t["slug"] for t in patched.get_json()["topics"]] == [slug]  # chosen topics stay
    bad = client.patch("/api/v1/articles/chosen", json={"topics": ["no-such-topic"]}, headers=write_headers)
    assert bad.status_code == 422 and "topics" in bad.get_json()["errors"]


def test_delete(client, write_headers):
    new_article(client, write_headers, id="gone")
    assert client.delete("/api/v1/articles/gone", headers=write_headers).status_code == 204
    missing = client.get("/api/v1/articles/gone")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
    assert client.delete("/api/v1/articles/gone", headers=write_headers).status_code == 404


def test_formats_render_safe_html_and_text(client, write_headers):
    body = "## 一、标题\n\n- **要点** <script>alert(1)</script>\n\n[x](javascript:alert(1))"
    new_article(client, write_headers, id="fmt", body=body)
    article = client.get("/api/v1/articles/fmt?formats=html,text").get_json()
    assert "<h2>一、标题</h2>" in article["body_html"] and "<strong>要点</strong>" in article["body_html"]
    assert "<script" not in article["body_html"] and "href=\"javascript" not in article["body_html"]
    assert article["body_text"].splitlines()[0] == "一、标题"
    plain = client.get("/api/v1/articles/fmt").get_json()
    assert "body_html" not in plain and "body_text" not in plain


def test_sparse_fieldsets(client, write_headers):
    new_article(client, write_headers, id="sparse")
    assert client.get("/api/v1/articles/sparse?fields=id,title").get_json() == {
        "id": "sparse", "title": "广州医保卡丢了怎么办"}
    bad = client.get("/api/v1/articles/sparse?fields=id,nope")
    assert bad.status_code == 400 and "fields" in bad.get_json()["errors"]


@pytest.mark.parametrize("path", [f"/api/v1/articles/{ARTICLE}", "/api/v1/articles"])
def test_fields_naming_an_embedded_list_says_to_use_include(client, path):
    for fields in ("related,hot", "id,hot"):
        bad = client.get(path, query_string={"fields": fields})
        assert bad.status_code == 400
        messages = bad.get_json()["errors"]["fields"]
        assert messages and all("include=" in m for m in messages)


def test_include_embeds_however_fields_narrows(client):
    body = client.get(f"/api/v1/articles/{ARTICLE}?fields=id,title&include=related,hot").get_json()
    assert set(body) == {"id", "title", "related", "hot"} and body["related"]
    assert set(client.get(f"/api/v1/articles/{ARTICLE}?fields=id&include=hot").get_json()) == {"id", "hot"}


def test_drafts_are_visible_only_with_a_key(client, read_headers, write_headers):
    new_article(client, write_headers, id="draft1", status="draft")
    assert client.get("/api/v1/articles/draft1").status_code == 404
    assert client.get("/api/v1/articles/draft1", headers=read_headers).status_code == 200
    public = client.get("/api/v1/articles?per_page=100").get_json()["items"]
    assert "draft1" not in {a["id"] for a in public}
    drafts = client.get("/api/v1/articles?status=draft", headers=read_headers).get_json()["items"]
    assert [a["id"] for a in drafts] == ["draft1"]
    assert client.get("/api/v1/articles?status=draft").status_code == 401
    cached = client.get("/api/v1/articles/draft1", headers=read_headers)
    assert "private" in cached.headers["Cache-Control"]


def test_list_pagination_meta_and_links(client, write_headers):
    for i in range(5):
        new_article(client, write_headers, id=f"p{i}", published_at=f"2025-01-0{i + 1}", tags=["翻页"])
    response = client.get("/api/v1/articles?tag=翻页&per_page=2&page=2")
    body = response.get_json()
    assert [a["id"] for a in body["items"]] == ["p2", "p1"]
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 5, "pages": 3}
    assert response.headers["X-Total-Count"] == "5"
    link = response.headers["Link"]
    for rel, page in (("first", 1), ("prev", 1), ("next", 3), ("last", 3)):
        assert f'page={page}>; rel="{rel}"' in link
    past = client.get("/api/v1/articles?tag=翻页&per_page=2&page=4")
    assert past.status_code == 200 and past.get_json()["items"] == []
    assert 'page=3>; rel="prev"' in past.headers["Link"]


@pytest.mark.parametrize("path", ["/api/v1/articles?per_page=10", "/api/v1/topics/benefits/articles?per_page=10",
                                  "/api/v1/search?q=%E5%8C%BB%E4%BF%9D&per_page=10"])
def test_a_page_past_the_last_is_empty_with_meta_and_links_back(client, path):
    # README: an empty page, not a 400 and not a clamp; page itself is 1..100000.
    first = client.get(path).get_json()["meta"]
    assert first["pages"] >= 2
    response = client.get(f"{path}&page=999")
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"] == []
    assert body["meta"] == {**first, "page": 999}
    assert response.headers["X-Total-Count"] == str(first["total"])
    links = {rel: parse_qs(urlsplit(url.lstrip("<")).query)["page"] for url, rel in
             (part.split('>; rel="') for part in response.headers["Link"].removesuffix('"').split('", '))}
    last = [str(first["pages"])]
    assert links == {"first": ["1"], "last": last, "prev": last}  # no next
    assert client.get(f"{path}&page=100001").status_code == 400


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=abc", "sort=views", "page=100001",
                                   "published_after=2025-13-01", "status=deleted", "bogus=1",
                                   "page=1&page=2", ])
def test_list_rejects_bad_parameters(client, query):
    response = client.get(f"/api/v1/articles?{query}")
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["title"] == "Validation failed" and problem["errors"]


def test_list_filters_and_sorts(client, write_headers):
    new_article(client, write_headers, id="f1", title="抚州职工医保", body="江西抚州", published_at="2025-03-01",
                category="政策", tags=["t"])
    new_article(client, write_headers, id="f2", title="广州居民医保", body="广州", published_at="2025-04-01",
                tags=["t"])
    def ids(query):
        return [a["id"] for a in client.get(f"/api/v1/articles?tag=t&{query}").get_json()["items"]]
    assert ids("region=江西") == ["f1"] and ids("region=抚州市") == ["f1"]
    assert ids("category=政策") == ["f1"]
    assert ids("published_after=2025-03-15") == ["f2"]
    assert ids("published_before=2025-03-01") == ["f1"]
    assert ids("sort=published_at") == ["f1", "f2"]
    assert ids("sort=title") == sorted(["f1", "f2"], key=lambda i: {"f1": "抚州职工医保", "f2": "广州居民医保"}[i])


def test_writes_need_a_key_and_read_only_keys_cannot_write(client, read_headers):
    body = {"title": "t", "body": "b"}
    none = client.post("/api/v1/articles", json=body)
    assert none.status_code == 401 and "Bearer" in none.headers["WWW-Authenticate"]
    wrong = client.post("/api/v1/articles", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    read_only = client.post("/api/v1/articles", json=body, headers=read_headers)
    assert read_only.status_code == 403


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": "no title"}, "title"),
        ({"title": "", "body": "b"}, "title"),
        ({"title": "t" * 201, "body": "b"}, "title"),
        ({"title": "t", "body": "b", "colour": "red"}, "colour"),
        ({"title": "t", "body": "b", "status": "archived"}, "status"),
        ({"title": "t", "body": "b", "id": "../etc/passwd"}, "id"),
        ({"title": "t", "body": "b", "published_at": "yesterday"}, "published_at"),
        ({"title": "t", "body": "b", "tags": ["x"] * 21}, "tags"),
        ({"title": 5, "body": "b"}, "title"),
    ],
)
def test_create_names_each_bad_field(client, payload, field, write_headers):
    response = client.post("/api/v1/articles", json=payload, headers=write_headers)
    assert response.status_code == 400
    problem = response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in problem["errors"] and field in problem["detail"]


def test_duplicate_id_is_a_conflict(client, write_headers):
    new_article(client, write_headers, id="twice")
    again = client.post("/api/v1/articles", json={"id": "twice", "title": "t", "body": "b"}, headers=write_headers)
    assert again.status_code == 409


def test_body_must_be_a_json_object(client, write_headers):
    not_json = client.post("/api/v1/articles", data="title=x", headers={**write_headers, "Content-Type": "text/plain"})
    assert not_json.status_code == 415
    broken = client.post("/api/v1/articles", data=b'{"title": ',
                         headers={**write_headers, "Content-Type": "application/json"})
    assert broken.status_code == 400 and "JSON" in broken.get_json()["detail"]
    array = client.post("/api/v1/articles", json=["x"], headers=write_headers)
    assert array.status_code == 400
    bad_utf8 = client.post("/api/v1/articles", data=b'{"title": "\xff", "body": "b"}',
                           headers={**write_headers, "Content-Type": "application/json"})
    assert bad_utf8.status_code == 400
    assert client.patch("/api/v1/articles/anything", json={}, headers=write_headers).status_code == 404


def test_empty_patch_changes_nothing(client, write_headers):
    new_article(client, write_headers, id="same")
    unchanged = client.patch("/api/v1/articles/same", json={}, headers=write_headers)
    assert unchanged.status_code == 200 and unchanged.get_json()["version"] == 1


def test_errors_for_unknown_routes_and_methods_are_problems(client, write_headers):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    wrong_method = client.post("/api/v1/articles/some-id", json={}, headers=write_headers)
    assert wrong_method.status_code == 405 and wrong_method.get_json()["status"] == 405
    assert "GET" in wrong_method.headers["Allow"]


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_reused_representations_equal_the_schemas_dump(app, client):
    import orjson

    from service.api.representations import dump_article, render_article, shown_article
    from service.api.responses import etag_for

    with app.test_request_context():
        app.extensions["service"].open()
        for article in app.extensions["service"].store.all("articles").values():
            for fields, formats in ((None, None), (["id", "title", "topics"], None), (None, ["html", "text"])):
                first = dump_article(article, fields, formats)
                assert dump_article(article, fields, formats) is first  # the second is reused
                assert first == render_article(article, fields, formats)
                shown = shown_article(article, fields, formats)  # the bytes served, and their ETag
                assert shown.body == orjson.dumps(render_article(article, fields, formats))
                assert shown.etag == etag_for(article["version"], shown.body)


def test_representation_follows_topic_renames_and_views(client, write_headers):
    new_article(client, write_headers, id="renamed", topics=["benefits"])
    client.get("/api/v1/articles/renamed")
    client.patch("/api/v1/topics/benefits", json={"name": "报销待遇"}, headers=write_headers)
    assert client.get("/api/v1/articles/renamed").get_json()["topics"] == [{"slug": "benefits", "name": "报销待遇"}]
    client.post("/api/v1/articles/renamed/views")
    assert client.get("/api/v1/articles/renamed").get_json()["views"] == 1


def test_an_article_deleted_and_created_again_shows_its_new_content(client, write_headers):
    new_article(client, write_headers, id="again", title="第一次的标题")
    assert client.get("/api/v1/articles/again").get_json()["title"] == "第一次的标题"
    assert client.delete("/api/v1/articles/again", headers=write_headers).status_code == 204
    new_article(client, write_headers, id="again", title="第二次的标题")  # version 1 again
    shown = client.get("/api/v1/articles/again").get_json()
    assert shown["title"] == "第二次的标题" and shown["version"] == 1
    listed = client.get("/api/v1/articles?per_page=100").get_json()["items"]
    assert [a["title"] for a in listed if a["id"] == "again"] == ["第二次的标题"]


def test_what_is_kept_for_an_article_goes_when_it_is_deleted(app, client, write_headers):
    caches = app.extensions["service"].caches
    new_article(client, write_headers, id="gone")
    client.get("/api/v1/articles/gone")
    client.get("/api/v1/articles/gone/related")
    assert "gone" in caches.shown and "gone" in caches.related
    assert client.delete("/api/v1/articles/gone", headers=write_headers).status_code == 204
    assert "gone" not in caches.shown and "gone" not in caches.related
