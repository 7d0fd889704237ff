"""Several OS processes writing one record through the store: no lost update."""

from __future__ import annotations

import multiprocessing

from service.domain.store.store import Store

PROCESSES, INCREMENTS = 4, 50


def _increment(data_dir: str, times: int) -> None:
    store = Store(data_dir).open()
    for _ in range(times):
        store.write("articles", "counter", lambda current: {**current, "n": current["n"] + 1})


def test_n_processes_times_m_increments(tmp_path):
    store = Store(tmp_path, compact_bytes=4096).open()  # compaction happens mid-run too
    store.write("articles", "counter", lambda current: {"id": "counter", "n": 0})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(tmp_path), INCREMENTS)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    store.refresh()
    assert store.get("articles", "counter")["n"] == PROCESSES * INCREMENTS
    assert Store(tmp_path).open().get("articles", "counter")["n"] == PROCESSES * INCREMENTS
