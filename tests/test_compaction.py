"""Compaction off the write path: a forked child writes the new snapshot while writes go on,
then every process reads its records from the new segment, holding the same state."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.store.snapshot import read_head
from service.domain.store.store import Store


def put(store: Store, key: str, **fields):
    return store.write("articles", key, lambda current: {"id": key, **fields})


def journal(data: Path) -> list[dict]:
    return [orjson.loads(line) for line in (data / "journal.jsonl").read_bytes().splitlines()]


def wait_for_gate(gate: Path) -> None:
    deadline = time.monotonic() + 60
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.01)


def test_writes_go_on_while_the_compaction_child_writes(tmp_path):
    data, gate = tmp_path / "data", tmp_path / "gate"
    store = Store(data, compact_bytes=2000).open()
    pruned = tmp_path / "pruned"
    # Both run in the child, which holds the state at its seq: the save waits until the test lets it go.
    store.on_compaction(lambda snapshot_id: wait_for_gate(gate), pruned.write_text)
    before = (data / "snapshot.json").stat().st_ino
    for i in range(40):
        put(store, f"a{i}", title="x" * 50)  # each returns, though the first compaction is stuck
    assert store.compactor.running()
    assert (data / "snapshot.json").stat().st_ino == before  # not replaced yet
    starting = Store(data).open()  # a process starting meanwhile: the old snapshot and the whole journal
    assert len(starting.all("articles")) == 40

    gate.touch()
    store.wait_for_compaction()
    assert (data / "snapshot.json").stat().st_ino != before
    assert pruned.read_text() == store.snapshot_id  # after the new snapshot was in place
    base = read_head(data / "snapshot.json")[1]
    lines = journal(data)
    assert lines[0] == {"base": base} and 0 < base < store.seq
    assert [c["seq"] for c in lines[1:]] == list(range(base + 1, store.seq + 1))  # written meanwhile: kept
    # The writer now reads the new segment, holding only what changed after it.
    assert store.segment_seq == base
    assert len(store._data["articles"]._added) == store.seq - base
    starting.refresh()
    assert starting.segment_seq == base and starting.document() == store.document()
    assert Store(data).open().document() == store.document()


def test_a_failed_compaction_keeps_every_change(tmp_path):
    data = tmp_path / "data"
    store = Store(data, compact_bytes=1000).open()

    def fail(snapshot_id):
        raise OSError(28, "No space left on device")  # the save of what is derived: logged, not fatal

    store.on_compaction(fail, lambda snapshot_id: None)
    for i in range(10):
        put(store, f"a{i}", title="y" * 80)
    store.wait_for_compaction()
    assert Store(data).open().document() == store.document()
    assert len(store.all("articles")) == 10


def test_a_process_that_stops_before_replacing_the_journal_leaves_it_to_the_next_writer(tmp_path):
    data = tmp_path / "data"
    store = Store(data, compact_bytes=1500).open()
    store.compactor._finish = lambda: None  # as if it exited right after the child
    started, start = [], store.compactor.start
    store.compactor.start = lambda: started.append(start()) or started[-1]
    written = 0
    while not any(started):  # the first write that fills the journal forks
        put(store, f"a{written}", title="z" * 80)
        written += 1
    store.compactor.wait()
    base = read_head(data / "snapshot.json")[1]
    assert base > journal(data)[0]["base"]  # the snapshot moved on, the journal did not
    other = Store(data, compact_bytes=1500).open()
    assert other.document() == store.document()
    put(other, "next", title="z" * 80)  # a long journal behind the snapshot: followed, not compacted again
    lines = journal(data)
    assert lines[0]["base"] >= base and lines[-1]["key"] == "next"
    assert Store(data).open().document() == other.document()


keys = st.sampled_from([f"k{i}" for i in range(12)])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.booleans(), keys, st.integers(0, 3)),
        st.tuples(st.just("delete"), st.booleans(), keys, st.just(0)),
        st.tuples(st.just("wait"), st.booleans(), st.just(""), st.just(0)),
        st.tuples(st.just("compact"), st.booleans(), st.just(""), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_background_compactions_hold_the_state_of_a_fresh_open(tmp_path_factory, steps):
    """Random writes from two processes' stores, compactions in the background and in process:
    each store holds what a fresh open of the directory holds, records and order alike."""
    data = tmp_path_factory.mktemp("compaction")
    stores = [Store(data, compact_bytes=600).open(), Store(data, compact_bytes=600).open()]
    for action, which, key, size in steps:
        store = stores[which]
        if action == "put":
            put(store, key, title="t" * (40 * size + 1))
        elif action == "delete":
            store.write("articles", key, lambda current: None)
        elif action == "wait":
            store.wait_for_compaction()
        else:
            store.compact()
    for store in stores:
        store.wait_for_compaction()
    fresh = Store(data).open()
    for store in stores:
        store.refresh()
        assert store.document() == fresh.document()
        assert store.seq - store.segment_seq >= _overlay(store)  # only what changed since its segment
    assert not list(data.glob("*.tmp")) and len(list((data / "segments").glob("*.seg"))) == 1
    assert os.listdir(data / "segments") == [f"snapshot-{read_head(data / 'snapshot.json')[1]}.seg"]


def _overlay(store: Store) -> int:
    table = store._data["articles"]
    return len(table._added) + len(table._replaced) + len(table._gone)
