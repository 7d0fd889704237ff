"""Topics through the HTTP API."""

from __future__ import annotations


def create(client, headers, **fields):
    body = {"slug": "test-topic", "name": "测试主题", **fields}
    return client.post("/api/v1/topics", json=body, headers=headers)


def test_list_has_counts_and_parents_follow_their_family(client):
    response = client.get("/api/v1/topics?per_page=100")
    topics = response.get_json()["items"]
    assert response.status_code == 200 and len(topics) >= 10
    assert all({"slug", "name", "description", "parent", "keywords", "article_count"} <= set(t) for t in topics)
    position = {t["slug"]: i for i, t in enumerate(topics)}
    for topic in topics:
        if topic["parent"]:
            assert position[topic["parent"]] < position[topic["slug"]]


def test_counts_follow_article_writes(client, write_headers):
    create(client, write_headers)
    assert client.get("/api/v1/topics/test-topic").get_json()["article_count"] == 0
    client.post("/api/v1/articles", json={"title": "t", "body": "b", "topics": ["test-topic"]}, headers=write_headers)
    client.post("/api/v1/articles", json={"title": "d", "body": "b", "topics": ["test-topic"],
                                          "status": "draft"}, headers=write_headers)
    assert client.get("/api/v1/topics/test-topic").get_json()["article_count"] == 1
    listed = client.get("/api/v1/topics/test-topic/articles").get_json()
    assert listed["meta"]["total"] == 1 and listed["items"][0]["title"] == "t"


def test_create_get_replace_patch_delete(client, write_headers):
    created = create(client, write_headers, keywords=["测试"])
    assert created.status_code == 201 and created.headers["Location"].endswith("/api/v1/topics/test-topic")
    got = client.get("/api/v1/topics/test-topic")
    assert got.get_json()["keywords"] == ["测试"] and got.headers["ETag"]
    assert client.get("/api/v1/topics/test-topic", headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    replaced = client.put("/api/v1/topics/test-topic", json={"name": "新名字"}, headers=write_headers).get_json()
    assert replaced["name"] == "新名字" and replaced["keywords"] == []
    patched = client.patch("/api/v1/topics/test-topic", json={"description": "说明"}, headers=write_headers).get_json()
    assert patched["name"] == "新名字" and patched["description"] == "说明"
    assert client.delete("/api/v1/topics/test-topic", headers=write_headers).status_code == 204
    assert client.get("/api/v1/topics/test-topic").status_code == 404


def test_every_write_answers_with_the_etag_a_get_gives(client, write_headers):
    created = create(client, write_headers)
    assert created.headers["ETag"] == client.get("/api/v1/topics/test-topic").headers["ETag"]
    for method, change in (("PUT", {"name": "新名字"}), ("PATCH", {"description": "说明"})):
        write = client.open("/api/v1/topics/test-topic", method=method, json=change, headers=write_headers)
        got = client.get("/api/v1/topics/test-topic")
        assert write.headers["ETag"] == got.headers["ETag"] and write.data == got.data


def test_topic_rules(client, write_headers):
    parent = client.get("/api/v1/topics?per_page=100").get_json()["items"][0]["slug"]
    assert create(client, write_headers, parent=parent).status_code == 201
    assert create(client, write_headers).status_code == 409
    grandchild = client.post("/api/v1/topics", json={"slug": "deeper", "name": "x", "parent": "test-topic"},
                             headers=write_headers)
    assert grandchild.status_code == 422 and "parent" in grandchild.get_json()["errors"]
    orphan = client.post("/api/v1/topics", json={"slug": "orphan", "name": "x", "parent": "nope"},
                         headers=write_headers)
    assert orphan.status_code == 422
    bad_slug = client.post("/api/v1/topics", json={"slug": "异地", "name": "x"}, headers=write_headers)
    assert bad_slug.status_code == 400 and "slug" in bad_slug.get_json()["errors"]
    client.post("/api/v1/articles", json={"title": "t", "body": "b", "topics": ["test-topic"]}, headers=write_headers)
    in_use = client.delete("/api/v1/topics/test-topic", headers=write_headers)
    assert in_use.status_code == 409 and "1 articles" in in_use.get_json()["detail"]
    assert client.delete(f"/api/v1/topics/{parent}", headers=write_headers).status_code == 409
    assert client.get("/api/v1/topics/nope/articles").status_code == 404
