"""After a compaction, every process serves the indexes saved for the new snapshot.

A process keeps its indexes current by applying each change to them: the
changes since they were loaded live in its own memory (deltas, folded into
private arrays once there are many), so a long-running worker would end up
holding a copy of every index of its own. The compaction child saves the
indexes as they are at the new snapshot's state, in files every process can
map (their pages shared through the page cache). So once a process reads its
records from the new snapshot, it loads those files beside the ones it serves
(`prepare`, slow, in the catch-up thread while requests go on), replays into
them the changes since that snapshot, and swaps them in between two requests
(`adopt`): a state equal to the one it had, now mostly shared and mapped.
The way Lucene readers reopen on a new commit point.
"""

from __future__ import annotations

import logging

from .indexes import Indexes
from .store.store import Store

log = logging.getLogger(__name__)


class Generations:
    def __init__(self, store: Store, indexes: Indexes):
        self.store = store
        self.indexes = indexes
        self._tried = indexes.snapshot_id  # the newest snapshot whose files were looked for
        self._loaded: Indexes | None = None
        self.adopted = 0

    def prepare(self) -> None:
        """Load the indexes saved for the snapshot the store reads from, if they are newer than
        the ones served. Call without the request turn: it reads whole files."""
        target = self.store.snapshot_id
        if not target or target in (self._tried, self.indexes.snapshot_id):
            return
        self._tried = target
        try:
            self._loaded = self.indexes.load_saved(target)
        except Exception:  # noqa: BLE001 - the indexes served stay right; only their memory is at stake
            log.exception("loading the indexes saved for %s failed; keeping the ones in memory", target)
            self._loaded = None

    def adopt(self) -> None:
        """Swap in what prepare loaded, brought up to the store's state. Call holding the request
        turn (no request sees the swap half-done)."""
        loaded, self._loaded = self._loaded, None
        if loaded is None:
            return
        store = self.store
        with store.holding_changes():
            store.refresh()
            if loaded.snapshot_id != store.snapshot_id or not store.replay_since_snapshot(loaded.listeners()):
                return  # a later compaction meanwhile: its files come next
            self.indexes.adopt(loaded)
        self.adopted += 1
