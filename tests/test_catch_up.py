"""Other processes' changes replayed between requests (service/catch_up.py): by the thread when no
request is being served, by the request itself when one is, never by both at once."""

from __future__ import annotations

import threading

from service.catch_up import CatchUp
from service.domain.store.store import Store

from .server import eventually


def test_the_thread_replays_between_requests_and_a_request_holds_it_off(tmp_path):
    mine, other = Store(tmp_path).open(), Store(tmp_path).open()
    heard: list[tuple[str, str]] = []
    mine.subscribe(lambda kind, key, old, new: heard.append((key, threading.current_thread().name)))
    catch_up = CatchUp(mine.refresh, interval=0.001)
    catch_up.start()
    try:
        other.write("articles", "a", lambda current: {"id": "a", "title": "while idle"})
        assert eventually(lambda: heard == [("a", "catch-up")], 10), heard  # no request asked for it

        catch_up.serving()  # a request: the thread waits until it is over
        other.write("articles", "b", lambda current: {"id": "b", "title": "while serving"})
        assert mine.refresh() == 1  # what the request's own refresh finds: the thread did not take it
        catch_up.served()
        assert heard == [("a", "catch-up"), ("b", threading.current_thread().name)]
        assert catch_up.replayed == 1
    finally:
        catch_up.stop()


def test_every_request_lets_the_thread_go_on_even_one_a_hook_refuses(app, other_worker, write_headers):
    services = app.extensions["service"]
    heard: list[tuple[str, str]] = []
    services.store.subscribe(lambda kind, key, old, new: heard.append((key, threading.current_thread().name)))
    services.catch_up.start()
    try:
        client = app.test_client()
        assert client.get("/api/v1/articles/not-there").status_code == 404
        assert client.get("/api/v1/articles", query_string={"nonsense": "1"}).status_code == 400
        assert client.post("/api/v1/articles", json={"id": "x"}).status_code == 401
        created = other_worker.post("/api/v1/articles", headers=write_headers,
                                    json={"id": "replayed", "title": "另一个进程写的", "body": "正文"})
        assert created.status_code == 201
        # Had any of those requests kept its turn, the thread would wait for ever.
        assert eventually(lambda: ("replayed", "catch-up") in heard, 20), heard
        assert client.get("/api/v1/articles/replayed").status_code == 200
    finally:
        services.catch_up.stop()
