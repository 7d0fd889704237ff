"""Segments: records kept as mapped bytes behave as the dicts they replace, and a start
that finds the segment of its snapshot does not parse the snapshot again."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.store import segment as segments
from service.domain.store import snapshot as snapshot_module
from service.domain.store import snapshot_stream
from service.domain.store import store as store_module
from service.domain.store.segment import Segment
from service.domain.store.snapshot import StoreError
from service.domain.store.store import Store
from service.domain.store.table import RecordTable

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "医保", "x" * 30, ""])
# Records in one field order, as the store's are (a record's bytes keep the order it was written in).
RECORDS = st.builds(lambda n, t: {"n": n, "t": t}, st.integers(0, 3), st.sampled_from(["", "报销", "y"]))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), KEYS, RECORDS),
        st.tuples(st.just("delete"), KEYS, st.none()),
    ),
    max_size=30,
)
BASES = st.dictionaries(KEYS, RECORDS, max_size=6)


def _segment(tmp_path, name: str, records: dict) -> Segment:
    path = tmp_path / f"{name}.seg"
    segments.write(path, {"things": [(k, orjson.dumps(v)) for k, v in records.items()]}, {"seq": 1})
    return Segment.open(path)


def _apply(table, ops) -> None:
    for op, key, record in ops:
        if op == "put":
            table[key] = record
        else:
            table.pop(key, None)


@settings(max_examples=150, deadline=None)
@given(base=BASES, ops=OPS)
def test_a_table_over_a_segment_answers_as_the_dict_it_replaces(tmp_path_factory, base, ops):
    tmp_path = tmp_path_factory.mktemp("seg")
    table = RecordTable(_segment(tmp_path, "base", base).collections["things"])
    expected = dict(base)
    _apply(table, ops)
    _apply(expected, ops)
    assert len(table) == len(expected)
    assert list(table) == list(expected)  # the same order: replaced in place, re-added at the end
    assert list(table.items()) == list(expected.items())
    assert list(table.values()) == list(expected.values())
    values, positional = list(expected.values()), table.sequence()  # what a build reads by position
    assert len(positional) == len(values) and list(positional) == values
    assert positional[1:-1] == values[1:-1] and positional[::2] == values[::2]
    if values:
        assert positional[-1] == values[-1]
    for key in ["a", "b", "c", "d", "e", "医保", "x" * 30, "", "zz", "x" * 31]:
        assert (key in table) == (key in expected)
        assert table.get(key) == expected.get(key)
    assert [(k, orjson.loads(v)) for k, v in table.raw_entries()] == list(expected.items())


@settings(max_examples=150, deadline=None)
@given(base=BASES, ops=OPS, other=BASES)
def test_changed_keys_are_exactly_the_records_that_differ(tmp_path_factory, base, ops, other):
    tmp_path = tmp_path_factory.mktemp("seg")
    table = RecordTable(_segment(tmp_path, "base", base).collections["things"])
    _apply(table, ops)
    theirs = _segment(tmp_path, "other", other).collections["things"]
    now = dict(table.items())
    differ = sorted(k for k in now.keys() | other.keys() if now.get(k) != other.get(k))
    assert table.changed_keys(theirs) == differ
    assert RecordTable(records=now).changed_keys(theirs) == differ


def test_a_restart_maps_the_segment_instead_of_parsing_the_snapshot(tmp_path, monkeypatch):
    store = Store(tmp_path).open()
    store.write("articles", "a1", lambda _: {"id": "a1", "title": "医保卡丢了怎么办"})
    store.compact()
    written = dict(store.all("articles").items())

    def no_parse(path):
        raise AssertionError(f"{path} parsed although its segment is there")

    monkeypatch.setattr("service.domain.store.store.read_document", no_parse)
    again = Store(tmp_path).open()
    assert dict(again.all("articles").items()) == written
    assert again.snapshot_id == store.snapshot_id
    assert again.get("articles", "a1")["title"] == "医保卡丢了怎么办"


def test_a_snapshot_replaced_behind_the_segment_is_read_again(tmp_path):
    store = Store(tmp_path).open()
    store.write("articles", "a1", lambda _: {"id": "a1", "title": "old"})
    store.compact()
    doc = store.document()
    doc["articles"] = [{"id": "a1", "title": "restored from a backup"}]
    snapshot_module.write_document(store.snapshot_path, doc)  # same seq, another file
    assert Store(tmp_path).open().get("articles", "a1")["title"] == "restored from a backup"


def test_the_streamed_snapshot_is_the_document_byte_for_byte(tmp_path):
    store = Store(tmp_path).open()
    for n in range(5):
        store.write("articles", f"a{n}", lambda _, n=n: {"id": f"a{n}", "title": f"第{n}篇", "tags": ["医保"]})
    store.write("articles", "a2", lambda _: None)
    expected = orjson.dumps(store.document())
    store.compact()
    assert store.snapshot_path.read_bytes() == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab医保"\\\n\t{}[],: \u2028'), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=5), JSON_VALUES | st.lists(JSON_VALUES, max_size=5), max_size=4),
       chunk=st.integers(1, 40), spaced=st.booleans())
def test_a_large_snapshot_read_a_value_at_a_time_is_the_document(tmp_path_factory, doc, chunk, spaced):
    path = tmp_path_factory.mktemp("json") / "snapshot.json"
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) if spaced else orjson.dumps(doc))
    assert snapshot_stream.read(path, chunk) == orjson.loads(path.read_bytes())


def test_a_snapshot_past_the_large_size_opens_and_a_torn_one_is_refused(tmp_path, monkeypatch):
    store = Store(tmp_path).open()
    for n in range(20):
        store.write("articles", f"a{n}", lambda _, n=n: {"id": f"a{n}", "title": f"第{n}篇医保"})
    store.write("topics", "yibao", lambda _: {"slug": "yibao", "name": "医保"})
    store.compact()
    expected = {kind: dict(store.all(kind).items()) for kind in ("articles", "topics")}
    monkeypatch.setattr(snapshot_module, "LARGE_BYTES", 10)
    monkeypatch.setattr(store_module, "LARGE_BYTES", 10)
    monkeypatch.setattr(snapshot_stream, "CHUNK_CHARS", 16)

    def never(path):
        raise AssertionError("a large snapshot of this version is streamed into its segment, not read whole")

    monkeypatch.setattr(store_module, "read_document", never)
    for segment_file in (tmp_path / "segments").glob("*.seg"):
        segment_file.unlink()
    streamed = Store(tmp_path).open()
    assert {kind: dict(streamed.all(kind).items()) for kind in expected} == expected
    assert (streamed.snapshot_id, streamed.seq) == (store.snapshot_id, store.seq)
    data = store.snapshot_path.read_bytes()
    store.snapshot_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="not valid JSON"):
        Store(tmp_path).open()  # streamed: the head is whole, the records are not
    store.snapshot_path.write_bytes(data)
    monkeypatch.setattr(store_module, "read_document", snapshot_module.read_document)
    data = store.snapshot_path.read_bytes()
    store.snapshot_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="not valid JSON"):
        Store(tmp_path).open()
