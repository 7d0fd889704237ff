"""Shared fixtures: the API keys and their headers, and an app on a fresh data directory seeded
from seeds/."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import create_app


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


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def app(data_dir, api_keys):
    app = create_app(app_config(data_dir, api_keys))
    app.extensions["service"].open()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
