"""The JSON store on its own: journal, recovery, compaction, migrations."""

from __future__ import annotations

import json

import orjson
import pytest

from service.domain.content.seeds import SEEDS_DIR, seed_document
from service.domain.popularity.events import EventCounter
from service.domain.store.jsonl import JsonLines
from service.domain.store.records import check_document
from service.domain.store.snapshot import SCHEMA_VERSION, StoreError
from service.domain.store.store import Store


def put(store: Store, key: str, **fields):
    return store.write("articles", key, lambda current: {"id": key, **fields})


def open_store(path, **kwargs) -> Store:
    return Store(path, **kwargs).open()


def test_writes_survive_reopen(tmp_path):
    store = open_store(tmp_path)
    put(store, "a", title="one")
    put(store, "b", title="two")
    store.write("articles", "a", lambda current: None)
    again = open_store(tmp_path)
    assert set(again.all("articles")) == {"b"}
    assert again.seq == 3


def test_two_processes_views_stay_in_step(tmp_path):
    first, second = open_store(tmp_path), open_store(tmp_path)
    put(first, "a", title="from first")
    second.refresh()
    assert second.get("articles", "a")["title"] == "from first"
    # A write from a stale view catches up first, so nothing is lost.
    second.write("articles", "a", lambda current: {**current, "n": current.get("n", 0) + 1})
    first.write("articles", "a", lambda current: {**current, "n": current.get("n", 0) + 1})
    second.refresh()
    assert second.get("articles", "a")["n"] == 2


def test_torn_last_line_is_dropped_and_cut_by_next_writer(tmp_path):
    store = open_store(tmp_path)
    put(store, "a", title="kept")
    journal = tmp_path / "journal.jsonl"
    with open(journal, "ab") as handle:
        handle.write(b'{"seq": 2, "op": "put", "kind": "articles", "key": "b", "rec')
    recovered = open_store(tmp_path)
    assert set(recovered.all("articles")) == {"a"}
    put(recovered, "c", title="after")
    lines = journal.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)
    assert set(open_store(tmp_path).all("articles")) == {"a", "c"}


def test_journal_and_counter_files_keep_their_headers(tmp_path):
    open_store(tmp_path)
    EventCounter(tmp_path, "views")
    assert (tmp_path / "journal.jsonl").read_bytes() == b'{"base":0}\n'
    assert (tmp_path / "views.jsonl").read_bytes() == b'{"generation":0}\n'


def test_jsonl_reading_stops_or_skips_at_a_bad_line_and_waits_for_a_torn_one(tmp_path):
    log = JsonLines(tmp_path / "x.jsonl", "generation")
    with log.lock():
        log.rewrite(3)
        log.append({"a": 1})
    head = log.path.read_bytes()
    with open(log.path, "ab") as handle:
        handle.write(b'not json\n{"a": 2}\n{"a": 3')  # a whole bad line, then a torn one
    with log.reader() as reader:
        assert reader.generation == 3
        assert reader.lines(0) == ([{"generation": 3}, {"a": 1}], len(head))
        values, end = reader.lines(len(head), skip_bad=True)
        assert values == [{"a": 2}] and end == reader.size - len(b'{"a": 3')
    with log.lock():
        log.append({"a": 4})  # cuts the torn line first
    assert log.path.read_bytes() == head + b'not json\n{"a": 2}\n{"a":4}\n'


def test_compaction_folds_journal_into_snapshot(tmp_path):
    store = open_store(tmp_path, compact_bytes=2000)
    other = open_store(tmp_path)
    for i in range(40):
        put(store, f"a{i}", title="x" * 50)
    store.wait_for_compaction()  # folded by a forked child, off the write path
    snapshot = orjson.loads((tmp_path / "snapshot.json").read_bytes())
    assert snapshot["seq"] > 0 and snapshot["schema_version"] == SCHEMA_VERSION
    # The journal follows the snapshot, holding only what was written while its child ran.
    lines = [orjson.loads(line) for line in (tmp_path / "journal.jsonl").read_bytes().splitlines()]
    assert lines[0] == {"base": snapshot["seq"]}
    assert [c["seq"] for c in lines[1:]] == list(range(snapshot["seq"] + 1, store.seq + 1))
    other.refresh()  # behind by more than one compaction: reloads the snapshot
    assert len(other.all("articles")) == 40
    assert len(open_store(tmp_path).all("articles")) == 40


def test_crash_between_snapshot_and_journal_reset_replays_nothing_twice(tmp_path):
    store = open_store(tmp_path)
    seen = []
    put(store, "a", title="one", n=1)
    put(store, "a", title="one", n=2)
    # Simulate the crash: the snapshot is written, the old journal is still there.
    from service.domain.store.snapshot import write_document

    write_document(tmp_path / "snapshot.json", store.document())
    reopened = Store(tmp_path)
    reopened.subscribe(lambda kind, key, old, new: seen.append(key))
    reopened.open()
    assert reopened.get("articles", "a")["n"] == 2
    assert seen == []  # every journal line was already in the snapshot
    put(reopened, "b", title="two")
    assert set(open_store(tmp_path).all("articles")) == {"a", "b"}


