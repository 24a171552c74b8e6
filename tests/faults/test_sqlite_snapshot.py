"""The SQLite in-loop reader's shared read transaction (storage.sqlite_snapshot), on a real file
with a real second process: reads of one loop turn share one transaction that ends with the
turn, a commit made before a turn is seen by all of its reads, this process's own writes are
seen at once, and nothing is done to SQLite's `-shm` file behind its back. What both backends
must show through the server (a write through one worker read at once through the other) is in
tests/api/test_workers.py."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

import pytest

from storage import open_database

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
async def database(tmp_path):
    path = str(tmp_path / "db.sqlite")
    db = await open_database(f"sqlite:///{path}")
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT)")
        await conn.execute("INSERT INTO items VALUES (1, 'first')")
    yield db
    await db.close()


def _write_from_another_process(path: str, value: str) -> None:
    """Synchronous on purpose: the loop turn of the caller goes on while it runs."""
    code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('UPDATE items SET value = ? WHERE id = 1', (sys.argv[2],))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, path, value], capture_output=True)
    assert done.returncode == 0, done.stderr


async def _value(db) -> str:
    return (await db.standing_reader().fetchrow("SELECT value FROM items WHERE id = 1"))[0]


def _holding(db) -> bool:
    return db._inline.in_transaction


async def _next_turns() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def _held_value(db) -> str:
    """Two reads in this turn: the second begins the transaction the turn's reads share."""
    await _value(db)
    value = await _value(db)
    assert _holding(db)
    return value


async def test_reads_of_one_turn_share_a_transaction_that_ends_with_the_turn(database):
    assert await _value(database) == "first"
    assert not _holding(database)  # a turn's first read runs on its own
    assert await _value(database) == "first"
    assert _holding(database)  # from the second on, one transaction
    assert await _value(database) == "first"
    await _next_turns()
    assert not _holding(database)
    assert await _value(database) == "first"
    assert not _holding(database)  # a new turn: its first read on its own again


async def test_a_commit_by_another_process_is_seen_by_every_read_of_the_next_turn(database):
    assert await _held_value(database) == "first"
    _write_from_another_process(database.path, "second")
    assert await _value(database) == "first"  # the turn's reads share one snapshot
    await _next_turns()
    assert await _value(database) == "second"
    assert await _value(database) == "second"  # and the next turn's shared one holds it too


async def test_a_commit_by_this_process_is_seen_at_once(database):
    assert await _held_value(database) == "first"
    async with database.transaction() as conn:
        await conn.execute("UPDATE items SET value = 'mine' WHERE id = 1")
    assert await _value(database) == "mine"


async def test_a_read_after_this_process_commits_sees_it_even_if_shared_during_the_write(
    database,
):
    """Reads may begin the turn's shared transaction while a write of this process is open
    (a request that reads during another's write): it must not outlive that write's commit."""
    async with database.transaction() as conn:
        await conn.execute("UPDATE items SET value = 'mine' WHERE id = 1")
        assert await _held_value(database) == "first"  # not committed yet
    assert await _value(database) == "mine"


async def test_a_write_of_this_process_ends_the_held_transaction_first(database):
    assert await _held_value(database) == "first"
    async with database.transaction() as conn:
        assert not _holding(database)  # the WAL can start over at this write
        await conn.execute("UPDATE items SET value = 'mine' WHERE id = 1")


async def test_the_wal_can_be_emptied_once_the_turn_is_over(database):
    for n in range(20):
        async with database.transaction() as conn:
            await conn.execute("UPDATE items SET value = ? WHERE id = 1", f"v{n}")
        assert await _held_value(database) == f"v{n}"
    other = sqlite3.connect(database.path, isolation_level=None)
    try:
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 1  # held: busy
        await _next_turns()
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    finally:
        other.close()
    assert os.path.getsize(database.path + "-wal") == 0
    assert await _value(database) == "v19"


async def test_a_failed_statement_ends_the_held_transaction(database):
    assert await _held_value(database) == "first"
    with pytest.raises(Exception, match="no such table"):
        await database.standing_reader().fetchrow("SELECT * FROM missing")
    assert not _holding(database)


DMS_LOCK_BYTE = 128  # of the -shm file: held shared by every process using the WAL-index
# (https://sqlite.org/walformat.html, "the DMS lock"); a process that can lock it exclusively
# believes it is alone and rebuilds the WAL-index under the others.


async def test_this_process_keeps_its_claim_on_the_wal_index(database):
    """Closing any descriptor of the -shm file in this process would drop its POSIX locks on it
    (https://sqlite.org/howtocorrupt.html, 2.2): checked from another process, after shared
    reads, a write and the end of a turn."""
    await _held_value(database)
    async with database.transaction() as conn:
        await conn.execute("UPDATE items SET value = 'mine' WHERE id = 1")
    await _held_value(database)
    await _next_turns()
    probe = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1] + '-shm', os.O_RDWR)\n"
        "try:\n"
        f"    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, {DMS_LOCK_BYTE})\n"
        "except OSError:\n"
        "    sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, database.path], capture_output=True)
    assert done.returncode == 0, "another process could take the WAL-index as its own"
