"""SQLite backend (aiosqlite): the embedded default.

WAL mode so reads never wait for the writer; one writer connection whose transactions start
with BEGIN IMMEDIATE (the write lock is taken up front, so two processes on one file queue
instead of failing half-way); an in-process lock keeps this process's writers in line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import orjson

from storage.db import Conflict, DatabaseUnavailable


def _to_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _from_iso(raw: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(raw.decode().replace("Z", "+00:00"))


sqlite3.register_adapter(dt.datetime, _to_iso)
sqlite3.register_adapter(dict, lambda value: orjson.dumps(value).decode())
sqlite3.register_adapter(list, lambda value: orjson.dumps(value).decode())
sqlite3.register_converter("TIMESTAMP", _from_iso)
sqlite3.register_converter("JSON", orjson.loads)
sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class SqliteDialect:
    name = "sqlite"
    for_update = ""
    timestamp_param = "?"

    @staticmethod
    def _path(keys: Sequence[str]) -> str:
        return "$" + "".join('."' + key.replace('"', '""') + '"' for key in keys)

    def json_text(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        return f"json_extract({column}, ?)", self._path(keys)

    def json_elements(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        return f"json_each({column}, ?) AS j", self._path(keys)

    def element_text(self, key: str) -> str:
        return f"json_extract(j.value, '{self._path([key])}')"

    def json_has_key(self, column: str, key: str) -> tuple[str, Any]:
        return f"(json_type({column}, ?) IS NOT NULL)", self._path([key])

    def json_bool(self, text_sql: str, value: bool) -> str:
        return f"({text_sql} = {1 if value else 0})"

    def lower(self, sql: str) -> str:
        return f"scim_lower({sql})"

    def id_list(self, alias: str) -> str:
        return f"json_each(?) AS {alias}"

    def id_list_param(self, ids: Sequence[str]) -> Any:
        return orjson.dumps(list(ids)).decode()


class SqliteConnection:
    """The `storage.db.Connection` interface over one aiosqlite connection."""

    def __init__(self, conn: aiosqlite.Connection):
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        async with _translated_errors():
            return list(await self._conn.execute_fetchall(sql, _params(args)))

    async def fetchrow(self, sql: str, *args: Any) -> sqlite3.Row | None:
        async with _translated_errors(), self._conn.execute(sql, _params(args)) as cursor:
            return await cursor.fetchone()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> int:
        async with _translated_errors(), self._conn.execute(sql, _params(args)) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with _translated_errors():
            await self._conn.executemany(sql, [_params(row) for row in rows])


def _params(args: Sequence[Any]) -> tuple:
    return tuple(args)


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as error:
        message = str(error)
        if "UNIQUE" in message or "PRIMARY KEY" in message:
            raise Conflict(message.rsplit(":", 1)[-1].strip()) from error
        raise
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error) or "disk" in str(error):
            raise DatabaseUnavailable(str(error)) from error
        raise


async def _execute(conn: aiosqlite.Connection, sql: str) -> None:
    async with conn.execute(sql):
        pass


async def _pragma(conn: aiosqlite.Connection, pragma: str) -> None:
    async with conn.execute(f"PRAGMA {pragma}") as cursor:
        await cursor.fetchall()


class SqliteDatabase:
    """One writer connection and one reader connection to a WAL-mode database file."""

    dialect = SqliteDialect()

    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000):
        self.path = path
        self.url_for_display = f"sqlite:///{path}"
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> SqliteDatabase:
        self._writer = await self._connect()
        await _pragma(self._writer, "journal_mode=WAL")
        self._reader = await self._connect()
        await _pragma(self._reader, "query_only=ON")
        return self

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(
            self.path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None
        )
        conn.row_factory = sqlite3.Row
        try:
            await _pragma(conn, f"busy_timeout={int(self._busy_timeout_ms)}")
            await _pragma(conn, "foreign_keys=ON")
            await _pragma(conn, "synchronous=NORMAL")
            # LIKE must be case-sensitive as in Postgres; case-insensitive matches lower both sides.
            await _pragma(conn, "case_sensitive_like=ON")
        except BaseException:
            await conn.close()
            raise
        await conn.create_function("scim_lower", 1, _lower, deterministic=True)
        return conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteConnection]:
        assert self._writer is not None, "database is not open"
        async with self._write_lock:
            async with _translated_errors():
                await _execute(self._writer, "BEGIN IMMEDIATE")
            try:
                yield SqliteConnection(self._writer)
            except BaseException:
                await _execute(self._writer, "ROLLBACK")
                raise
            async with _translated_errors():
                await _execute(self._writer, "COMMIT")

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[SqliteConnection]:
        assert self._reader is not None, "database is not open"
        yield SqliteConnection(self._reader)

    async def ping(self) -> None:
        async with self.reader() as conn:
            await conn.fetchval("SELECT 1")

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
