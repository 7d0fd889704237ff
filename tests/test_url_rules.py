"""What every URL must be: UTF-8 without NUL, only the parameters the endpoint
takes, each once, and not absurdly long; one check for every route."""

from __future__ import annotations

import re

import pytest

from service import create_app
from service.api.url_rules import MAX_QUERY_BYTES

ARTICLE = "e9231330f69d2e16"
# A value for each path variable, so every route can be asked for.
SAMPLES = {"article_id": ARTICLE, "slug": "benefits", "query": "新生儿参保", "filename": "swagger-ui.css"}


def problem(response, status=400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def every_route(app):
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"OPTIONS"}):
            yield method, path


def test_every_route_is_checked(app):
    # The walk below must reach the routes that used to take anything.
    routes = set(every_route(app))
    assert {("GET", "/api/v1/topics/benefits"), ("POST", f"/api/v1/articles/{ARTICLE}/views"),
            ("GET", "/api/v1/search/hot/rules"), ("DELETE", f"/api/v1/articles/{ARTICLE}")} <= routes


def test_unknown_query_parameters_are_a_400_on_every_route(app, client, write_headers):
    for method, path in every_route(app):
        response = client.open(path, method=method, query_string="zz=1", headers=write_headers)
        if method == "HEAD":
            assert response.status_code == 400, path
            continue
        body = problem(response)
        assert body["errors"] == {"zz": [body["errors"]["zz"][0]]} and "Unknown parameter" in body["errors"]["zz"][0]
        assert "zz" in body["detail"], (method, path)


def test_the_error_lists_what_the_endpoint_takes(client):
    body = problem(client.get("/api/v1/search/suggest", query_string="q=医保&limt=3"))
    assert body["errors"]["limt"] == ["Unknown parameter. This endpoint takes: limit, q."]
    body = problem(client.get("/api/v1/topics/benefits", query_string="x=1"))
    assert body["errors"]["x"] == ["Unknown parameter. This endpoint takes none."]


def test_known_parameters_still_work_and_a_preflight_is_not_refused(client):
    assert client.get("/api/v1/search", query_string={"q": "医保", "page": 2}).status_code == 200
    assert client.get("/api/v1/articles", query_string={"fields": "id,title", "per_page": 1}).status_code == 200
    preflight = client.options("/api/v1/search?q=%E5%8C%BB&x=1", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"]


@pytest.mark.parametrize("query", ["a=1&a=2", "q=医保&q=医保&page=1"])
def test_repeated_parameters_are_a_400_wherever_they_are(client, query):
    name = query.split("=")[0]
    for path in ("/api/v1/search", "/api/v1/topics/benefits", f"/api/v1/articles/{ARTICLE}/views"):
        body = problem(client.open(path, method="POST" if path.endswith("views") else "GET", query_string=query))
        assert body["errors"] == {name: ["Give it once."]}, path


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF", "%E5%8C", "abc%C0%AF"])
def test_invalid_utf8_in_a_parameter_is_a_400_naming_it(app, client, raw):
    for path, extra in (("/api/v1/search", ""), ("/api/v1/search/suggest", ""), ("/api/v1/articles", "&page=1"),
                        ("/api/v1/recommendations/trending", "")):
        name = "region" if "trending" in path or "articles" in path else "q"
        body = problem(client.get(path, query_string=f"{name}={raw}{extra}"))
        assert body["errors"] == {name: ["Not valid UTF-8 once percent-decoded."]}, path
        assert name in body["detail"]
    hot = app.extensions["service"].hot.top(50)
    assert not any("%" in item["query"] or "\ufffd" in item["query"] for item in hot)


def test_invalid_utf8_sent_raw_or_in_a_name(client):
    raw = client.get("/api/v1/search", environ_overrides={"QUERY_STRING": "q=\xff"})  # latin-1, as in WSGI
    assert problem(raw)["errors"] == {"q": ["Not valid UTF-8 once percent-decoded."]}
    assert "\ufffd" in problem(client.get("/api/v1/search", query_string="q=1&%ED%A0%80=1"))["detail"]


@pytest.mark.parametrize("raw", ["/api/v1/articles/\xed\xa0\x80", "/api/v1/topics/\xff", "/api/v1/zz\xc3"])
def test_invalid_utf8_in_the_path_is_a_400(client, raw):
    # PATH_INFO as a server builds it: the percent-decoded bytes, as latin-1.
    body = problem(client.get("/", environ_overrides={"PATH_INFO": raw}))
    assert "UTF-8" in body["detail"]
    chinese = client.get("/", environ_overrides={"PATH_INFO": "/api/v1/articles/广州".encode().decode("latin-1")})
    assert problem(chinese, 404)["detail"] == "no article with id '广州'"


def test_a_query_string_past_the_limit_is_a_400_naming_the_longest_parameter(client):
    query = "page=1&region=" + "%E5%8C%BB" * (MAX_QUERY_BYTES // 9)
    body = problem(client.get("/api/v1/articles", query_string=query))
    assert body["errors"] == {"region": ["Too long."]} and str(MAX_QUERY_BYTES) in body["detail"]


def test_refused_urls_count_against_the_rate_limit(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "RATE_LIMIT": "2 per minute"})
    client = app.test_client()
    assert problem(client.get("/api/v1/topics?x=1"))["errors"]["x"]
    assert problem(client.get("/api/v1/search?q=%FF")).get("errors")
    assert problem(client.get("/api/v1/topics"), 429)
