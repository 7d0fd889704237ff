"""The store the settings name, not yet opened: one place for the service and `service.upgrade`."""

from __future__ import annotations

from pathlib import Path

from .domain.store import Store


def store_from(config: dict):
    """DATABASE_URL: PostgreSQL (DATA_DIR keeps what is per machine); otherwise the JSON files in
    DATA_DIR. Either is seeded from SEEDS_DIR when it holds no store yet."""
    seeds_dir = Path(config["SEEDS_DIR"])

    def seed() -> dict:
        from .domain.content.seeds import seed_document  # only a new store reads the seeds

        return seed_document(seeds_dir)

    if config.get("DATABASE_URL"):
        from .domain.store.postgres import PostgresStore  # its driver only when it is used

        return PostgresStore(config["DATABASE_URL"], Path(config["DATA_DIR"]), seed=seed)
    return Store(Path(config["DATA_DIR"]), seed=seed, compact_bytes=config["COMPACT_BYTES"])
