"""View counts: shared by separate OS processes through DATA_DIR, surviving a reopen."""

from __future__ import annotations

import multiprocessing
import time

import orjson

from service.domain.popularity.events import EventCounter
from service.domain.popularity.trending import Trending

LOG, SNAPSHOT = "views.jsonl", "views-snapshot.json"

ARTICLES = ["a1", "a2", "a3"]


def _worker(data_dir: str, seed: int, views: int, compact_bytes: int) -> None:
    """One 'gunicorn worker': records views with its own buffer, flushing as it goes."""
    counter = EventCounter(data_dir, flush_seconds=0.05, flush_events=37, compact_bytes=compact_bytes)
    for i in range(views):
        counter.record(ARTICLES[(seed + i) % len(ARTICLES)], now=1_700_000_000 + i)
    counter.close()


def _run_workers(data_dir, count=4, views=300, compact_bytes=1 << 30):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(data_dir), seed, views, compact_bytes)) for seed in range(count)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return count * views


def test_counts_are_shared_across_processes_and_survive_reopen(tmp_path):
    watcher = EventCounter(tmp_path)
    total = _run_workers(tmp_path)
    watcher.refresh()
    assert sum(watcher.total(a) for a in ARTICLES) == total
    assert watcher.total("a1") == 400  # each worker: 100 views per article
    reopened = EventCounter(tmp_path)
    assert reopened.totals() == watcher.totals()


def test_compaction_under_concurrent_writers_loses_nothing(tmp_path):
    total = _run_workers(tmp_path, compact_bytes=2048)
    assert (tmp_path / SNAPSHOT).exists()
    counter = EventCounter(tmp_path)
    assert sum(counter.total(a) for a in ARTICLES) == total
    assert (tmp_path / LOG).stat().st_size < 64 * 1024


def test_buffered_views_count_locally_and_reach_others_on_flush(tmp_path):
    writer = EventCounter(tmp_path, flush_seconds=3600, flush_events=10_000)
    reader = EventCounter(tmp_path)
    writer.record("a1")
    writer.record("a1")
    assert writer.total("a1") == 2
    reader.refresh()
    assert reader.total("a1") == 0  # the documented loss window: not yet flushed
    writer.flush()
    reader.refresh()
    assert reader.total("a1") == 2


def test_flush_is_due_by_time_or_count(tmp_path):
    by_count = EventCounter(tmp_path, flush_seconds=3600, flush_events=3)
    reader = EventCounter(tmp_path)
    for _ in range(3):
        by_count.record("a1")
    reader.refresh()
    assert reader.total("a1") == 3
    by_time = EventCounter(tmp_path, flush_seconds=0.01, flush_events=10_000)
    time.sleep(0.02)
    by_time.record("a2")
    reader.refresh()
    assert reader.total("a2") == 1


def test_a_torn_last_line_is_ignored_then_cut(tmp_path):
    counter = EventCounter(tmp_path)
    counter.record("a1")
    counter.flush()
    with open(tmp_path / LOG, "ab") as handle:
        handle.write(b'{"v": [["a1", 1700000000, 5')  # a writer died mid-line
    other = EventCounter(tmp_path)
    assert other.total("a1") == 1
    counter.record("a2")
    counter.flush()
    assert EventCounter(tmp_path).totals() == {"a1": 1, "a2": 1}
    for line in (tmp_path / LOG).read_bytes().splitlines():
        orjson.loads(line)


def test_refresh_writes_nothing_and_a_flush_repairs(tmp_path):
    writer, reader = EventCounter(tmp_path), EventCounter(tmp_path)
    writer.record("a1")
    writer.flush()
    reader.refresh()
    (tmp_path / LOG).unlink()  # as if removed by hand, or lost
    reader.refresh()
    assert not (tmp_path / LOG).exists() and reader.total("a1") == 1  # read as it was
    reader.record("a2")
    reader.flush()  # cannot append to a missing log: recreates it, the event waits in memory
    assert (tmp_path / LOG).exists()
    reader.flush()
    assert EventCounter(tmp_path).total("a2") == 1


def test_background_flusher_publishes_idle_views(tmp_path):
    writer = EventCounter(tmp_path, flush_seconds=3600).start(interval=0.05)
    reader = EventCounter(tmp_path)
    writer.record("a3")
    deadline = time.time() + 5
    while reader.total("a3") == 0 and time.time() < deadline:
        time.sleep(0.05)
        reader.refresh()
    writer.close()
    assert reader.total("a3") == 1


def test_recent_history_survives_compaction_for_trending(tmp_path):
    now = 1_700_000_000.0
    counter = EventCounter(tmp_path, clock=lambda: now)
    for _ in range(8):
        counter.record("old", now=now - 48 * 3600)
    for _ in range(3):
        counter.record("new", now=now - 60)
    counter.flush()
    records = {"old": {"status": "published"}, "new": {"status": "published"}}
    before = Trending(lambda: records)
    counter.subscribe(before.on_views)
    counter.compact()
    after = Trending(lambda: records)
    EventCounter(tmp_path, clock=lambda: now).subscribe(after.on_views)
    for aid in ("old", "new"):
        assert abs(before.score(aid, now) - after.score(aid, now)) < 0.1 * before.score(aid, now)
    assert [aid for aid, _ in after.trending(now=now)] == ["new", "old"]
