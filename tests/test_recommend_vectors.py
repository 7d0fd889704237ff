"""Weighed vectors: pruning row by row is one lexsort over every entry, ties included; the memo is weigh()."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.recommend.vectors import RowStore, Vocabulary, WeighedVectors, _heaviest, weigh


def _by_lexsort(keys: np.ndarray, owner: np.ndarray, top: int) -> np.ndarray:
    order = np.lexsort((keys, owner))
    kept = owner[order]
    rank = np.arange(len(order)) - np.searchsorted(kept, kept, side="left")
    return order[rank < top]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([-3.0, -1.5, -1.0, -0.25, -0.0, 0.0, -2.0]), max_size=12), max_size=8),
    st.integers(1, 6),
)
def test_row_by_row_equals_one_lexsort(rows: list[list[float]], top: int):
    keys = np.array([k for row in rows for k in row], dtype=np.float64)
    owner = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    assert _heaviest(keys, owner, len(rows), top).tolist() == _by_lexsort(keys, owner, top).tolist()


def _raw_rows(n_rows: int, seed: int) -> tuple[RowStore, Vocabulary]:
    rng = np.random.default_rng(seed)
    vocab, raw = Vocabulary(), RowStore()
    for w in range(30):
        vocab.id(f"词{w}")
    for row in range(n_rows):
        tids = np.sort(rng.choice(30, int(rng.integers(0, 12)), replace=False)).astype(np.int32)
        vocab.df[tids] += 1
        raw.set(row, tids, rng.integers(1, 4, len(tids)).astype(np.float32), rng.random(len(tids)) < 0.2,
                float(rng.integers(1, 40)))
    vocab.docs, vocab.avg_len = n_rows, 20.0
    return raw, vocab


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1000), st.lists(st.lists(st.integers(0, 19), max_size=10), max_size=8), st.integers(1, 8))
def test_kept_vectors_are_what_weighing_gives(seed: int, lookups: list[list[int]], kept: int):
    """Whatever was asked before, and however often the bound started the memo again."""
    raw, vocab = _raw_rows(20, seed)
    vectors = WeighedVectors(raw, vocab, kept)
    for rows in lookups:
        rows = np.array(rows, dtype=np.int64)
        got, want = vectors.of(rows), weigh(raw, rows, vocab)
        for a, b in zip(got, want, strict=True):
            assert a.tolist() == b.tolist()