def test_listeners_hear_local_and_replayed_changes(tmp_path):
    first, second = open_store(tmp_path), open_store(tmp_path)
    heard = []
    second.subscribe(lambda kind, key, old, new: heard.append((kind, key, old is None, new is None)))
    put(first, "a", title="x")
    first.write("articles", "a", lambda current: None)
    second.refresh()
    assert heard == [("articles", "a", True, False), ("articles", "a", False, True)]


def test_corrupt_snapshot_stops_start_and_is_left_alone(tmp_path):
    open_store(tmp_path)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(b'{"schema_version": 2, "articles": [')
    with pytest.raises(StoreError) as error:
        open_store(tmp_path)
    assert str(snapshot) in str(error.value) and "not valid JSON" in str(error.value)
    assert snapshot.read_bytes() == b'{"schema_version": 2, "articles": ['


def test_snapshot_from_a_newer_schema_stops_start(tmp_path):
    snapshot = tmp_path / "snapshot.json"
    content = orjson.dumps({"schema_version": SCHEMA_VERSION + 1, "seq": 0, "articles": []})
    snapshot.write_bytes(content)
    with pytest.raises(StoreError) as error:
        open_store(tmp_path)
    message = str(error.value)
    assert str(snapshot) in message and str(SCHEMA_VERSION + 1) in message and str(SCHEMA_VERSION) in message
    assert snapshot.read_bytes() == content


def test_journal_without_snapshot_is_refused(tmp_path):
    (tmp_path / "journal.jsonl").write_bytes(b'{"seq": 1, "op": "delete", "kind": "articles", "key": "a"}\n')
    with pytest.raises(StoreError, match="without snapshot.json"):
        open_store(tmp_path)


def test_version_1_snapshot_is_migrated_with_a_backup(tmp_path):
    old = {
        "schema_version": 1,
        "seq": 1,
        "topics": [{"slug": "yidi-jiuyi", "name": "异地就医", "description": "", "parent": None,
                    "keywords": []}],
        "articles": [{"id": "x1", "title": "异地就医怎么备案", "date": "2025-04-19",
                      "topics": ["异地就医"]}],
    }
    (tmp_path / "snapshot.json").write_bytes(orjson.dumps(old))
    # A change made by the old version, still in its journal, is folded in first.
    change = {"seq": 2, "op": "put", "kind": "articles", "key": "x2",
              "record": {"id": "x2", "title": "t", "date": "2025-01-01", "topics": []}}
    (tmp_path / "journal.jsonl").write_bytes(orjson.dumps(change) + b"\n")
    store = open_store(tmp_path)
    article = store.get("articles", "x1")
    assert article["published_at"] == "2025-04-19" and "date" not in article
    assert article["topics"] == ["yidi-jiuyi"]
    assert article["regions"] == [] and article["tags"] == []
    assert store.get("articles", "x2")["published_at"] == "2025-01-01"
    assert orjson.loads((tmp_path / "snapshot.v1.json").read_bytes()) == old
    assert orjson.loads((tmp_path / "snapshot.json").read_bytes())["schema_version"] == SCHEMA_VERSION


def test_version_2_store_opens_without_the_stored_views(tmp_path):
    old = seed_document(SEEDS_DIR)
    old.update(schema_version=2, seq=1)
    for article in old["articles"]:
        article["views"] = 0  # what version 2 stored, always 0
    (tmp_path / "snapshot.json").write_bytes(orjson.dumps(old))
    change = {"seq": 2, "op": "put", "kind": "articles", "key": "x2",
              "record": {**old["articles"][0], "id": "x2", "views": 0}}
    (tmp_path / "journal.jsonl").write_bytes(b'{"base":1}\n' + orjson.dumps(change) + b"\n")
    store = open_store(tmp_path)
    assert len(store.all("articles")) == len(old["articles"]) + 1
    assert not [a["id"] for a in store.all("articles").values() if "views" in a]
    assert check_document(store.document()) == []
    assert orjson.loads((tmp_path / "snapshot.v2.json").read_bytes()) == old
    migrated = orjson.loads((tmp_path / "snapshot.json").read_bytes())
    assert migrated["schema_version"] == SCHEMA_VERSION == 3 and migrated["seq"] == 2
    assert open_store(tmp_path).document() == store.document()


def test_failed_append_leaves_no_partial_line(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    put(store, "a", title="kept")
    journal = tmp_path / "journal.jsonl"
    before = journal.read_bytes()
    import service.domain.store.journal as journal_module

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module.os, "fsync", full_disk)
    with pytest.raises(OSError):
        put(store, "b", title="lost, never acknowledged")
    monkeypatch.undo()
    assert journal.read_bytes() == before
    put(store, "c", title="after space returns")
    assert set(open_store(tmp_path).all("articles")) == {"a", "c"}
