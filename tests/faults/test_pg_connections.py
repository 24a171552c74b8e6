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


async def _hold(enter, release: asyncio.Event, held: asyncio.Event | None = None) -> int:
    """Keep a connection (`enter()`: a quick reader or a transaction) until `release`."""
    async with enter() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        if held is not None:
            held.set()
        await release.wait()
        return pid


async def _holding(db, enter, count: int, release: asyncio.Event) -> list[asyncio.Task]:
    tasks = []
    for _ in range(count):
        held = asyncio.Event()
        tasks.append(asyncio.create_task(_hold(enter, release, held)))
        async with asyncio.timeout(3):  # each is served at once, never after a wait
            await held.wait()
    return tasks


async def test_point_reads_use_the_writers_spare_connections_rather_than_wait(database_url):
    """Six connections: two kept for point reads, four for the rest. With both readers busy a
    point read runs at once on a writers' connection (idle or newly opened), which goes back to
    the writers: afterwards all four transactions still get one at the same time. Only with
    every connection busy does a point read wait, and then for a reader."""
    db = await PostgresDatabase(database_url, min_size=1, max_size=6, timeout=5).open()
    free_readers, free_writers, free_last = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks: list[asyncio.Task] = []
    try:
        readers = await _holding(db, db.quick_reader, 2, free_readers)
        tasks += readers
        for _ in range(3):  # nothing to wait for: each finishes at once
            async with asyncio.timeout(2), db.quick_reader() as conn:
                assert await conn.fetchval("SELECT 1") == 1
        tasks += await _holding(db, db.transaction, 4, free_writers)  # all four writers' places
        assert db.pool_stats() == {"in_use": 6, "idle": 0, "max": 6}

        held = asyncio.Event()
        last = asyncio.create_task(_hold(db.quick_reader, free_last, held))
        tasks.append(last)
        await asyncio.sleep(0.3)
        assert not held.is_set()  # all six busy: the read waits
        free_readers.set()
        reader_pids = set(await asyncio.gather(*readers))
        async with asyncio.timeout(2):
            await held.wait()
        free_writers.set()
        free_last.set()
        assert await last in reader_pids  # it waited for a reader, not a writer
        await asyncio.gather(*tasks)
        assert db.pool_stats() == {"in_use": 0, "idle": 6, "max": 6}
    finally:
        for event in (free_readers, free_writers, free_last):
            event.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.close()
