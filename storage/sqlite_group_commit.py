"""Group commit on SQLite: the writes of one event-loop turn share one transaction and one COMMIT.

A SQLite COMMIT appends every page the transaction changed to the WAL (two `pwrite`s a page)
and updates the WAL index. Creating a user changes ~15 pages, about half of them the same for
every create (the tables' last leaves, the AUTOINCREMENT sequence, the database header). In an
IdP's initial sync several clients write at once: the requests that reach their write in the
same loop turn (the writes themselves run in the loop, one after another, without waiting)
share the transaction the turn's first write opened, and it commits when the turn ends (a
`call_soon` callback), or at the `BATCH_LIMIT`-th write. A user's create costs ~33 % less at the
storage layer in groups of eight; a lone write waits one loop turn more for its COMMIT.

What each write keeps: it is a SAVEPOINT inside the shared transaction, so one that fails is
rolled back alone and the rest go on; none returns before the COMMIT that makes it durable, and
if that COMMIT fails every write in it fails (nothing of them is in the database). A write that
reads sees the writes before it in the group, exactly as if they had committed one by one in
that order, which they have when it returns. A write whose caller is cancelled while it waits
for the group's COMMIT is still committed (as a write whose answer is lost after its COMMIT).
The turn-end rule is the shared read transaction's (storage.sqlite_snapshot).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

BATCH_LIMIT = 16  # writes in one transaction at most: a turn's first write waits boundedly


class _Group:
    """One open transaction and the writes in it so far."""

    __slots__ = ("writes", "due", "committed", "error")

    def __init__(self) -> None:
        self.writes = 0  # released savepoints: writes that wait for this group's COMMIT
        self.due = False  # the turn ended while a write was under way: that write commits
        self.committed = asyncio.Event()
        self.error: sqlite3.Error | None = None


class GroupCommit:
    """The in-loop writer's transactions. `begin` opens one (BEGIN IMMEDIATE, may wait for
    another process); `ended` runs after every COMMIT or ROLLBACK of a whole transaction;
    `translate` turns sqlite3's errors into the storage layer's."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: asyncio.Lock,
        begin: Callable[[], Awaitable[None]],
        ended: Callable[[], None],
        translate: Callable[[sqlite3.Error], Exception],
    ):
        self._conn = conn
        self._lock = lock  # one write at a time (a write rarely waits inside; BEGIN may)
        self._begin = begin
        self._ended = ended
        self._translate = translate
        self._group: _Group | None = None
        self.listeners: list[Callable[[int], None]] = []  # told each COMMIT's writes (metrics)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """One write, all or nothing, durable when the block has returned."""
        async with self._lock:
            group = await self._open()
            self._execute("SAVEPOINT group_write")
            written = False
            try:
                try:
                    yield
                except BaseException:
                    self._undo()
                    raise
                try:
                    self._execute("RELEASE group_write")
                except sqlite3.Error as error:
                    self._undo()
                    raise self._translate(error) from None
                group.writes += 1
                written = True
            finally:
                if group.due or group.writes >= BATCH_LIMIT or not self._conn.in_transaction:
                    self._finish(group)
        if written:
            await group.committed.wait()
            if group.error is not None:
                raise self._translate(group.error)

    async def _open(self) -> _Group:
        """The turn's group, begun by its first write."""
        if self._group is None:
            await self._begin()
            self._group = _Group()
            asyncio.get_running_loop().call_soon(self._end_of_turn, self._group)
        return self._group

    def _end_of_turn(self, group: _Group) -> None:
        if group is not self._group:
            return  # finished already (full, or rolled back)
        if self._lock.locked():
            group.due = True  # a write is under way; it finishes the group when it ends
            return
        self._finish(group)

    def _execute(self, sql: str) -> None:
        self._conn.execute(sql).close()

    def _undo(self) -> None:
        """Roll this write back alone; where SQLite has already rolled back the whole
        transaction (some errors do), the group's finish fails the writes before it."""
        if not self._conn.in_transaction:
            return
        try:
            self._execute("ROLLBACK TO group_write")
            self._execute("RELEASE group_write")
        except sqlite3.Error:  # never keep a failed write's changes: drop the whole group
            self._execute("ROLLBACK")

    def _finish(self, group: _Group) -> None:
        """COMMIT the group's writes (ROLLBACK an empty group) and wake them."""
        self._group = None
        try:
            if self._conn.in_transaction:
                if group.writes:
                    self._execute("COMMIT")
                    for listener in self.listeners:
                        listener(group.writes)
                else:
                    self._execute("ROLLBACK")
            elif group.writes:
                group.error = sqlite3.OperationalError("the shared transaction was rolled back")
        except sqlite3.Error as error:
            group.error = error
            if self._conn.in_transaction:
                self._execute("ROLLBACK")
        finally:
            self._ended()
            group.committed.set()
