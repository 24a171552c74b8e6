"""The repository: every store over one connection, inside a transaction or for reading."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cached_property

from storage.audit import AuditStore
from storage.credentials import AccessTokenStore, ApiKeyStore, ScimTokenStore, SettingsStore
from storage.db import Connection, Database
from storage.directory import DirectoryStore
from storage.records import AuditEvent
from storage.teams import TeamStore
from storage.users import UserStore


class Stores:
    """The stores bound to one connection: what a use case works with. Each store is made on
    first use (a point read needs one of them, not all nine)."""

    def __init__(self, conn: Connection, db: Database):
        self.conn = conn
        self.dialect = db.dialect

    @cached_property
    def users(self) -> UserStore:
        return UserStore(self.conn, self.dialect)

    @cached_property
    def teams(self) -> TeamStore:
        return TeamStore(self.conn, self.dialect)

    @cached_property
    def scim_tokens(self) -> ScimTokenStore:
        return ScimTokenStore(self.conn, self.dialect)

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        return ApiKeyStore(self.conn, self.dialect)

    @cached_property
    def access_tokens(self) -> AccessTokenStore:
        return AccessTokenStore(self.conn, self.dialect)

    @cached_property
    def settings(self) -> SettingsStore:
        return SettingsStore(self.conn, self.dialect)

    @cached_property
    def audit(self) -> AuditStore:
        return AuditStore(self.conn, self.dialect)

    @cached_property
    def directory(self) -> DirectoryStore:
        return DirectoryStore(self.conn, self.dialect)


class Repository:
    def __init__(self, db: Database):
        self.db = db
        # Called with the audit events of each transaction once it has committed (metrics).
        self.commit_listeners: list[Callable[[list[AuditEvent]], None]] = []
        self._standing: _Handed | None = None

    @asynccontextmanager
    async def transaction(self, *, one_statement: bool = False) -> AsyncIterator[Stores]:
        """`one_statement`: the use case writes with one statement (see Database.transaction)."""
        async with self.db.transaction(one_statement=one_statement) as conn:
            stores = Stores(conn, self.db)
            yield stores
        for listener in self.commit_listeners:
            listener(stores.audit.appended)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Stores]:
        async with self.db.reader() as conn:
            yield Stores(conn, self.db)

    def quick_reader(self) -> AbstractAsyncContextManager[Stores]:
        """For short indexed reads only (see Database.quick_reader). Where the database has a
        standing reader, its stores are made once and handed over with no setup at all."""
        conn = self.db.standing_reader()
        if conn is None:
            return _Leased(self.db.quick_reader(), self.db)
        handed = self._standing
        if handed is None or handed.conn is not conn:
            handed = self._standing = _Handed(conn, Stores(conn, self.db))
        return handed


class _Leased:
    """The stores over a connection leased for one short read (no generator in between)."""

    __slots__ = ("_lease", "_db")

    def __init__(self, lease: AbstractAsyncContextManager[Connection], db: Database):
        self._lease = lease
        self._db = db

    async def __aenter__(self) -> Stores:
        return Stores(await self._lease.__aenter__(), self._db)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._lease.__aexit__(*exc_info)


class _Handed:
    """An async context manager that hands over the stores of a standing connection: nothing
    to open or close."""

    __slots__ = ("conn", "_stores")

    def __init__(self, conn: Connection, stores: Stores):
        self.conn = conn
        self._stores = stores

    async def __aenter__(self) -> Stores:
        return self._stores

    async def __aexit__(self, *exc_info: object) -> None:
        return None
