"""`python -m service.upgrade`: create the store from the seeds or apply pending migrations, and
say which; what `make run` runs before gunicorn (`flask --app service db upgrade` does the same).

It imports only the store: a store already at the current schema version is not even read, so
this costs a restart well under a second instead of loading the whole application.
"""

from __future__ import annotations

import sys

from . import config
from .backend import store_from
from .domain.store.snapshot import SCHEMA_VERSION, StoreError


def upgrade(store) -> str:
    """Bring the store to SCHEMA_VERSION; what was done, in a sentence. StoreError if it cannot."""
    before = store.existing_version()
    store.upgrade()
    if before is None:
        return f"created {store.where()} at schema version {SCHEMA_VERSION}"
    if before == SCHEMA_VERSION:
        return f"{store.where()} is at schema version {SCHEMA_VERSION}; nothing to do"
    kept = store.backup_name(before)
    return (f"upgraded {store.where()} from schema version {before} to {SCHEMA_VERSION}"
            + (f" (old copy: {kept})" if kept else ""))


def main() -> int:
    store = store_from(config.from_env())
    try:
        print(upgrade(store))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
