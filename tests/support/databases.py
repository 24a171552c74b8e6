"""Real databases for tests: a fresh SQLite file or a fresh Postgres database each time.

Postgres comes from HAIMAKER_TEST_POSTGRES_URL (default: the local trust-auth server, database
`test`). Where it cannot be reached the Postgres variants skip with the reason, unless
HAIMAKER_REQUIRE_POSTGRES=1 (as in CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "HAIMAKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")


def postgres_required() -> bool:
    return os.environ.get("HAIMAKER_REQUIRE_POSTGRES") == "1"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def create_postgres_database() -> str:
    """A new, empty database on the test server; returns its URL."""
    name = "haimaker_test_" + uuid.uuid4().hex[:12]
    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}"
        if postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(POSTGRES_ADMIN_URL, name)


async def drop_postgres_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def new_database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / ('haimaker-' + uuid.uuid4().hex[:8] + '.db')}"
    return await create_postgres_database()


async def dispose_database_url(url: str) -> None:
    if url.startswith("postgresql"):
        await drop_postgres_database(url)
