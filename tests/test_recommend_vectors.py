"""Pruning weighed vectors row by row gives what one lexsort over every entry gives, ties included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.recommend.vectors import _heaviest


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
