"""Derived indexes saved beside the snapshot they were built from.

Building the search index and the related lists means tokenising every
article: minutes at 100k. They are a pure function of the snapshot, so each
is saved as `<name>-<snapshot id>-<code id>.arrays` after a build and loaded by
the next start from the same snapshot and the same code. A file for another
snapshot is never used (a compaction or an import starts a new one), nor one
made by other code (a new tokeniser dictionary, a changed weight, another
segmenter release), and a missing, torn or outdated file only costs a
rebuild: these files are a cache, never the data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from .files import exclusive_lock
from .saved_arrays import SUFFIX

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVICE_DIR = Path(__file__).resolve().parents[2]
# What an index is computed from: the code that tokenises, weighs and lays it out (searched
# recursively, so a module moved into a subpackage still counts), the data files it reads, and
# the libraries that tokenise. Code that only writes or serves articles is left out: changing
# an editing rule must not cost a rebuild of every index.
SHAPED_BY = (
    "domain/text.py", "domain/search/**/*.py", "domain/recommend/**/*.py",
    "domain/content/regions.py", "domain/content/taxonomy.py", "domain/content/catalog.py",
    "domain/content/listing_columns.py", "domain/content/article_record.py", "domain/vocab.py",
    "domain/packed_strings.py", "domain/store/derived.py", "domain/store/saved_arrays.py",
    "domain/store/mapped_arrays.py", "data/**/*",
)
LIBRARIES = ("rjieba", "pypinyin", "opencc-python-reimplemented", "numpy")


@cache
def code_id(root: Path = SERVICE_DIR) -> str:
    digest = hashlib.sha256()
    files = {path for pattern in SHAPED_BY for path in root.glob(pattern) if path.is_file()}
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        digest.update(f"{name}=={version(name)}".encode())
    return digest.hexdigest()[:12]


def saved_states(directory: Path, names: tuple[str, ...]) -> set[str]:
    """The snapshot ids for which every one of `names` is saved by this code."""
    suffix = f"-{code_id()}{SUFFIX}"
    found = [{p.name[len(name) + 1: -len(suffix)] for p in Path(directory).glob(f"{name}-*{suffix}")}
             for name in names]
    return set.intersection(*found) if found else set()


class SavedIndexes:
    def __init__(self, directory: Path, snapshot_id: str):
        self.directory = Path(directory)
        self.snapshot_id = snapshot_id

    def path(self, name: str) -> Path:
        return self.directory / f"{name}-{self.snapshot_id}-{code_id()}{SUFFIX}"

    def load(self, name: str, loader: Callable[[Path], T | None]) -> T | None:
        path = self.path(name)
        if not self.snapshot_id or not path.exists():
            return None
        loaded = loader(path)
        if loaded is None:
            log.warning("%s: unreadable or of another format; rebuilding", path)
        return loaded

    def save(self, name: str, index, prune: bool = True) -> None:
        """Save after a build, and (with prune) drop this index's files for older snapshots.

        A failure (a full disk, a read-only directory) is logged, not raised:
        the service runs the same without the file, the next start rebuilds.
        """
        if not self.snapshot_id:
            return
        try:
            with self._locked():  # two processes saving at once must not share a temp file
                index.save(self.path(name))
                if prune:
                    self._prune(name)
        except OSError as exc:
            log.warning("could not save the %s index to %s: %s", name, self.directory, exc)

    def prune(self, names: tuple[str, ...]) -> None:
        """Drop the files of these indexes for other snapshots, other code, older layouts."""
        if not self.snapshot_id:
            return
        try:
            with self._locked():
                for name in names:
                    self._prune(name)
        except OSError as exc:
            log.warning("could not drop old index files in %s: %s", self.directory, exc)

    def _locked(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = self.directory / ".lock"
        lock.touch(exist_ok=True)
        return exclusive_lock(lock)

    def _prune(self, name: str) -> None:
        for old in self.directory.glob(f"{name}-*"):
            if old != self.path(name):
                old.unlink(missing_ok=True)
