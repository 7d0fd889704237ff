"""Work over a list split into consecutive batches, on forked processes when asked.

A build tokenises every article, and tokenising is pure Python per article: the
only way to use more than one core is more processes. Forked children inherit
the list (set before the fork), so only each batch's answer crosses back;
answers come in batch order, so what the caller makes of them is the same
whatever the number of processes.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

_SHARED: list[tuple[Callable, Sequence]] = []  # (work, items) of the map under way, inherited by the children


def as_sequence(records) -> Sequence:
    """A mapping's values (or an iterable) as a sequence: the mapping's own positional view
    where it has one (the store's tables decode a record only when it is read, so a build
    never holds a million records at once), else a list."""
    if isinstance(records, Sequence):
        return records
    positional = getattr(records, "sequence", None)
    if positional is not None:
        return positional()
    return list(records.values() if isinstance(records, Mapping) else records)


def batch_map(work: Callable[[Sequence, int, int], Any], items: Sequence, batch: int, workers: int = 1) -> Iterator:
    """work(items, lo, hi) for each batch [lo, hi) of items, in order.

    workers > 1 forks that many processes (where fork exists; the caller
    must not hold threads that the children would need)."""
    ranges = [(lo, min(lo + batch, len(items))) for lo in range(0, len(items), batch)]
    _SHARED.append((work, items))
    try:
        if workers > 1 and len(ranges) > 1 and "fork" in mp.get_all_start_methods():
            with mp.get_context("fork").Pool(workers) as pool:
                yield from pool.imap(_run, ranges)
        else:  # in this process: the work itself, whatever other map is under way
            yield from (work(items, lo, hi) for lo, hi in ranges)
    finally:
        _SHARED.pop()


def _run(bounds: tuple[int, int]):
    work, items = _SHARED[-1]
    return work(items, *bounds)
