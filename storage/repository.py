"""The repository: every store over one connection, inside a transaction or for reading."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Stores]:
        async with self.db.transaction() as conn:
            stores = Stores(conn, self.db)
            yield stores
        for listener in self.commit_listeners:
            listener(stores.audit.appended)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Stores]:
        async with self.db.reader() as conn:
            yield Stores(conn, self.db)

    @asynccontextmanager
    async def quick_reader(self) -> AsyncIterator[Stores]:
        """For short indexed reads only (see Database.quick_reader)."""
        async with self.db.quick_reader() as conn:
            yield Stores(conn, self.db)
