"""The store of record: records in memory, the journal every write goes through, the snapshot it
is folded into, migrations, and the derived indexes saved beside a snapshot."""

from .snapshot import StoreError
from .store import Store

__all__ = ["Store", "StoreError"]
