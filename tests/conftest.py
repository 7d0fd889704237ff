"""Shared fixtures: the API keys and their headers, and an app on its own data directory seeded
from seeds/.

The seeded store and its saved indexes are made once per session; each test's `app` opens a
copy of them, so it loads the indexes instead of building them and still writes only its own
store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service import create_app
from service.domain.indexes import INDEX_DIR

# The files that are the seeded store and what is derived from its snapshot. The rest of a data
# directory (event counters, lock files, the readers' secret) each test's open() makes afresh,
# as on a new store: no two tests share a secret or a counter.
SEEDED_FILES = ("snapshot.json", "journal.jsonl")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def write_key() -> str:
    return "test-write-key"


@pytest.fixture(scope="session")
def read_key() -> str:
    return "test-read-key"


@pytest.fixture(scope="session")
def api_keys(write_key, read_key) -> str:
    """API_KEYS for an app taking both keys: the first may write, the second only read."""
    return f"{write_key},ro:{read_key}"


@pytest.fixture
def write_headers(write_key) -> dict[str, str]:
    return bearer(write_key)


@pytest.fixture
def read_headers(read_key) -> dict[str, str]:
    return bearer(read_key)


def app_config(data_dir: Path, api_keys: str) -> dict:
    return {"DATA_DIR": str(data_dir), "API_KEYS": api_keys, "TESTING": True,
            "RATE_LIMIT": "100000 per minute", "RATE_LIMIT_WRITE": "100000 per minute"}


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory, api_keys) -> Path:
    """A data directory seeded and opened once: its snapshot, journal and saved indexes."""
    data = tmp_path_factory.mktemp("seeded") / "data"
    services = create_app(app_config(data, api_keys)).extensions["service"].open()
    services.close()
    return data


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def app(data_dir, seeded_dir, api_keys):
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in SEEDED_FILES:
        shutil.copy2(seeded_dir / name, data_dir / name)
    if (seeded_dir / INDEX_DIR).is_dir():  # saving them may fail; the service then builds them
        shutil.copytree(seeded_dir / INDEX_DIR, data_dir / INDEX_DIR)
    app = create_app(app_config(data_dir, api_keys))
    app.extensions["service"].open()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
