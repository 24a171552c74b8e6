"""Postgres backend (asyncpg pool): production.

SQL arrives with `?` placeholders and is rewritten once per statement text to `$n`; asyncpg
then prepares and caches it per connection. Every failure to reach the database becomes
`DatabaseUnavailable` so the web layer can answer 503 instead of 500.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from storage.db import Conflict, DatabaseUnavailable

_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)


@functools.lru_cache(maxsize=4096)
def to_numbered(sql: str) -> str:
    """`?` placeholders to `$1 … $n` (our SQL never holds a literal `?`)."""
    parts = sql.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(f"${number}{part}")
    return "".join(out)


class PostgresDialect:
    name = "postgres"
    for_update = " FOR UPDATE"
    timestamp_param = "CAST(? AS TIMESTAMPTZ)"

    def json_text(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        return f"({column} #>> ?::text[])", list(keys)

    def json_elements(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        # Multi-valued attributes are always arrays in the canonical document.
        return f"jsonb_array_elements({column} #> ?::text[]) AS j(value)", list(keys)

    def element_text(self, key: str) -> str:
        escaped = key.replace("'", "''")
        return f"(j.value ->> '{escaped}')"

    def json_has_key(self, column: str, key: str) -> tuple[str, Any]:
        return f"jsonb_exists({column}, ?)", key

    def json_bool(self, text_sql: str, value: bool) -> str:
        return f"({text_sql} = '{'true' if value else 'false'}')"

    def lower(self, sql: str) -> str:
        return f"lower({sql})"

    def id_list(self, alias: str) -> str:
        return f"unnest(?::text[]) AS {alias}(value)"

    def id_list_param(self, ids: Sequence[str]) -> Any:
        return list(ids)


class PostgresConnection:
    """The `storage.db.Connection` interface over one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with _translated_errors():
            return await self._conn.fetch(to_numbered(sql), *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with _translated_errors():
            return await self._conn.fetchrow(to_numbered(sql), *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with _translated_errors():
            return await self._conn.fetchval(to_numbered(sql), *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with _translated_errors():
            status = await self._conn.execute(to_numbered(sql), *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with _translated_errors():
            await self._conn.executemany(to_numbered(sql), rows)


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as error:
        raise Conflict(error.constraint_name or "unique") from error
    except _UNAVAILABLE as error:
        raise DatabaseUnavailable(f"{type(error).__name__}: {error}") from error


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresDatabase:
    """An asyncpg pool; each transaction holds one pooled connection."""

    dialect = PostgresDialect()

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        timeout: float = 10.0,
        server_settings: dict[str, str] | None = None,
    ):
        self.url = url
        self.url_for_display = hide_password(url)
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._server_settings = server_settings
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> PostgresDatabase:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min_size,
                max_size=self._max_size,
                init=_init_connection,
                command_timeout=self._timeout,
                timeout=self._timeout,
                server_settings=self._server_settings,
            )
        except _UNAVAILABLE as error:
            raise DatabaseUnavailable(f"{type(error).__name__}: {error}") from error
        return self

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        assert self._pool is not None, "database is not open"
        async with _translated_errors():
            conn = await self._pool.acquire(timeout=self._timeout)
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        async with self._acquire() as conn:
            async with _translated_errors():
                tx = conn.transaction()
                await tx.start()
            try:
                yield PostgresConnection(conn)
            except BaseException:
                with suppress(_UNAVAILABLE):
                    await tx.rollback()
                raise
            async with _translated_errors():
                await tx.commit()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[PostgresConnection]:
        async with self._acquire() as conn:
            yield PostgresConnection(conn)

    async def ping(self) -> None:
        async with self.reader() as conn:
            await conn.fetchval("SELECT 1")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
