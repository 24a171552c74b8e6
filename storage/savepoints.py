"""A repository inside one open transaction, where each use-case transaction is a savepoint.

Bulk (RFC 7644 §3.7) runs many operations, each all-or-nothing on its own. Giving every one
its own transaction costs a commit (and, on SQLite, the write lock) per operation; here the
use cases run unchanged over this repository, each `transaction()` becoming a SAVEPOINT that a
failed operation rolls back to, and the whole batch commits once. Reads see the batch's own
writes (a group may list users created earlier in the same request).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.db import Database
from storage.repository import Stores


class SavepointRepository:
    def __init__(self, stores: Stores, db: Database):
        self.db = db
        self.commit_listeners: list = []
        self._stores = stores
        self._count = 0

    @asynccontextmanager
    async def transaction(self, *, one_statement: bool = False) -> AsyncIterator[Stores]:
        """A savepoint (`one_statement` changes nothing: the batch's transaction is open)."""
        self._count += 1
        name = f"op_{self._count}"
        conn = self._stores.conn
        appended = len(self._stores.audit.appended)
        await conn.execute(f"SAVEPOINT {name}")
        try:
            yield self._stores
        except BaseException:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            await conn.execute(f"RELEASE SAVEPOINT {name}")
            del self._stores.audit.appended[appended:]
            raise
        await conn.execute(f"RELEASE SAVEPOINT {name}")

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Stores]:
        yield self._stores

    quick_reader = reader
