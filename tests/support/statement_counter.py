"""Counting the SQL statements a live server runs, to prove set-based queries (no N+1).

Installed on a LiveServer's `services.db`: its `transaction()`, `reader()` and `quick_reader()`
then hand out connections that record every statement before running it on the real one.
Nothing is mocked; the database still does all the work.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from attrs import frozen


@frozen
class Statement:
    """One statement and where it ran: `scope` is `tx-N` (the Nth write transaction) or
    `read-N` (the Nth reader connection)."""

    scope: str
    sql: str

    def __contains__(self, text: str) -> bool:
        return text in self.sql


class _CountingConnection:
    """A `storage.db.Connection` that appends each statement to `log`."""

    def __init__(self, inner, log: list[Statement], scope: str):
        self._inner = inner
        self._log = log
        self._scope = scope

    def _note(self, sql: str) -> None:
        self._log.append(Statement(self._scope, sql))

    async def fetch(self, sql: str, *args: Any):
        self._note(sql)
        return await self._inner.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any):
        self._note(sql)
        return await self._inner.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any):
        self._note(sql)
        return await self._inner.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        self._note(sql)
        return await self._inner.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._note(sql)
        return await self._inner.executemany(sql, rows)


class StatementCounter:
    """Records the statements run through one Database while installed."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self._db = None
        self._scopes = itertools.count(1)

    def install(self, db) -> StatementCounter:
        original_transaction, original_reader = db.transaction, db.reader
        log = self.statements

        @asynccontextmanager
        async def transaction(**options) -> AsyncIterator[_CountingConnection]:
            async with original_transaction(**options) as conn:
                yield _CountingConnection(conn, log, f"tx-{next(self._scopes)}")

        @asynccontextmanager
        async def reader() -> AsyncIterator[_CountingConnection]:
            async with original_reader() as conn:
                yield _CountingConnection(conn, log, f"read-{next(self._scopes)}")

        original_quick_reader = db.quick_reader

        @asynccontextmanager
        async def quick_reader() -> AsyncIterator[_CountingConnection]:
            async with original_quick_reader() as conn:
                yield _CountingConnection(conn, log, f"quick-{next(self._scopes)}")

        original_standing_reader = db.standing_reader

        def standing_reader() -> _CountingConnection | None:
            conn = original_standing_reader()
            if conn is None:
                return None
            return _CountingConnection(conn, log, f"quick-{next(self._scopes)}")

        db.transaction, db.reader, db.quick_reader = transaction, reader, quick_reader
        db.standing_reader = standing_reader
        self._db = db
        return self

    def uninstall(self) -> None:
        if self._db is not None:
            del self._db.transaction, self._db.reader, self._db.quick_reader
            del self._db.standing_reader
            self._db = None

    @contextmanager
    def counting(self) -> Iterator[list[Statement]]:
        """The statements run inside the block (a fresh list each time)."""
        start = len(self.statements)
        window: list[Statement] = []
        try:
            yield window
        finally:
            window.extend(self.statements[start:])


def touching(statements: list[Statement], text: str) -> list[Statement]:
    """The statements whose SQL contains `text` (a table name, `DELETE FROM api_keys`, …)."""
    return [statement for statement in statements if text in statement.sql]


def without_authentication(statements: list[Statement]) -> list[Statement]:
    """The statements of the work itself: the SCIM-token lookup comes and goes with the token
    cache (on SQLite any commit sends the next request back to the table), not with the work."""
    return [statement for statement in statements if "scim_tokens" not in statement.sql]
