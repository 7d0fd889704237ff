"""大家都在搜 shows what several readers searched, never what one person repeats, and
never junk; editors see everything counted and can pin or block any query."""

from __future__ import annotations

import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import orjson
import pytest
import requests

from service import create_app
from service.domain.content.seeds import seed_document
from service.domain.popularity.events import RECENT_HOURS, EventCounter
from service.domain.popularity.hot import HotSearches, canonical, refusal
from service.domain.popularity.readers import SECRET_FILE, ReaderTokens
from service.domain.store.store import Store
from tests.server import Server

SPAM = "加微信abc123代办医保提现"
GOOD = "医保提现"


def reader(app, n: int):
    """A test client at its own address: one reader."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.1.0.{n}"
    return client


def search(client, q: str, **kwargs) -> dict:
    response = client.get("/api/v1/search", query_string={"q": q}, **kwargs)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def searched_by(app, q: str, readers: int = 3) -> None:
    for n in range(readers):
        assert search(reader(app, n), q)["meta"]["total"] > 0, f"{q!r} must find something to be counted"


def published(client) -> None:
    """What each worker's flusher thread does within seconds, done now: the searches counted
    here reach the log that 大家都在搜 reads (a GET never writes it)."""
    client.application.extensions["service"].searches.flush()


def hot(client, **params) -> list[dict]:
    published(client)
    response = client.get("/api/v1/search/hot", query_string=params)
    assert response.status_code == 200
    return response.get_json()["items"]


def searched(client) -> dict[str, int]:
    return {i["query"]: i["count"] for i in hot(client, limit=50) if i["source"] == "search"}


def counted(client, headers) -> dict[str, dict]:
    published(client)
    response = client.get("/api/v1/search/hot/counted", query_string={"per_page": 100}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return {row["query"]: row for row in response.get_json()["items"]}


def make_app(data_dir, api_keys, **overrides):
    app = create_app({"DATA_DIR": str(data_dir), "API_KEYS": api_keys, "TESTING": True,
                      "RATE_LIMIT": "100000 per minute", "RATE_LIMIT_WRITE": "100000 per minute", **overrides})
    app.extensions["service"].open()
    return app


# -- one reader, several readers -------------------------------------------------


def test_one_reader_repeating_a_query_never_reaches_hot_or_suggest(app, read_headers):
    one = reader(app, 1)
    for _ in range(20):
        search(one, SPAM)
        search(one, GOOD)
    assert searched(one) == {}
    assert GOOD not in [i["query"] for i in hot(one, limit=50)]
    suggested = one.get("/api/v1/search/suggest", query_string={"q": "医保提"}).get_json()["items"]
    assert not [s for s in suggested if s["kind"] == "query"]
    rows = counted(one, read_headers)
    assert rows[GOOD] == {"query": GOOD, "count": 1, "readers": 1, "shown": False, "rule": None}
    assert canonical(SPAM) not in rows  # refused: never counted at all


def test_k_distinct_readers_make_an_entry_that_suggest_offers_first(app, read_headers):
    searched_by(app, GOOD, readers=2)
    assert GOOD not in searched(app.test_client())
    searched_by(app, GOOD, readers=3)  # readers 0 and 1 again (same hour: once), and a third
    client = app.test_client()
    assert searched(client) == {GOOD: 3}
    assert counted(client, read_headers)[GOOD] == {"query": GOOD, "count": 3, "readers": 3, "shown": True, "rule": None}
    suggested = client.get("/api/v1/search/suggest", query_string={"q": "医保提"}).get_json()["items"]
    assert suggested[0] == {"text": GOOD, "kind": "query"}


def test_the_number_of_readers_is_configurable(tmp_path, api_keys):
    app = make_app(tmp_path / "data", api_keys, HOT_MIN_READERS=2)
    searched_by(app, GOOD, readers=1)
    assert searched(app.test_client()) == {}
    searched_by(app, GOOD, readers=2)
    assert searched(app.test_client()) == {GOOD: 2}


def test_readers_are_told_apart_by_the_address_the_proxies_resolve(tmp_path, api_keys):
    behind = make_app(tmp_path / "behind", api_keys, TRUSTED_PROXIES=1)
    direct = make_app(tmp_path / "direct", api_keys)
    for app in (behind, direct):
        for n in range(3):
            search(app.test_client(), GOOD, headers={"X-Forwarded-For": f"198.51.100.{n}"})
    assert searched(behind.test_client()) == {GOOD: 3}
    assert searched(direct.test_client()) == {}  # no trusted proxy: the header is anyone's to forge


def test_searches_with_a_key_are_not_counted(app, write_headers, read_headers):
    for n in range(3):
        search(reader(app, n), GOOD, headers=write_headers)
        search(reader(app, n), "异地就医备案", headers=read_headers)
    assert counted(app.test_client(), read_headers) == {}


def test_no_address_is_stored_only_keyed_tokens(tmp_path, api_keys):
    data = tmp_path / "data"
    app = make_app(data, api_keys)
    for n in range(3):
        search(app.test_client(), GOOD, environ_base={"REMOTE_ADDR": f"203.0.113.{n + 7}"})
    services = app.extensions["service"]
    services.searches.flush()
    services.searches.compact()
    search(app.test_client(), "异地就医备案", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    services.searches.flush()
    stored = b"".join((data / name).read_bytes() for name in ("hot-searches.jsonl", "hot-searches-snapshot.json"))
    assert b"203.0.113" not in stored
    readers = orjson.loads((data / "hot-searches-snapshot.json").read_bytes())["readers"][GOOD]
    assert len(readers) == 3 and all(len(token) == 18 for token, _ in readers)
    assert stat.S_IMODE(os.stat(data / SECRET_FILE).st_mode) == 0o600
    assert searched(app.test_client()) == {GOOD: 3}


def test_counts_from_before_readers_were_counted_are_not_carried_over(tmp_path, api_keys, read_headers):
    data = tmp_path / "data"
    old = EventCounter(data, "searches")  # the log every search went to, one person or many
    for _ in range(50):
        old.record(GOOD)
    old.close()
    app = make_app(data, api_keys)
    assert counted(app.test_client(), read_headers) == {} and searched(app.test_client()) == {}


# -- what a query is ----------------------------------------------------------------


def test_variants_merge_into_one_entry(app):
    variants = ["異地就醫備案", "异地 就医 备案", "\u3000异地就医备案  ", "异地就医備案"]
    for n, q in enumerate(variants):
        search(reader(app, n), q)
    for n, q in enumerate(["YIBAOKA", "ｙｉｂａｏｋａ", "Yibaoka"]):
        search(reader(app, n), q)
    assert searched(app.test_client()) == {"异地就医备案": 4, "yibaoka": 3}


JUNK = [
    SPAM,
    "医保提现加vx",
    "医保提现QQ",
    "医保提现 13812345678",
    "医保提现 138 1234 5678",
    "医保提现123456",
    "<script>x</script>医保",
    "&lt;b&gt;医保提现",
    "医保提现http://x",
    "医保提现 www.x.com",
    "医保提现 yibao.cn",
    "医保提现\u202e",  # bidi override
    "\u2066医保提现",
    "医保\u200e提现",  # bidi mark
    "医保\u200b提现",  # zero width
    "医保\u200d提现",
    "\u2060医保提现",
    "\ufeff医保提现",
    "医保\x07提现",  # control
    "医保提现\ufffd",  # what a broken encoding leaves
]


@pytest.mark.parametrize("q", JUNK, ids=range(len(JUNK)))
def test_junk_never_enters_even_from_many_readers(app, q, read_headers):
    searched_by(app, q)
    client = app.test_client()
    assert searched(client) == {} and counted(client, read_headers) == {}


def test_percent_encoded_leftovers_never_enter(app, read_headers):
    # %ed%a0%80 (an encoded lone surrogate) is not UTF-8: the search is refused, so nothing is counted.
    for n in range(3):
        response = reader(app, n).get("/api/v1/search?q=%ed%a0%80%E5%8C%BB%E4%BF%9D%E6%8F%90%E7%8E%B0")
        assert response.status_code == 400
    # The same escapes typed as text (sent as %25ed...) are searched but never counted.
    for n in range(3):
        response = reader(app, n).get("/api/v1/search?q=%25ed%25a0%2580%E5%8C%BB%E4%BF%9D%E6%8F%90%E7%8E%B0")
        assert response.status_code == 200 and response.get_json()["meta"]["total"] > 0
    assert counted(app.test_client(), read_headers) == {}


def test_searches_that_find_nothing_never_enter(app, read_headers):
    searched = [search(reader(app, n), "zzzzqqqq")["meta"]["total"] for n in range(3)]
    assert searched == [0, 0, 0] and counted(app.test_client(), read_headers) == {}


@pytest.mark.parametrize("q, reason", [
    ("医保\ud800提现", "invisible or broken character"),  # a lone surrogate
    ("加微信abc123代办医保提现", "contact"),
    ("医保卡卡卡卡卡", "repeated character"),
    ("ab", "no words"),
    ("医" * 31, "length"),
    ("%ed%a0%80", "percent-encoded"),
])
def test_refusals_name_their_rule(q, reason):
    assert refusal(canonical(q)) == reason


@pytest.mark.parametrize("q", ["2024-2025年医保缴费", "12345热线医保", "医保卡丢了怎么办", "yibaoka", "医保/社保"])
def test_ordinary_queries_are_not_refused(q):
    assert refusal(canonical(q)) is None


# -- editors ---------------------------------------------------------------------


def test_counted_lists_everything_counted_for_editors_only(app, write_headers, read_headers):
    searched_by(app, GOOD)
    searched_by(app, "异地就医备案", readers=1)
    searched_by(app, "佛山惠民保")
    client = app.test_client()
    assert client.get("/api/v1/search/hot/counted").status_code == 401
    client.put("/api/v1/search/hot/rules/佛山惠民保", json={"action": "block"}, headers=write_headers)
    rows = counted(client, headers=read_headers)  # a read-only key is enough
    assert rows == {
        GOOD: {"query": GOOD, "count": 3, "readers": 3, "shown": True, "rule": None},
        "异地就医备案": {"query": "异地就医备案", "count": 1, "readers": 1, "shown": False, "rule": None},
        "佛山惠民保": {"query": "佛山惠民保", "count": 3, "readers": 3, "shown": False, "rule": "block"},
    }
    page = client.get("/api/v1/search/hot/counted", query_string={"per_page": 1, "page": 2}, headers=read_headers)
    assert page.get_json()["meta"] == {"page": 2, "per_page": 1, "total": 3, "pages": 3}
    assert page.headers["Cache-Control"].startswith("private")


# "医保%2f" is a literal %2f (sent as %252f).
RESERVED = ["医保/社保", "/医保", "医保//", "医保?报销", "医保#1", "100%报销", "a+b医保", "yibao app", "医保%2f"]


@pytest.mark.parametrize("q", RESERVED)
def test_rules_round_trip_for_queries_with_reserved_characters(client, q, write_headers, read_headers):
    url = "/api/v1/search/hot/rules/" + quote(q, safe="")
    put = client.put(url, json={"action": "pin", "position": 1}, headers=write_headers)
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["query"] == q
    rules = client.get("/api/v1/search/hot/rules", headers=read_headers).get_json()["items"]
    assert [r["query"] for r in rules] == [q]
    assert hot(client)[0] == {"query": q, "count": 0, "pinned": True, "source": "pin"}
    assert client.put(url, json={"action": "block"}, headers=write_headers).get_json()["action"] == "block"
    assert q not in [i["query"] for i in hot(client)]
    assert client.delete(url, headers=write_headers).status_code == 204
    assert client.get("/api/v1/search/hot/rules", headers=read_headers).get_json()["items"] == []
    assert client.delete(url, headers=write_headers).status_code == 404


def rule_parameter(client, method: str) -> dict:
    operation = client.get("/api/v1/swagger.json").get_json()["paths"]["/api/v1/search/hot/rules/{query}"][method]
    return next(p for p in operation["parameters"] if p["name"] == "query")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_the_rule_path_parameter_is_validated_as_documented(client, method, write_headers):
    documented = rule_parameter(client, method)
    assert (documented["minLength"], documented["maxLength"], documented["in"]) == (1, 200, "path")
    send = getattr(client, method)
    body = {"json": {"action": "block"}} if method == "put" else {}
    ok = 200 if method == "put" else 404
    # Anything the document allows is accepted: the longest, and characters NFKC expands (ﷺ is 18).
    for q in ["医" * 200, "ﷺ" * 200, "x", " a ", "\u200b", "医保\n卡", "\r\n."]:
        assert send("/api/v1/search/hot/rules/" + quote(q, safe=""), headers=write_headers, **body).status_code == ok
    for q in ["医" * 201, " ", "\u3000\t"]:
        response = send("/api/v1/search/hot/rules/" + quote(q, safe=""), headers=write_headers, **body)
        assert response.status_code == 400 and "query" in response.get_json()["errors"]


# -- before anyone searched --------------------------------------------------------


def test_a_fresh_store_shows_topic_names_that_find_articles(client):
    items = hot(client)
    assert len(items) == 10 and {i["source"] for i in items} == {"topic"}
    assert not any(i["pinned"] for i in items)
    topics = {t["name"]: t["article_count"] for t in client.get("/api/v1/topics?per_page=100").get_json()["items"]}
    for item in items:
        assert topics[item["query"]] > 0
        assert search(client, item["query"])["meta"]["total"] > 0
    # Suggestions offer what readers searched (and pins), never the fill.
    suggested = client.get("/api/v1/search/suggest", query_string={"q": "异地"}).get_json()["items"]
    assert "异地就医" in [i["query"] for i in items] and not [s for s in suggested if s["kind"] == "query"]


def test_pins_and_searches_come_before_the_fallback_and_blocks_hold(app, client, write_headers):
    first_topic = hot(client)[0]["query"]
    client.put("/api/v1/search/hot/rules/" + quote(first_topic), json={"action": "block"}, headers=write_headers)
    client.put("/api/v1/search/hot/rules/新生儿参保", json={"action": "pin"}, headers=write_headers)
    searched_by(app, GOOD)
    items = hot(client, limit=5)
    assert [i["source"] for i in items] == ["pin", "search", "topic", "topic", "topic"]
    assert [i["query"] for i in items[:2]] == ["新生儿参保", GOOD]
    assert first_topic not in [i["query"] for i in hot(client, limit=50)]
    assert hot(client, limit=50)[-1]["source"] == "topic"  # fewer topics than 50: no padding beyond them


# -- the counter underneath --------------------------------------------------------


def domain_hot(data_dir, clock, min_readers=3):
    store = Store(data_dir / "store", seed=lambda: seed_document(data_dir / "no-seeds"))
    store.open()
    counter = EventCounter(data_dir / "events", "searches", clock=clock)
    return HotSearches(counter, store, ReaderTokens(data_dir / "events"), min_readers=min_readers), counter


def test_a_reader_two_workers_counted_before_either_published_counts_once_for_reads_too(tmp_path):
    now = 1_800_000_000.0
    hot1, one = domain_hot(tmp_path, lambda: now)
    _, two = domain_hot(tmp_path, lambda: now)
    hot2 = HotSearches(two, hot1.store, ReaderTokens(tmp_path / "events"))
    assert hot1.record(GOOD, "ip:10.0.0.1", found=1, now=now)
    assert hot2.record(GOOD, "ip:10.0.0.1", found=1, now=now + 5)  # one has not published it yet
    one.flush()
    two.refresh()  # what a read does: two's own pending copy would be dropped on replay, so it goes now
    assert (two.total(GOOD), two.readers(GOOD, now)) == (1, 1)
    two.flush()
    one.refresh()
    assert one.total(GOOD) == two.total(GOOD) == 1


def test_only_a_readers_first_page_counts(tmp_path):
    hot, counter = domain_hot(tmp_path, time.time)
    assert not hot.record(GOOD, "ip:10.0.0.1", found=5, page=2)  # paging through a search already counted
    assert not hot.record(GOOD, "ip:10.0.0.1", found=5, with_key=True)  # an editor's or an integration's
    assert hot.record(GOOD, "ip:10.0.0.1", found=5)
    assert counter.total(GOOD) == 1


def test_a_reader_counts_once_per_hour_across_processes_restarts_and_compaction(tmp_path):
    now = 1_800_000_000.0
    hot1, one = domain_hot(tmp_path, lambda: now)
    _, two = domain_hot(tmp_path, lambda: now)  # another worker on the same data directory
    hot2 = HotSearches(two, hot1.store, ReaderTokens(tmp_path / "events"))
    assert hot1.record(GOOD, "ip:10.0.0.1", found=1, now=now)
    assert hot2.record(GOOD, "ip:10.0.0.1", found=1, now=now + 5)
    one.flush()
    two.flush()
    one.refresh()
    assert (one.total(GOOD), two.total(GOOD), one.readers(GOOD)) == (1, 1, 1)
    one.compact()
    hot3, three = domain_hot(tmp_path, lambda: now)
    hot3.record(GOOD, "ip:10.0.0.1", found=1, now=now + 60)  # same reader, same hour, after a restart
    hot3.record(GOOD, "ip:10.0.0.1", found=1, now=now + 3600)  # the next hour: again
    hot3.record(GOOD, "ip:10.0.0.2", found=1, now=now + 3600)
    three.flush()
    assert (three.total(GOOD), three.readers(GOOD, now + 3600)) == (3, 2)
    assert not hot3.shown(GOOD, now + 3600)
    hot3.record(GOOD, "ip:10.0.0.3", found=1, now=now + 3600)
    three.flush()
    assert hot3.shown(GOOD, now + 3600)
    assert [i["query"] for i in hot3.top(now=now + 3600)] == [GOOD]
    # Readers older than the window no longer count towards the threshold.
    later = now + (RECENT_HOURS + 2) * 3600
    assert three.readers(GOOD, later) == 0 and not hot3.shown(GOOD, later)


def test_the_readers_secret_is_made_once_and_shared(tmp_path):
    first, second = ReaderTokens(tmp_path), ReaderTokens(tmp_path)
    assert first("ip:10.0.0.1") == second("ip:10.0.0.1") != first("ip:10.0.0.2")
    assert "10.0.0.1" not in first("ip:10.0.0.1")
    other = tmp_path / "other"
    other.mkdir()
    assert ReaderTokens(other)("ip:10.0.0.1") != first("ip:10.0.0.1")


# -- real gunicorn ----------------------------------------------------------------


def test_distinct_readers_spread_over_gunicorn_workers_make_an_entry(tmp_path):
    with Server(tmp_path / "data", workers=3, TRUSTED_PROXIES=1) as server:
        def search_as(address: str, q: str) -> str:
            with requests.Session() as session:  # a new connection each time: any worker may answer
                response = session.get(server.url + "/api/v1/search", params={"q": q}, timeout=10,
                                       headers={"Connection": "close", "X-Forwarded-For": address})
            assert response.status_code == 200 and response.json()["meta"]["total"] > 0
            return response.headers["X-Request-ID"][:16]  # the answering worker's prefix

        jobs = [(f"192.0.2.{n}", GOOD) for n in range(3) for _ in range(8)]
        jobs += [("192.0.2.99", "异地就医备案")] * 24  # one reader, many times, every worker
        with ThreadPoolExecutor(6) as pool:
            workers = list(pool.map(lambda job: search_as(*job), jobs))
        assert len(set(workers)) >= 2, "the searches should have reached several workers"

        def listed():
            with requests.Session() as session:
                items = session.get(server.url + "/api/v1/search/hot", headers={"Connection": "close"},
                                    timeout=10).json()["items"]
            return {i["query"]: i["count"] for i in items if i["source"] == "search"}

        deadline = time.monotonic() + 20  # counts travel between workers every ~2 s
        while listed() != {GOOD: 3} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listed() == {GOOD: 3}  # each reader once, however many workers saw it; the lone one not at all

        def counted_rows():
            rows = requests.get(server.url + "/api/v1/search/hot/counted", timeout=10,
                                headers={"Authorization": "Bearer test-write-key"}).json()["items"]
            return {r["query"]: (r["count"], r["readers"]) for r in rows}

        expected = {GOOD: (3, 3), "异地就医备案": (1, 1)}
        deadline = time.monotonic() + 20  # the lone reader's search may still wait in a worker's buffer
        while counted_rows() != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counted_rows() == expected
