"""Shared fixtures: the API keys and their headers, an app on its own store seeded from seeds/,
and a Redis key prefix of a test's own.

`app` runs each test on both store backends: the embedded JSON store, and PostgreSQL (the local
server; see tests/postgres.py). The seeded JSON store and its saved indexes are made once per
session and each test opens a copy, so it loads the indexes instead of building them; on
PostgreSQL the run has its own database, put back to its seeded state before each test (and the
seeded indexes copied the same way). Either way no test sees another's writes.

Apps count in their data directory unless a test gives them `redis_url`: a REDIS_URL in the
environment is not theirs to share.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest
import redis

from service import create_app
from service.domain.indexes import INDEX_DIR

from .postgres import Databases, Seeded, postgres_url

BACKENDS = ("json", "postgres")

# The files that are the seeded store and what is derived from its snapshot. The rest of a data
# directory (event counters, lock files, the readers' secret) each test's open() makes afresh,
# as on a new store: no two tests share a secret or a counter.
SEEDED_FILES = ("snapshot.json", "journal.jsonl")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(autouse=True)
def _no_redis_from_the_environment(monkeypatch):
    """Apps made with create_app() read REDIS_URL from the environment: not for tests to share."""
    monkeypatch.delenv("REDIS_URL", raising=False)


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
    return {"DATA_DIR": str(data_dir), "API_KEYS": api_keys, "TESTING": True, "REDIS_URL": "",
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


@pytest.fixture(scope="session")
def databases():
    """Databases made for this run on the local PostgreSQL, all dropped at its end."""
    made = Databases(postgres_url())
    yield made
    made.drop_all()


@pytest.fixture(scope="session")
def seeded_database(databases, tmp_path_factory, api_keys) -> tuple[Seeded, Path]:
    """The run's database, seeded once and put back to that state for each test, and the data
    directory whose saved indexes hold that state (same store id, same seq)."""
    url = databases.create()
    data = tmp_path_factory.mktemp("seeded-pg") / "data"
    create_app({**app_config(data, api_keys), "DATABASE_URL": url}).extensions["service"].open().close()
    return Seeded(url), data


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, data_dir, seeded_dir, api_keys, request):
    data_dir.mkdir(parents=True, exist_ok=True)
    config = app_config(data_dir, api_keys)
    if backend == "postgres":
        database, seeded = request.getfixturevalue("seeded_database")
        config["DATABASE_URL"] = database.reset()
    else:
        seeded = seeded_dir
        for name in SEEDED_FILES:
            shutil.copy2(seeded_dir / name, data_dir / name)
    if (seeded / INDEX_DIR).is_dir():  # saving them may fail; the service then builds them
        shutil.copytree(seeded / INDEX_DIR, data_dir / INDEX_DIR)
    app = create_app(config)
    services = app.extensions["service"].open()
    yield app
    services.close()


@pytest.fixture
def other_worker(app):
    """A second process's view of the same store (a gunicorn worker beside `app`'s), its client."""
    other = create_app({key: app.config[key] for key in ("DATA_DIR", "DATABASE_URL", "API_KEYS", "TESTING")})
    yield other.test_client()
    other.extensions["service"].close()


@pytest.fixture
def changes(app) -> list[tuple[str, str]]:
    """(kind, key) of every change the store applies from now on, whoever wrote it."""
    seen: list[tuple[str, str]] = []
    app.extensions["service"].store.subscribe(lambda kind, key, old, new: seen.append((kind, key)))
    return seen


def open_app(data_dir: Path, seeded_dir: Path, api_keys: str, **overrides):
    """An app opened on a copy of the seeded JSON store in `data_dir` (a node of a test's own)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in SEEDED_FILES:
        shutil.copy2(seeded_dir / name, data_dir / name)
    if (seeded_dir / INDEX_DIR).is_dir():  # saving them may fail; the service then builds them
        shutil.copytree(seeded_dir / INDEX_DIR, data_dir / INDEX_DIR)
    app = create_app({**app_config(data_dir, api_keys), **overrides})
    app.extensions["service"].open()
    return app


class RedisTarget(NamedTuple):
    url: str
    prefix: str

    def config(self) -> dict:
        return {"REDIS_URL": self.url, "REDIS_PREFIX": self.prefix}

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)


@pytest.fixture
def redis_url():
    """The test Redis (TEST_REDIS_URL, else the local one) and a key prefix for this test only,
    whose keys are deleted after it. No Redis: the test is skipped, or fails when CI=true."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    target = RedisTarget(url, f"test-{uuid.uuid4().hex[:12]}:")
    client = target.client()
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"no Redis at {url} ({exc}); start one or set TEST_REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, so the Redis tests must run: {message}")
        pytest.skip(message)
    yield target
    try:
        keys = list(client.scan_iter(match=target.prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
