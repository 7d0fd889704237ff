"""The candidate index as the arrays of one saved file (store/saved_arrays), and back.

No object arrays: strings as UTF-8 blobs with end offsets, curated links
flattened with counts per row, scalars in a JSON blob ("meta"). Only what
the articles determine is saved; the weighed vectors and the lists are made
again after a load. Raw rows are saved without their garbage.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..store import saved_arrays
from .candidates import CandidateIndex
from .signals import MAX_REGIONS


def arrays(index: CandidateIndex, format: int, limit: int, changes_since_build: int) -> dict[str, np.ndarray]:
    """The index's arrays to save (views: copy them before letting go of the index's lock)."""
    n, terms, sig = len(index.ids), len(index.vocab.terms), index.signals
    pos, lens = index.raw.gather(np.arange(n))  # live entries only: garbage is not saved
    curated_rows = sorted(index.curated)
    meta = {
        "format": format, "limit": limit, "rows": n, "terms": terms,
        "docs": index.vocab.docs, "total_len": index.total_len,
        "changes_since_build": changes_since_build, "topic_bit": sig.topic_bit,
    }
    return {
        **saved_arrays.meta(meta),
        **saved_arrays.pack_strings("ids", index.ids),
        **saved_arrays.pack_strings("terms", index.vocab.terms),
        **saved_arrays.pack_strings("region_names", sig.region_names),
        **saved_arrays.pack_strings("curated_ids", [t for r in curated_rows for t in index.curated[r]]),
        "curated_rows": np.asarray(curated_rows, dtype=np.int64),
        "curated_counts": np.asarray([len(index.curated[r]) for r in curated_rows], dtype=np.int64),
        "df": index.vocab.df[:terms],
        "term_length": index.vocab.length[:terms],
        "raw_length": index.raw.length[:n],
        "raw_size": index.raw.size[:n],
        **dict(zip(("raw_terms", "raw_tf", "raw_title"), index.raw.take(pos), strict=True)),
        "counted": index.counted[:n],
        "topics": sig.topics[:n],
        "regions": sig.regions[:n],
        "day": sig.day[:n],
        "region_score": sig.region_score[: len(sig.region_names)],
        "eligible": index.eligible[:n],
    }


def restore(saved: Mapping[str, np.ndarray], format: int, limit: int) -> tuple[CandidateIndex, int] | None:
    """(the index, changes since its build) from an opened file; None when saved for another format or limit.

    Shapes, dtypes and index ranges are checked (saved_arrays.Unfit), so a file that
    reads but does not fit fails here rather than at some later lookup.
    """
    meta = saved_arrays.read_meta(saved)
    if meta["format"] != format or meta["limit"] != limit:
        return None
    n, terms = int(meta["rows"]), int(meta["terms"])
    index = CandidateIndex(n)
    index.ids = saved_arrays.unpack_strings(saved, "ids", n)
    index.row_of = {aid: i for i, aid in enumerate(index.ids) if aid}
    index.free = [i for i in range(n - 1, -1, -1) if not index.ids[i]]  # emptied rows, the lowest reused first
    saved_arrays.check(len(index.row_of) + len(index.free) == n)
    index.rank_ids()

    vocab = index.vocab
    vocab.terms = saved_arrays.unpack_strings(saved, "terms", terms)
    vocab.ids = {term: i for i, term in enumerate(vocab.terms)}
    vocab.df = _grown(saved_arrays.array(saved, "df", np.int32, (terms,)), 1024)
    vocab.length = _grown(saved_arrays.array(saved, "term_length", np.int8, (terms,)), 1024)
    vocab.docs, index.total_len = int(meta["docs"]), float(meta["total_len"])
    vocab.avg_len = max(1.0, index.total_len / max(vocab.docs, 1))

    raw = index.raw
    lengths = saved_arrays.array(saved, "raw_length", np.int32, (n,))
    saved_arrays.check((lengths >= 0).all())
    raw_terms = saved_arrays.in_range(saved_arrays.array(saved, "raw_terms", np.int32), terms)
    weights = saved_arrays.array(saved, "raw_tf", np.float32, raw_terms.shape)
    flags = saved_arrays.array(saved, "raw_title", np.bool_, raw_terms.shape)
    saved_arrays.check(int(lengths.sum()) == len(raw_terms))
    raw.load_base(raw_terms, weights, flags, lengths)  # kept as loaded: shared by every process
    raw.size[:n] = saved_arrays.array(saved, "raw_size", np.float64, (n,))
    index.counted[:n] = saved_arrays.array(saved, "counted", np.bool_, (n,))

    sig = index.signals
    sig.topic_bit = {str(slug): int(bit) for slug, bit in meta["topic_bit"].items()}
    saved_arrays.check(all(0 <= bit < 64 for bit in sig.topic_bit.values()))
    sig.region_names = saved_arrays.unpack_strings(saved, "region_names")
    sig.region_id = {name: i for i, name in enumerate(sig.region_names)}
    sig.region_score = _grown(saved_arrays.array(saved, "region_score", np.float32, (len(sig.region_names),)), 64)
    sig.topics[:n] = saved_arrays.array(saved, "topics", np.uint64, (n,))
    sig.regions[:n] = saved_arrays.array(saved, "regions", np.int32, (n, MAX_REGIONS))
    sig.day[:n] = saved_arrays.array(saved, "day", np.float32, (n,))
    saved_arrays.in_range(sig.regions[:n], len(sig.region_names), -1)
    index.eligible[:n] = saved_arrays.array(saved, "eligible", np.bool_, (n,))

    curated_rows = saved_arrays.in_range(saved_arrays.array(saved, "curated_rows", np.int64), n)
    counts = saved_arrays.array(saved, "curated_counts", np.int64, curated_rows.shape)
    targets = saved_arrays.unpack_strings(saved, "curated_ids", int(counts.sum()))
    at = 0
    for row, count in zip(curated_rows.tolist(), counts.tolist(), strict=True):
        index.curated[row] = tuple(targets[at:at + count])
        at += count
        for target in index.curated[row]:
            index.linked_from.setdefault(target, set()).add(row)
    return index, int(meta["changes_since_build"])


def _grown(values: np.ndarray, minimum: int) -> np.ndarray:
    """values in an array of at least `minimum` (zero-filled): growth by doubling needs a non-empty array."""
    out = np.zeros(max(len(values), minimum), dtype=values.dtype)
    out[: len(values)] = values
    return out
