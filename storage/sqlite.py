"""SQLite backend: the embedded default.

WAL mode so reads never wait for the writer; one writer connection whose transactions start
with BEGIN IMMEDIATE (the write lock is taken up front, so two processes on one file queue
instead of failing half-way); an in-process lock keeps this process's writers in line.
Writes and short indexed reads run on plain sqlite3 connections in the event loop (no thread
hop per statement, see SqliteInlineConnection); reads that may scan run on aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any

import aiosqlite
import orjson

from storage.db import Conflict, DatabaseUnavailable
from storage.inserts import per_table
from storage.sqlite_group_commit import GroupCommit
from storage.sqlite_signals import SignalFile, close_signals, open_signals
from storage.sqlite_snapshot import HeldSnapshot


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


CHECKPOINT_EVERY = 200  # commits; about 1-3 MB of WAL for SCIM writes


class SqliteDialect:
    name = "sqlite"
    for_update = ""
    key_share = ""
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

    def in_list(self, column: str) -> str:
        return f"({column} IN (SELECT value FROM json_each(?)))"

    def starts_with(self, column: str, prefix: str) -> tuple[str, list]:
        """`column` begins with `prefix`, as an index range: BINARY collation orders by code
        point, and SQLite's LIKE cannot use a BINARY index when it ignores case."""
        return f"({column} >= ? AND {column} < ?)", [prefix, prefix + "\U0010ffff"]

    def json_pairs(self, first: str, second: str, from_sql: str, where: str, order: str) -> str:
        return (
            "(SELECT json_group_array(json_array(x.a, x.b)) FROM "
            f"(SELECT {first} AS a, {second} AS b FROM {from_sql} WHERE {where} ORDER BY {order}) x)"
        )

    notify_sql = None  # no cross-process notifications: nothing may be cached across them

    def insert_plan(self, inserts):
        return per_table(inserts)


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

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows at once (one prepared INSERT run over all of them in the thread)."""
        marks = ", ".join("?" for _ in columns)
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _params(args: Sequence[Any]) -> tuple:
    return tuple(args)


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    """`_translated_sync_errors` in a form that joins `async with` (aiosqlite's cursors)."""
    with _translated_sync_errors():
        yield


class SqliteInlineConnection:
    """A plain sqlite3 connection run in the event loop itself, without aiosqlite's thread.

    aiosqlite sends every statement to a thread and back; for an indexed point read, or the
    handful of statements of a write transaction, the hops cost more than the work (a point
    read is ~10 µs) and leave the writer waiting on thread wake-ups. Two uses: the quick
    reader (short indexed reads only; scans and big counts stay on aiosqlite's reader) and
    the writer (see SqliteDatabase.transaction). The reader's statements of one loop turn
    share a read transaction (storage.sqlite_snapshot); each statement's cursor is closed at
    once.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        writable: bool = False,
        snapshot: HeldSnapshot | None = None,
    ):
        self._conn = conn
        self._writable = writable
        self._snapshot = snapshot

    async def fetch(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        try:
            return self._read(sql, args).fetchall()
        except _TRANSLATED as error:
            raise self._read_failed(error)  # noqa: B904

    async def fetchrow(self, sql: str, *args: Any) -> sqlite3.Row | None:
        try:
            cursor = self._read(sql, args)
            try:
                return cursor.fetchone()
            finally:
                cursor.close()
        except _TRANSLATED as error:
            raise self._read_failed(error)  # noqa: B904

    def _read(self, sql: str, args: tuple) -> sqlite3.Cursor:
        """The statement run, in the turn's shared read transaction where there is one."""
        if self._snapshot is not None:
            self._snapshot.current()
        return self._conn.execute(sql, args)

    def _read_failed(self, error: sqlite3.Error) -> Exception:
        """The storage error for a failed read, which also ends the shared transaction."""
        if self._snapshot is not None:
            self._snapshot.end()
        return _storage_error(error)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> int:
        self._check_writable()
        try:
            cursor = self._conn.execute(sql, args)
        except _TRANSLATED as error:
            raise _storage_error(error)  # noqa: B904
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._check_writable()
        try:
            self._conn.executemany(sql, [tuple(row) for row in rows]).close()
        except _TRANSLATED as error:
            raise _storage_error(error)  # noqa: B904

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows at once: one prepared INSERT run over all of them."""
        marks = ", ".join("?" for _ in columns)
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _check_writable(self) -> None:
        if not self._writable:
            raise sqlite3.OperationalError("the quick reader is read-only")


_TRANSLATED = (sqlite3.IntegrityError, sqlite3.OperationalError)


def _storage_error(error: sqlite3.Error) -> Exception:
    """sqlite3's errors as the storage layer's: a unique violation is a Conflict, a locked or
    busy database (or a disk error) is DatabaseUnavailable; anything else stays as it is."""
    message = str(error)
    if isinstance(error, sqlite3.IntegrityError):
        if "UNIQUE" not in message and "PRIMARY KEY" not in message:
            return error
        translated: Exception = Conflict(message.rsplit(":", 1)[-1].strip())
    elif "locked" in message or "busy" in message or "disk" in message:
        translated = DatabaseUnavailable(message)
    else:
        return error
    translated.__cause__ = error
    return translated


@contextmanager
def _translated_sync_errors() -> Iterator[None]:
    """`_storage_error` around a block (the hot reads use try/except directly: cheaper)."""
    try:
        yield
    except _TRANSLATED as error:
        raise _storage_error(error)  # noqa: B904 (the cause is set by _storage_error)


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
        self._inline: sqlite3.Connection | None = None
        self._inline_writer: sqlite3.Connection | None = None
        self._standing: SqliteInlineConnection | None = None
        self._snapshot: HeldSnapshot | None = None
        self.group_commit: GroupCommit | None = None
        self._signals: SignalFile | None = None
        self._write_lock = asyncio.Lock()
        self._commits_since_checkpoint = 0
        self._checkpoint: asyncio.Task | None = None

    async def open(self) -> SqliteDatabase:
        self._writer = await self._connect()
        await _pragma(self._writer, "journal_mode=WAL")
        self._reader = await self._connect()
        await _pragma(self._reader, "query_only=ON")
        if self.path != ":memory:":
            # The reader may wait a little (WAL readers only wait in rare recovery); the writer
            # never waits in-loop: BEGIN IMMEDIATE is retried with asyncio.sleep instead.
            self._inline = self._connect_inline("busy_timeout=1000", "query_only=ON")
            self._snapshot = HeldSnapshot(self._inline)
            self._standing = SqliteInlineConnection(self._inline, snapshot=self._snapshot)
            self._signals = open_signals(self.path)
            # Checkpoints (which fsync) run on aiosqlite's thread, never in the loop.
            self._inline_writer = self._connect_inline(
                "busy_timeout=0", "foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=0"
            )
            self.group_commit = GroupCommit(
                self._inline_writer,
                self._write_lock,
                self._begin_group,
                self._group_ended,
                _storage_error,
            )
        return self

    def _connect_inline(self, *pragmas: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            detect_types=sqlite3.PARSE_DECLTYPES,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.row_factory = sqlite3.Row
        for pragma in (*pragmas, "case_sensitive_like=ON"):
            conn.execute(f"PRAGMA {pragma}").close()
        conn.create_function("scim_lower", 1, _lower, deterministic=True)
        return conn

    async def _begin_inline(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE without blocking the loop: another process holding the write lock
        makes us sleep and retry, up to the busy timeout."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE").close()
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(str(error)) from error
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

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
    async def transaction(
        self, *, one_statement: bool = False
    ) -> AsyncIterator[SqliteConnection | SqliteInlineConnection]:
        """A write transaction on the in-loop writer: a SCIM write is a handful of short
        statements, cheaper run here than sent to a thread and back one by one. The writes of one
        loop turn share one COMMIT (storage.sqlite_group_commit), each still all or nothing
        and durable when it returns. Always a real transaction (`one_statement` saves
        nothing here: BEGIN and COMMIT are no round trips)."""
        assert self._writer is not None, "database is not open"
        if self.group_commit is None:
            async with self._threaded_transaction() as conn:
                yield conn
            return
        async with self.group_commit.write():
            yield SqliteInlineConnection(self._inline_writer, writable=True)

    async def _begin_group(self) -> None:
        # The turn's shared read transaction ends before BEGIN (so the WAL may start over)
        # and after the group's end (`_group_ended`: a read begun meanwhile would not see it).
        self._snapshot.end()
        await self._begin_inline(self._inline_writer)

    def _group_ended(self) -> None:
        self._snapshot.end()
        self._after_commit()

    def _after_commit(self) -> None:
        """Every CHECKPOINT_EVERY commits, copy the WAL back into the database file (PASSIVE:
        it waits for nobody) on aiosqlite's thread, where its fsync does not stall requests."""
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < CHECKPOINT_EVERY:
            return
        if self._checkpoint is None or self._checkpoint.done():
            self._commits_since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().create_task(
                _pragma(self._writer, "wal_checkpoint(PASSIVE)")
            )

    @asynccontextmanager
    async def _threaded_transaction(self) -> AsyncIterator[SqliteConnection]:
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

    @asynccontextmanager
    async def quick_reader(self) -> AsyncIterator[SqliteConnection | SqliteInlineConnection]:
        """For short indexed reads only: no thread hop (see SqliteInlineConnection)."""
        if self._standing is None:
            async with self.reader() as conn:
                yield conn
            return
        yield self._standing

    def standing_reader(self) -> SqliteInlineConnection | None:
        """The in-loop reader itself (None for an in-memory database, which has none)."""
        return self._standing

    async def listen(self, channel: str, on_event, on_live) -> None:
        """No notifications here (see change_version): returns None."""
        return None

    def change_version(self, channel: str) -> int | None:
        """The channel's version in the signal file shared by every process on this database
        (storage.sqlite_signals); None for an in-memory database, which no other process sees
        but which has no signal file either (so nothing is cached)."""
        return None if self._signals is None else self._signals.version(channel)

    def announcing(self, channel: str) -> AbstractContextManager[None]:
        """Around a transaction that changes what `channel` covers: every process's cached
        copies are distrusted from before it starts until after it ends."""
        if self._signals is None:
            return contextlib.nullcontext()
        return self._signals.announcing(channel)

    async def ping(self) -> None:
        async with self.reader() as conn:
            await conn.fetchval("SELECT 1")

    def pool_stats(self) -> dict[str, int]:
        """The one writer connection: busy or idle (the /metrics pool gauges)."""
        if self._writer is None:
            return {}
        busy = int(self._write_lock.locked())
        return {"in_use": busy, "idle": 1 - busy, "max": 1}

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        if self._snapshot is not None:
            self._snapshot.end()
        for inline in (self._inline, self._inline_writer):
            if inline is not None:
                inline.close()
        self._reader = self._writer = self._inline = self._inline_writer = None
        self._standing = self._snapshot = None
        if self._signals is not None:
            close_signals(self._signals)
            self._signals = None
