"""The connections a Postgres-backed process keeps (storage.pg_connections), against a real
server: reused while fresh, closed after sitting idle too long (proxies cut those), closed when
their work was left in doubt, and a transaction's connection goes back only when it ended."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from storage import pg_connections
from storage.db import Conflict
from storage.postgres import PostgresDatabase
from tests.support.databases import create_postgres_database, drop_postgres_database


@pytest.fixture
async def database_url():
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


async def _sessions(db, where: str, *params) -> int:
    """Sessions of the server matching `where` (pg_stat_activity)."""
    async with db.reader() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM pg_stat_activity WHERE {where}", *params)


async def _backend_pid(db, **options) -> int:
    async with db.transaction(**options) as conn:
        return await conn.fetchval("SELECT pg_backend_pid()")


async def test_a_fresh_connection_is_reused_and_an_idle_one_is_replaced(database_url, monkeypatch):
    db = await PostgresDatabase(database_url, min_size=1, max_size=6).open()
    try:
        first = await _backend_pid(db)
        assert await _backend_pid(db) == first  # taken again: the same connection
        monkeypatch.setattr(pg_connections, "MAX_IDLE_SECONDS", 0.2)
        await asyncio.sleep(0.3)
        replaced = await _backend_pid(db)
        assert replaced != first
        assert await _sessions(db, "pid = ?", first) == 0  # gone from the server too
    finally:
        await db.close()


async def test_a_transaction_gives_back_its_connection_only_when_it_ended(database_url):
    db = await PostgresDatabase(database_url, min_size=1, max_size=6).open()
    try:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
            await conn.execute("INSERT INTO kept VALUES (1)")
        pid = await _backend_pid(db)
        with pytest.raises(Conflict):  # an ordinary failure: rolled back, connection kept
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO kept VALUES (1)")
        assert await _backend_pid(db) == pid
        with pytest.raises(asyncpg.PostgresError):  # a failure that leaves it in doubt
            async with db.transaction() as conn:
                await conn.execute("SELECT 1/0")
        assert await _backend_pid(db) != pid
        async with db.reader() as conn:
            assert await conn.fetchval("SELECT count(*) FROM kept") == 1
        stuck = "datname = current_database() AND state LIKE 'idle in transaction%'"
        assert await _sessions(db, stuck) == 0  # nothing is left mid-transaction
    finally:
        await db.close()


async def test_a_cancelled_transaction_closes_its_connection(database_url):
    db = await PostgresDatabase(database_url, min_size=1, max_size=6).open()
    try:
        pid = await _backend_pid(db)
        started = asyncio.Event()

        async def slow() -> None:
            async with db.transaction() as conn:
                started.set()
                await conn.execute("SELECT pg_sleep(5)")

        task = asyncio.create_task(slow())
        await started.wait()
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _backend_pid(db) != pid  # cut short mid-statement: never handed out again
        assert db.pool_stats()["in_use"] == 0
    finally:
        await db.close()
