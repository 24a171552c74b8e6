"""The in-loop reader's read transaction, shared by the point reads of one event-loop turn.

In WAL mode every read transaction locks a read mark in the `-shm` file and unlocks it at the
end: two `fcntl` system calls, plus the pager's checks, around a point read that itself takes
~10 µs. Under load the loop runs several requests in one turn (eight on average at 16
connections). A turn's first read runs on its own (BEGIN and COMMIT cost more than the locks
they save on a single read); from its second read on, the turn's reads share one transaction,
which ends when the turn does (`call_soon`) and before and after every write of this process.

Why no read misses a commit it must see: a request's statements run in a turn that began after
the request arrived (its handler is woken by the poll that received it and runs in a later pass
over the ready callbacks, after the end of the previous turn's transaction, which was queued
first). So a transaction begun in that turn began after the request arrived, and holds every
commit, of any process, that the client could have seen before sending it. This process's own
writes end the transaction when they begin and when they end, so a read after one (in the same
request or another) begins a new one, even if reads shared one while the write was open. A
commit by another process during the turn shows from the next turn on, as it would to a request
that had arrived a moment earlier. Ending with the turn also means it never holds the WAL back
for long (a checkpoint stops at an open snapshot; the WAL cannot start over under one).

Nothing here touches the `-shm` file: closing any descriptor of it would drop this process's
POSIX locks on it, which SQLite relies on (https://sqlite.org/howtocorrupt.html, §2.2).
"""

from __future__ import annotations

import asyncio
import sqlite3


class HeldSnapshot:
    """Begins and ends the read transactions of one read-only in-loop connection."""

    __slots__ = ("_conn", "_held", "_in_turn")

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._held = False  # a transaction is open for this turn's reads
        self._in_turn = False  # a read has run in this loop turn (its end is scheduled)

    def current(self) -> None:
        """Before a statement: on the turn's first read, schedule the turn's end and let the
        statement run in a transaction of its own; on its second, begin the shared one."""
        if self._held:
            return
        if not self._in_turn:
            self._in_turn = True
            asyncio.get_running_loop().call_soon(self._end_of_turn)
            return
        self._conn.execute("BEGIN").close()  # the snapshot is taken by the next statement
        self._held = True

    def end(self) -> None:
        """End the shared transaction, if any (around a write; after a failed statement)."""
        if self._held:
            self._held = False
            if self._conn.in_transaction:
                self._conn.execute("COMMIT").close()

    def _end_of_turn(self) -> None:
        self._in_turn = False
        self.end()
