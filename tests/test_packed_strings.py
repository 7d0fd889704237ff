"""PackedStrings behaves as the list of strings it replaces, through changes, packing and saving."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.packed_strings import PackedStrings

VALUES = st.none() | st.text(max_size=6) | st.sampled_from(["医保卡丢了怎么办", "\ud800", ""])
OPS = st.lists(st.tuples(st.sampled_from(["append", "set", "take", "save"]), st.integers(0, 40), VALUES),
               max_size=30)


@settings(max_examples=200, deadline=None)
@given(start=st.lists(VALUES, max_size=8), ops=OPS)
def test_packed_strings_answer_as_a_list(start, ops):
    packed, expected = PackedStrings.of(start), list(start)
    for op, at, value in ops:
        if op == "append":
            packed.append(value)
            expected.append(value)
        elif op == "set" and expected:
            packed[at % len(expected)] = value
            expected[at % len(expected)] = value
        elif op == "take":
            rows = list(range(0, len(expected), 1 + at % 3))
            packed, expected = packed.taken(rows), [expected[i] for i in rows]
        elif op == "save":
            packed = PackedStrings.from_state(packed.state("s"), "s", len(expected))
        assert len(packed) == len(expected)
        assert list(packed) == expected
        if expected:
            assert packed[-1] == expected[-1] and packed[at % len(expected)] == expected[at % len(expected)]
