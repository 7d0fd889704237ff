"""Hostile and broken input, keys, limits, headers, logs and metrics."""

from __future__ import annotations

import json
import threading
import time

import pytest

from service import create_app
from service.auth import hash_key


@pytest.fixture
def json_headers(write_headers):
    return {**write_headers, "Content-Type": "application/json"}


def is_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["detail"] and body["title"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "/service/" not in text and ".py" not in text
    return body


def test_oversized_body_is_413(data_dir, write_key, write_headers):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": write_key, "MAX_CONTENT_LENGTH": 1000})
    client = app.test_client()
    big = {"title": "t", "body": "医" * 2000}
    is_problem(client.post("/api/v1/articles", json=big, headers=write_headers), 413)


def test_deeply_nested_json_is_a_400(client, json_headers):
    nested = b'{"title": "t", "body": "b", "tags": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    is_problem(client.post("/api/v1/articles", data=nested, headers=json_headers), 400)


def test_nul_bytes_are_refused(client, json_headers):
    is_problem(client.post("/api/v1/articles", data=b'{"title": "a\\u0000b", "body": "b"}', headers=json_headers), 400)
    is_problem(client.post("/api/v1/articles", data=b'{"title": "a\x00b", "body": "b"}', headers=json_headers), 400)
    is_problem(client.get("/api/v1/articles?region=%00"), 400)
    is_problem(client.get("/api/v1/articles/abc%00def"), 400)


def test_invalid_utf8_and_wrong_content_types(client, write_headers, json_headers):
    is_problem(client.post("/api/v1/articles", data=b'{"title": "\xc3\x28", "body": "b"}', headers=json_headers), 400)
    is_problem(client.post("/api/v1/articles", data=b"title=x", headers={**write_headers,
               "Content-Type": "application/x-www-form-urlencoded"}), 415)
    is_problem(client.post("/api/v1/articles", headers=write_headers), 415)


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=-1", "per_page=1e3", "page=1.5"])
def test_absurd_page_numbers(client, query):
    is_problem(client.get(f"/api/v1/articles?{query}"), 400)


@pytest.mark.parametrize("path", ["/api/v1/articles/..%2F..%2Fetc%2Fpasswd", "/api/v1/articles/%2e%2e",
                                  "/api/v1/articles/a/b/c", "/api/v1/topics/..%5c..%5cwin.ini",
                                  "/api/v1/articles/" + "x" * 5000])
def test_ids_with_path_tricks_are_plain_404s(client, path):
    is_problem(client.get(path), 404)


def test_unknown_query_parameters_are_rejected_everywhere(client):
    for url in ("/api/v1/articles?foo=1", "/api/v1/articles/e9231330f69d2e16?foo=1", "/api/v1/topics?foo=1",
                "/api/v1/topics/benefits/articles?foo=1"):
        assert "foo" in is_problem(client.get(url), 400)["errors"], url


def test_unexpected_errors_are_problems_without_internals(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail at /srv/service/x.py")

    monkeypatch.setattr(app.extensions["service"].catalog, "articles", broken)
    body = is_problem(client.get("/api/v1/articles"), 500)
    assert "secret" not in body["detail"] and body["request_id"]


def test_hashed_and_read_only_keys(data_dir):
    keys = f"{hash_key('hashed-writer')},ro:{hash_key('hashed-reader')}"
    client = create_app({"DATA_DIR": str(data_dir), "API_KEYS": keys}).test_client()
    body = {"title": "t", "body": "b", "status": "draft", "id": "hk"}
    assert client.post("/api/v1/articles", json=body,
                       headers={"Authorization": "Bearer hashed-writer"}).status_code == 201
    reader = {"Authorization": "Bearer hashed-reader"}
    assert client.get("/api/v1/articles/hk", headers=reader).status_code == 200
    is_problem(client.patch("/api/v1/articles/hk", json={"title": "x"}, headers=reader), 403)
    is_problem(client.get("/api/v1/articles/hk", headers={"Authorization": "Bearer " + hash_key("hashed-writer")}),
               401)
    is_problem(client.get("/api/v1/articles", headers={"Authorization": "Basic abc"}), 401)


def test_rate_limits_answer_429_with_retry_after(data_dir, write_key, write_headers):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": write_key,
                      "RATE_LIMIT": "5 per minute", "RATE_LIMIT_WRITE": "2 per minute"})
    client = app.test_client()
    for _ in range(2):
        ok = client.post("/api/v1/articles", json={"title": "t", "body": "b"}, headers=write_headers)
        assert ok.status_code == 201 and "Retry-After" not in ok.headers
    limited = client.post("/api/v1/articles", json={"title": "t", "body": "b"}, headers=write_headers)
    is_problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    other = create_app({"DATA_DIR": str(data_dir), "API_KEYS": write_key, "RATE_LIMIT": "3 per minute"})
    anonymous = other.test_client()
    answers = [anonymous.get("/api/v1/topics") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert "3 per 1 minute" in answers[3].get_json()["detail"]
    assert anonymous.get("/healthz").status_code == 200  # probes are never limited


def test_rate_limit_counters_expire_without_a_thread_per_request():
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from service.security import WorkerMemoryStorage

    threads = threading.active_count()
    storage = WorkerMemoryStorage()
    strategy = FixedWindowRateLimiter(storage)
    item = parse("1 per second")
    assert strategy.hit(item, "requests", "ip:0") and not strategy.hit(item, "requests", "ip:0")
    for n in range(1, 200):
        strategy.hit(item, "requests", f"ip:{n}")
    assert threading.active_count() <= threads  # MemoryStorage would have started timer threads
    time.sleep(WorkerMemoryStorage.SWEEP_SECONDS + 0.1)
    assert strategy.hit(item, "requests", "ip:0")  # a new window, and the stale counters are swept
    assert list(storage.counts) == [item.key_for("requests", "ip:0")]


def test_security_headers(client):
    response = client.get("/api/v1/topics")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("origin", [None, "https://allowed.example"])
def test_every_response_carries_each_fixed_header_once(client, origin):
    headers = {"Origin": origin} if origin else {}
    for method, path in (("GET", "/api/v1/topics"), ("GET", "/api/v1/articles/nope"), ("GET", "/nope"),
                         ("DELETE", "/api/v1/topics"), ("GET", "/healthz"), ("GET", "/api/v1/search?q=")):
        response = client.open(path, method=method, headers=headers)
        for name in ("Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "X-Frame-Options",
                     "X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy", "X-Request-ID"):
            assert len(response.headers.getlist(name)) == 1, (method, path, name, response.status_code)


def test_cors_allow_list(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "CORS_ORIGINS": "https://allowed.example"})
    client = app.test_client()
    allowed = client.get("/api/v1/topics", headers={"Origin": "https://allowed.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    refused = client.get("/api/v1/topics", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options("/api/v1/articles", headers={
        "Origin": "https://allowed.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert preflight.status_code == 200 and "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_any_origin_may_read_by_default(client):
    response = client.get("/api/v1/topics", headers={"Origin": "https://anywhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://anywhere.example")


def test_body_html_is_sanitised(client, write_headers):
    body = ('<img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a> [ok](https://example.org) '
            '[bad](javascript:alert(1)) <iframe src="https://evil"></iframe>')
    client.post("/api/v1/articles", json={"id": "xss", "title": "t", "body": body}, headers=write_headers)
    html = client.get("/api/v1/articles/xss?formats=html").get_json()["body_html"]
    for bad in ("<img", "<a href=\"javascript", "<iframe", "<script"):
        assert bad not in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html


def test_request_id_reaches_the_json_access_log(client, capfd):
    capfd.readouterr()
    client.get("/api/v1/topics", headers={"X-Request-ID": "trace-me-42"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    line = next(x for x in lines if x.get("request_id") == "trace-me-42")
    assert line["status"] == 200 and line["route"] == "/api/v1/topics" and line["duration_ms"] >= 0
    assert line["message"] == "request" and line["timestamp"].startswith("20")


def test_metrics_count_requests_per_route(client):
    client.get("/api/v1/topics")
    client.get("/api/v1/articles/nope")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/api/v1/topics",status="200"}' in text
    assert 'route="/api/v1/articles/<string:article_id>",status="404"' in text
    assert "http_request_duration_seconds_bucket" in text
    assert "store_journal_bytes" in text and 'index_entries{index="articles"}' in text


def test_read_only_key_sees_drafts_not_writes(client, write_headers, read_headers):
    client.post("/api/v1/articles", json={"id": "d", "title": "t", "body": "b", "status": "draft"},
                headers=write_headers)
    assert client.get("/api/v1/articles/d", headers=read_headers).status_code == 200
    is_problem(client.delete("/api/v1/articles/d", headers=read_headers), 403)
