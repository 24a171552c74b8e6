"""Counting the SQL statements a live server runs, to prove set-based queries (no N+1).

Installed on a LiveServer's `services.db`: its `transaction()` and `reader()` then hand out
connections that record every statement before running it on the real one. Nothing is
mocked; the database still does all the work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any


class _CountingConnection:
    """A `storage.db.Connection` that appends each statement's SQL to `log`."""

    def __init__(self, inner, log: list[str]):
        self._inner = inner
        self._log = log

    async def fetch(self, sql: str, *args: Any):
        self._log.append(sql)
        return await self._inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any):
        self._log.append(sql)
        return await self._inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any):
        self._log.append(sql)
        return await self._inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        self._log.append(sql)
        return await self._inner.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._log.append(sql)
        return await self._inner.executemany(sql, rows)


class StatementCounter:
    """Records the statements run through one Database while installed."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._db = None

    def install(self, db) -> StatementCounter:
        original_transaction, original_reader = db.transaction, db.reader
        log = self.statements

        @asynccontextmanager
        async def transaction() -> AsyncIterator[_CountingConnection]:
            async with original_transaction() as conn:
                yield _CountingConnection(conn, log)

        @asynccontextmanager
        async def reader() -> AsyncIterator[_CountingConnection]:
            async with original_reader() as conn:
                yield _CountingConnection(conn, log)

        db.transaction, db.reader = transaction, reader
        self._db = db
        return self

    def uninstall(self) -> None:
        if self._db is not None:
            del self._db.transaction, self._db.reader
            self._db = None

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements run inside the block (a fresh list each time)."""
        start = len(self.statements)
        window: list[str] = []
        try:
            yield window
        finally:
            window.extend(self.statements[start:])


def touching(statements: list[str], table: str) -> list[str]:
    """The statements that name `table`."""
    return [sql for sql in statements if table in sql]
