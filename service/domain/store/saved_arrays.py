"""One way to save and load the derived indexes' arrays: a file every process maps (mapped_arrays).

Loading maps the file copy-on-write: a worker that loads an index (at a
start, after a compaction) shares its pages with every other process, and
the arrays stay writable for the code that updates them in place. No object
arrays (nothing is unpickled from disk): strings travel as one UTF-8 blob
with end offsets, scalars as a JSON blob. Every read checks dtype and shape,
so a file that opens but does not fit fails here, at load, and costs a
rebuild, not a wrong answer later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .mapped_arrays import open_mapped, write

MAGIC = b"YBIDX001"
SUFFIX = ".arrays"


class Unfit(ValueError):
    """A saved file that reads but is not what this code saves."""


def save(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    write(Path(path), MAGIC, {name: np.asarray(a) for name, a in arrays.items()})


@contextmanager
def opened(path: Path) -> Iterator[Mapping[str, np.ndarray]]:
    """The saved arrays; a missing name raises Unfit, as any other misfit does."""
    try:
        arrays = open_mapped(Path(path), MAGIC, writable=True, verify=True).arrays
    except (ValueError, KeyError, TypeError) as exc:
        raise Unfit(str(exc)) from None
    yield _Checked(arrays)


class _Checked(dict):
    def __missing__(self, key):
        raise Unfit(f"no array {key!r} in a saved index")


def check(ok) -> None:
    if not ok:
        raise Unfit("a saved index is inconsistent")


def array(saved: Mapping[str, np.ndarray], key: str, dtype, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """One stored array, of exactly this dtype (and shape; one-dimensional when none is given)."""
    value = saved[key]
    check(value.dtype == np.dtype(dtype) and (value.shape == shape if shape is not None else value.ndim == 1))
    return value


def in_range(values: np.ndarray, end: int, start: int = 0) -> np.ndarray:
    check(not len(values) or (int(values.min()) >= start and int(values.max()) < end))
    return values


def meta(values: Mapping) -> dict[str, np.ndarray]:
    return {"meta": np.frombuffer(json.dumps(values).encode(), dtype=np.uint8)}


def read_meta(saved: Mapping[str, np.ndarray]) -> dict:
    return json.loads(array(saved, "meta", np.uint8).tobytes().decode())


def pack_strings(name: str, strings: Iterable[str]) -> dict[str, np.ndarray]:
    """`name_utf8` and `name_ends` (in characters). One blob decoded once and sliced loads far
    faster than a numpy unicode array (four bytes a character of the longest string);
    surrogatepass keeps a lone surrogate (valid in JSON) round-tripping."""
    strings = list(strings)
    ends = np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)), dtype=np.int64)
    blob = np.frombuffer("".join(strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return {f"{name}_utf8": blob, f"{name}_ends": ends}


def unpack_strings(saved: Mapping[str, np.ndarray], name: str, count: int | None = None) -> list[str]:
    text = array(saved, f"{name}_utf8", np.uint8).tobytes().decode("utf-8", "surrogatepass")
    ends = array(saved, f"{name}_ends", np.int64, None if count is None else (count,))
    check((ends[-1] if len(ends) else 0) == len(text) and (np.diff(ends, prepend=0) >= 0).all())
    bounds = [0, *ends.tolist()]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def pack_groups(name: str, groups: Mapping, dtype) -> dict[str, np.ndarray]:
    """int -> list or array, as keys, end offsets and one flat array (insertion order kept)."""
    parts = [np.asarray(v, dtype=dtype) for v in groups.values()]
    sizes = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    return {
        f"{name}_keys": np.fromiter(groups, dtype=np.int64, count=len(groups)),
        f"{name}_ends": np.cumsum(sizes),
        f"{name}_values": np.concatenate(parts) if parts else np.zeros(0, dtype=dtype),
    }


def unpack_groups(saved, name: str, dtype, key_end: int, value_end: int | None = None) -> dict[int, np.ndarray]:
    keys = in_range(array(saved, f"{name}_keys", np.int64), key_end)
    ends = array(saved, f"{name}_ends", np.int64, keys.shape)
    values = array(saved, f"{name}_values", dtype)
    if value_end is not None:
        in_range(values, value_end)
    check((ends[-1] if len(ends) else 0) == len(values) and (np.diff(ends, prepend=0) >= 0).all())
    parts = np.split(values, ends[:-1]) if len(keys) else []  # split() of nothing is one empty part
    return dict(zip(keys.tolist(), parts, strict=True))
