"""The repository: every store over one connection, inside a transaction or for reading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.audit import AuditStore
from storage.credentials import AccessTokenStore, ApiKeyStore, ScimTokenStore, SettingsStore
from storage.db import Connection, Database
from storage.teams import TeamStore
from storage.users import UserStore


class Stores:
    """The stores bound to one connection: what a use case works with."""

    def __init__(self, conn: Connection, db: Database):
        self.conn = conn
        self.dialect = db.dialect
        self.users = UserStore(conn, db.dialect)
        self.teams = TeamStore(conn, db.dialect)
        self.scim_tokens = ScimTokenStore(conn, db.dialect)
        self.api_keys = ApiKeyStore(conn, db.dialect)
        self.access_tokens = AccessTokenStore(conn, db.dialect)
        self.settings = SettingsStore(conn, db.dialect)
        self.audit = AuditStore(conn, db.dialect)


class Repository:
    def __init__(self, db: Database):
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Stores]:
        async with self.db.transaction() as conn:
            yield Stores(conn, self.db)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Stores]:
        async with self.db.reader() as conn:
            yield Stores(conn, self.db)
