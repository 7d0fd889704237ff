"""Topic families (a parent takes in its children) and re-deriving topics when the taxonomy changes."""

from __future__ import annotations


def article(client, article_id):
    response = client.get(f"/api/v1/articles/{article_id}")
    assert response.status_code == 200
    return response.get_json()


def slugs(record):
    return [t["slug"] for t in record["topics"]]


def listed_ids(client, path, **params):
    body = client.get(path, query_string={"per_page": 100, "fields": "id", **params}).get_json()
    assert body["meta"]["total"] == len(body["items"])  # everything on one page
    return {a["id"] for a in body["items"]}


def count(client, slug):
    return client.get(f"/api/v1/topics/{slug}").get_json()["article_count"]


def post(client, headers, **fields):
    response = client.post("/api/v1/articles", headers=headers, json={"body": "正文", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- a parent takes in its children ----------------------------------------------


def test_searching_within_a_parent_topic_finds_its_childrens_articles(client, write_headers):
    post(client, write_headers, id="child-only", title="新生儿参保流程", topics=["newborn"])
    found = client.get("/api/v1/search", query_string={"q": "新生儿参保流程", "topic": "enrollment",
                                                         "per_page": 100}).get_json()
    assert "child-only" in [hit["id"] for hit in found["items"]]
    within_child = client.get("/api/v1/search", query_string={"q": "新生儿参保流程", "topic": "newborn",
                                                                "per_page": 100}).get_json()
    assert found["meta"]["total"] >= within_child["meta"]["total"] > 0


def test_a_parent_topic_lists_and_counts_its_childrens_articles(client, write_headers):
    post(client, write_headers, id="only-child", title="孩子出生后参保", topics=["newborn"])
    post(client, write_headers, id="both", title="宝宝参保", topics=["newborn", "enrollment"])
    post(client, write_headers, id="child-draft", title="草稿", topics=["newborn"], status="draft")
    family = listed_ids(client, "/api/v1/topics/enrollment/articles")
    assert {"only-child", "both"} <= family and "child-draft" not in family
    assert family >= listed_ids(client, "/api/v1/topics/newborn/articles")
    assert family == listed_ids(client, "/api/v1/articles", topic="enrollment")
    assert count(client, "enrollment") == len(family)  # each article once, drafts left out
    assert count(client, "newborn") == len(listed_ids(client, "/api/v1/topics/newborn/articles"))
    listed = {t["slug"]: t["article_count"] for t in client.get("/api/v1/topics?per_page=100").get_json()["items"]}
    assert listed["enrollment"] == len(family)


def test_moving_a_child_to_another_parent_moves_its_articles(client, write_headers):
    assert client.post("/api/v1/topics", headers=write_headers,
                       json={"slug": "card-photos", "name": "照片", "parent": "services"}).status_code == 201
    post(client, write_headers, id="photo", title="医保卡照片怎么换", topics=["card-photos"])
    assert "photo" in listed_ids(client, "/api/v1/topics/services/articles")
    services_count = count(client, "services")
    moved = client.patch("/api/v1/topics/card-photos", headers=write_headers, json={"parent": "benefits"})
    assert moved.status_code == 200
    assert "photo" not in listed_ids(client, "/api/v1/topics/services/articles")
    assert "photo" in listed_ids(client, "/api/v1/articles", topic="benefits")
    assert count(client, "services") == services_count - 1


# -- re-deriving topics when keywords change ---------------------------------------


def test_a_new_topic_and_its_keyword_edits_reclassify_derived_articles_only(client, other_worker, write_headers):
    derived = post(client, write_headers, id="dental", title="牙科看病能用医保吗")  # topics left to the text
    chosen = post(client, write_headers, id="dental-chosen", title="牙科的医保怎么查", topics=["services"])
    assert "dental-care" not in slugs(derived)
    assert "dental-care" not in slugs(article(other_worker, "dental"))

    created = client.post("/api/v1/topics", headers=write_headers,
                          json={"slug": "dental-care", "name": "口腔", "keywords": ["牙科", "种牙"]})
    assert created.status_code == 201 and created.get_json()["article_count"] == 1
    now = article(client, "dental")
    assert "dental-care" in slugs(now) and now["version"] == derived["version"] + 1
    assert article(other_worker, "dental")["topics"] == now["topics"]  # through the change log
    assert article(client, "dental-chosen") == chosen  # an editor's choice is left alone
    assert listed_ids(client, "/api/v1/topics/dental-care/articles") == {"dental"}

    unrelated = article(client, "e9231330f69d2e16")
    assert client.patch("/api/v1/topics/dental-care", headers=write_headers,
                        json={"keywords": ["种牙"]}).status_code == 200
    assert "dental-care" not in slugs(article(client, "dental"))
    assert article(other_worker, "dental")["topics"] == article(client, "dental")["topics"]
    assert article(client, "e9231330f69d2e16") == unrelated  # not mentioning the keywords: not rewritten
    assert client.put("/api/v1/topics/dental-care", headers=write_headers,
                      json={"name": "口腔", "keywords": ["牙科"]}).get_json()["article_count"] == 1
    assert client.patch("/api/v1/topics/dental-care", headers=write_headers, json={"keywords": []}).status_code == 200
    assert client.delete("/api/v1/topics/dental-care", headers=write_headers).status_code == 204


def test_a_topic_edit_that_keeps_the_keywords_rewrites_no_article(client, changes, write_headers):
    assert client.patch("/api/v1/topics/insurance-card", headers=write_headers,
                        json={"description": "卡"}).status_code == 200
    assert changes == [("topics", "insurance-card")]
