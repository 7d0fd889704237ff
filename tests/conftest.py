"""Shared fixtures: an app on a fresh data directory seeded from seeds/."""

from __future__ import annotations

import pytest

from service import create_app

WRITE_KEY = "test-write-key"
READ_KEY = "test-read-key"
WRITE = {"Authorization": f"Bearer {WRITE_KEY}"}
READ = {"Authorization": f"Bearer {READ_KEY}"}


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def app(data_dir):
    app = create_app(
        {"DATA_DIR": str(data_dir), "API_KEYS": f"{WRITE_KEY},ro:{READ_KEY}", "TESTING": True,
         "RATE_LIMIT": "100000 per minute", "RATE_LIMIT_WRITE": "100000 per minute"}
    )
    app.extensions["service"].open()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
