"""Migration runner: takes a snapshot document from its version to the newest.

Each file in migrations/ named `mNNNN_*.py` defines FROM_VERSION, TO_VERSION
and upgrade(doc) -> doc. Files are loaded by path so migrations/ stays a
plain folder of scripts beside the service.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from .snapshot import SCHEMA_VERSION, StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def load_migrations(directory: Path = MIGRATIONS_DIR) -> dict[int, ModuleType]:
    """Migrations keyed by the version they start from."""
    found: dict[int, ModuleType] = {}
    for path in sorted(Path(directory).glob("m[0-9][0-9][0-9][0-9]_*.py")):
        spec = importlib.util.spec_from_file_location(f"migrations.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if module.TO_VERSION != module.FROM_VERSION + 1:
            raise StoreError(f"{path}: a migration must go up exactly one version")
        found[module.FROM_VERSION] = module
    return found


def pending(version: int, directory: Path = MIGRATIONS_DIR) -> list[ModuleType]:
    migrations = load_migrations(directory)
    steps = []
    for start in range(version, SCHEMA_VERSION):
        if start not in migrations:
            raise StoreError(f"no migration from schema version {start} in {directory}")
        steps.append(migrations[start])
    return steps


def upgrade(doc: dict, directory: Path = MIGRATIONS_DIR) -> dict:
    for step in pending(doc["schema_version"], directory):
        doc = step.upgrade(doc)
        doc["schema_version"] = step.TO_VERSION
    return doc
