"""Group commit on SQLite (storage.sqlite_group_commit), on a real database file: the writes of
one loop turn share one COMMIT, and each is still all or nothing and durable when it returns. What both backends must show through the server (concurrent creates, some refused,
lose and add nothing) is in tests/api/test_concurrent_creates.py."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage import open_database
from storage.db import Conflict

pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest.fixture
async def database(tmp_path):
    db = await open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT UNIQUE)")
        await conn.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        await conn.execute(
            "CREATE TABLE children (parent INTEGER REFERENCES parents (id)"
            " DEFERRABLE INITIALLY DEFERRED)"
        )
    yield db
    await db.close()


async def _values(db) -> set[str]:
    async with db.reader() as conn:
        return {row["value"] for row in await conn.fetch("SELECT value FROM items")}


async def _insert(db, value: str, *, then=None) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO items (value) VALUES (?)", value)
        if then is not None:
            await then(conn)


def _held():
    """(inside, go_on, hold): `hold` as a write's last step waits inside its transaction
    until `go_on` is set, after setting `inside`."""
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def hold(conn):
        inside.set()
        await go_on.wait()

    return inside, go_on, hold


def _commits(db) -> list[int]:
    """The writes each COMMIT from now on carries, as the group commit tells its listeners."""
    carried: list[int] = []
    db.group_commit.listeners.append(carried.append)
    return carried


async def test_writes_of_one_turn_share_commits_and_all_land(database):
    carried = _commits(database)
    await asyncio.gather(*(_insert(database, f"v{n}") for n in range(16)))
    assert await _values(database) == {f"v{n}" for n in range(16)}
    assert sum(carried) == 16
    assert len(carried) < 16  # shared; one by one this was 16 COMMITs


async def test_a_lone_write_is_committed_when_it_returns(database):
    carried = _commits(database)
    await _insert(database, "alone")
    assert carried == [1]
    with sqlite3.connect(database.path) as other:  # another connection sees it: durable
        assert other.execute("SELECT value FROM items").fetchall() == [("alone",)]


async def test_a_failing_write_is_rolled_back_alone(database):
    async def fail(conn):
        await conn.execute("INSERT INTO items (value) VALUES ('second half')")
        raise RuntimeError("the use case refuses")

    results = await asyncio.gather(
        _insert(database, "before"),
        _insert(database, "refused", then=fail),
        _insert(database, "after"),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert await _values(database) == {"before", "after"}


async def test_a_conflicting_write_is_refused_and_the_rest_commit(database):
    await _insert(database, "taken")
    results = await asyncio.gather(
        _insert(database, "a"), _insert(database, "taken"), _insert(database, "b"),
        return_exceptions=True,
    )  # fmt: skip
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Conflict)
    assert await _values(database) == {"taken", "a", "b"}


async def test_a_failed_commit_fails_every_write_of_the_group(database):
    """A deferred foreign key is only checked by COMMIT: the group's COMMIT fails, and so do
    all of its writes, the innocent one included (none of them is in the database)."""

    async def orphan(conn):
        await conn.execute("INSERT INTO children (parent) VALUES (42)")

    results = await asyncio.gather(
        _insert(database, "innocent"),
        _insert(database, "orphaning", then=orphan),
        return_exceptions=True,
    )
    assert all(isinstance(result, sqlite3.IntegrityError) for result in results), results
    assert await _values(database) == set()
    await _insert(database, "later")  # the writer is usable again
    assert await _values(database) == {"later"}


async def test_a_write_that_waits_inside_is_committed_when_it_ends(database):
    """A write that waits inside its transaction (here on an event) holds the group past the
    end of its turn; the turn's end leaves the COMMIT to it, and a write queued behind it
    joins the next group."""
    inside, go_on, hold = _held()
    first = asyncio.create_task(_insert(database, "first", then=hold))
    await inside.wait()
    second = asyncio.create_task(_insert(database, "second"))
    for _ in range(3):
        await asyncio.sleep(0)  # turns end meanwhile; nothing commits under the held write
    with sqlite3.connect(database.path) as other:
        assert other.execute("SELECT count(*) FROM items").fetchone() == (0,)
    go_on.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert await _values(database) == {"first", "second"}


async def test_a_queued_writer_cancelled_leaves_the_group_to_commit(database):
    inside, go_on, hold = _held()
    first = asyncio.create_task(_insert(database, "first", then=hold))
    await inside.wait()
    second = asyncio.create_task(_insert(database, "second"))
    await asyncio.sleep(0)  # queued behind the first
    second.cancel()
    go_on.set()
    await asyncio.wait_for(first, 5)
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await _values(database) == {"first"}


async def test_a_writer_cancelled_while_its_group_commits_is_still_committed(database):
    inside, go_on, hold = _held()
    first = asyncio.create_task(_insert(database, "first"))
    holder = asyncio.create_task(_insert(database, "held", then=hold))
    await inside.wait()  # `first` waits for the group's COMMIT, which `held` will make
    first.cancel()
    go_on.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await _values(database) == {"first", "held"}
