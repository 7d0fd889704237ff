"""What a reorganisation must not change: the spec and the seeds' answers, byte for byte.

The recorded answers were taken before the domain moved into packages. A change
that means to alter them re-records them with `UPDATE_GOLDEN=1 pytest
tests/test_unchanged.py` and says why in its commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "data" / "golden"
QUERIES = [q["query"] for q in json.loads((Path(__file__).parent / "data" / "judged_queries.json").read_text())]
# How readers also type: pinyin, initials, traditional characters, a topic filter, a second page.
QUERIES += ["yibao", "ybk", "醫保報銷", "医保 topic=enrollment", "门诊 region=广东", "报销 page=2"]


def record(name: str, answers) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: record it with UPDATE_GOLDEN=1"
    recorded = json.loads(path.read_text(encoding="utf-8"))
    current = json.loads(text)
    changed = [key for key in sorted(set(recorded) | set(current)) if recorded.get(key) != current.get(key)]
    assert not changed, f"{name}: {len(changed)} answers differ from the recorded ones, first {changed[:5]}"


def body(client, url: str):
    response = client.get(url)
    return {"status": response.status_code, "body": response.get_json()}


def search_url(query: str) -> str:
    words, params = [], {}
    for part in query.split():
        key, _, value = part.partition("=")
        if value:
            params[key] = value
        else:
            words.append(part)
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"/api/v1/search?q={' '.join(words)}{extra}"


def test_the_spec_is_unchanged(client):
    record("swagger", {"document": client.get("/api/v1/swagger.json").get_json()})


def test_search_answers_are_unchanged(client):
    record("search", {query: body(client, search_url(query)) for query in QUERIES})


def test_related_answers_are_unchanged(client):
    ids = [a["id"] for page in (1, 2, 3, 4, 5, 6, 7) for a in
           client.get(f"/api/v1/articles?per_page=100&page={page}").get_json().get("items", [])]
    assert ids
    record("related", {i: body(client, f"/api/v1/articles/{i}/related?limit=20") for i in ids})


def test_listings_are_unchanged(client):
    urls = ["/api/v1/topics", "/api/v1/search/hot?limit=10", "/api/v1/search/suggest?q=医保&limit=10",
            "/api/v1/search/suggest?q=yb&limit=10", "/api/v1/recommendations/trending?limit=10"]
    topics = client.get("/api/v1/topics").get_json()["items"]
    urls += [f"/api/v1/topics/{t['slug']}/articles?per_page=100" for t in topics]
    record("listings", {url: body(client, url) for url in urls})
