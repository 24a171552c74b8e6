"""The in-loop reader's read transaction, kept open across the point reads of one event-loop turn
while nothing has been committed.

In WAL mode every read transaction locks a read mark in the `-shm` file and unlocks it at the
end: two `fcntl` system calls, plus the pager's checks, around a point read that itself takes
~10 µs. Under load the loop runs several requests in one turn (eight on average at 16
connections), so one read transaction can serve them all — as long as it never shows an old
snapshot. A turn's first read runs on its own (BEGIN and COMMIT cost more than the locks they
save on a single read); its second begins the transaction that the rest share. That is checked before every statement: the WAL-index header (the first 48 bytes of
the `-shm` file, which every commit in every process rewrites, https://sqlite.org/walformat.html)
is compared, in our own read-only mapping of it, with the header seen when the transaction began.
Any difference (a commit anywhere, or a writer half-way through rewriting it) ends the
transaction and begins a new one, so a read never misses a committed write.

A held transaction pins its snapshot in the WAL (a checkpoint stops at it; the WAL cannot start
over while it is held), so it never outlives the turn: its end is scheduled with `call_soon` when
it begins, and this process's writer ends it before each write transaction. Where the header is
not what we know (no `-shm` yet, another WAL-index version), every statement runs in its own
transaction as before.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import sqlite3
import struct

HEADER_SIZE = 48  # one copy of the WAL-index header (WalIndexHdr); two copies follow each other
KNOWN_VERSION = 3007000  # its iVersion since SQLite 3.7.0
_VERSION = struct.Struct("=I")  # native byte order, as SQLite writes it


class HeldSnapshot:
    """Begins and ends the read transactions of one read-only in-loop connection."""

    __slots__ = ("_conn", "_shm_path", "_header", "_seen", "_in_turn")

    def __init__(self, conn: sqlite3.Connection, database_path: str):
        self._conn = conn
        self._shm_path = database_path + "-shm"
        self._header: mmap.mmap | None = None
        self._seen: bytes | None = None  # the header when the held transaction began
        self._in_turn = False  # a read has run in this loop turn (its end is scheduled)

    def current(self) -> None:
        """Before a statement: make sure it reads the latest committed snapshot, in the held
        transaction where that is still the latest."""
        seen = self._seen
        if seen is not None:
            if self._header[:HEADER_SIZE] == seen:
                return
            self.end()
        elif not self._in_turn:  # the turn's first read: in a transaction of its own
            self._in_turn = True
            asyncio.get_running_loop().call_soon(self._end_of_turn)
            return
        header = self._mapped_header()
        if header is None:
            return  # not held: the statement runs in a transaction of its own
        # The header is read before the snapshot is taken (at the first read after BEGIN), so
        # the snapshot is never older than it; a later commit makes the two differ.
        self._conn.execute("BEGIN").close()
        self._seen = header

    def end(self) -> None:
        """End the held transaction, if any (before a write; after a failed statement)."""
        if self._seen is not None:
            self._seen = None
            if self._conn.in_transaction:
                self._conn.execute("COMMIT").close()

    def close(self) -> None:
        self.end()
        if self._header is not None:
            self._header.close()
            self._header = None

    def _end_of_turn(self) -> None:
        self._in_turn = False
        self.end()

    def _mapped_header(self) -> bytes | None:
        """The WAL-index header as it is now, or None where it cannot be trusted."""
        if self._header is None:
            self._header = _map(self._shm_path)
            if self._header is None:
                return None
        header = self._header[:HEADER_SIZE]
        if _VERSION.unpack_from(header)[0] != KNOWN_VERSION:
            return None
        return header


def _map(path: str) -> mmap.mmap | None:
    """A read-only mapping of the header, or None while the `-shm` file is missing or short.
    SQLite never shrinks it while a connection of ours is open (ours hold its DMS lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if os.fstat(fd).st_size < 2 * HEADER_SIZE:
            return None
        return mmap.mmap(fd, 2 * HEADER_SIZE, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)
