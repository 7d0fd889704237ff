"""The local PostgreSQL server for tests: a database per test, made and dropped here.

Where no server answers, tests that need one skip and say why; with CI=true they fail instead,
since CI must run everything for real.
"""

from __future__ import annotations

import itertools
import os
import secrets

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_url() -> str:
    """The server's maintenance database (TEST_POSTGRES_URL), checked reachable."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        reason = f"no PostgreSQL at {url} ({str(exc).strip()}); set TEST_POSTGRES_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


class Databases:
    """Databases named after this run (yibao_test_<random>_<n>), so runs never see each other's."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.prefix = f"yibao_test_{secrets.token_hex(4)}"
        self.made: list[str] = []
        self._numbers = itertools.count()

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(self._numbers)}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(conninfo_to_dict(template)["dbname"]))
        self._admin(query)
        self.made.append(name)
        return make_conninfo(self.admin_url, dbname=name)

    def drop(self, url: str) -> None:
        name = conninfo_to_dict(url)["dbname"]
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            self.drop(make_conninfo(self.admin_url, dbname=name))

    def _admin(self, query) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(query)


class Seeded:
    """One database per run, put back to its seeded state before each test: a fresh database per
    test would cost a CREATE DATABASE (a quarter of a second) every time. The seeded rows are kept
    in a schema of their own beside the store's tables."""

    TABLES = ("records", "changes", "store_meta")

    def __init__(self, url: str):
        self.url = url
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            conn.execute("CREATE SCHEMA seeded")
            for table in self.TABLES:
                conn.execute(sql.SQL("CREATE TABLE seeded.{0} AS TABLE public.{0}").format(sql.Identifier(table)))
            self.seq = conn.execute("SELECT last_value FROM changes_seq_seq").fetchone()[0]

    def reset(self) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            conn.execute("TRUNCATE records, changes, store_meta")
            for table in self.TABLES:
                conn.execute(sql.SQL("INSERT INTO public.{0} SELECT * FROM seeded.{0}").format(sql.Identifier(table)))
            conn.execute("SELECT setval('changes_seq_seq', %s)", (self.seq,))
        return self.url
