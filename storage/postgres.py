"""Postgres backend (asyncpg pool): production.

SQL arrives with `?` placeholders and is rewritten once per statement text to `$n`; asyncpg
then prepares and caches it per connection. Every failure to reach the database becomes
`DatabaseUnavailable` so the web layer can answer 503 instead of 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
)
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from storage.db import Conflict, DatabaseUnavailable, TransientConflict
from storage.inserts import one_statement
from storage.notifications import PostgresListener
from storage.pg_connections import KeptConnections

_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,  # protocol state left behind by a connection that broke
    asyncpg.TooManyConnectionsError,
    # (Re)connecting to a database that was dropped, or with credentials it no longer takes.
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
)
# Raised by the first statement on a pooled connection the server closed while it sat idle.
_LOST_WHILE_IDLE = (
    OSError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
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
    key_share = " FOR KEY SHARE"
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

    def in_list(self, column: str) -> str:
        """`= ANY(array)`, not `IN (SELECT unnest(array))`: the planner sees an index
        condition and estimates it from the column's statistics. The semi-join over unnest
        was planned as a hash join over whole tables whenever the statistics were taken when
        one team held most memberships (~30 ms for a 20-member team at 20,000 memberships)."""
        return f"({column} = ANY(?::text[]))"

    def starts_with(self, column: str, prefix: str) -> tuple[str, list]:
        """`column` begins with `prefix`: LIKE is right under every collation (and an index
        seek under C collation; a range would be wrong under linguistic ones)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{column} LIKE ?", [escaped + "%"]

    def json_pairs(self, first: str, second: str, from_sql: str, where: str, order: str) -> str:
        return (
            f"(SELECT COALESCE(jsonb_agg(jsonb_build_array({first}, {second}) ORDER BY {order}),"
            f" '[]'::jsonb) FROM {from_sql} WHERE {where})"
        )

    notify_sql = "SELECT pg_notify(?, ?)"

    def insert_plan(self, inserts):
        return one_statement(inserts)


class PostgresConnection:
    """The `storage.db.Connection` interface over one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    # A plain try/except per statement, not `async with _translated_errors()`: a generator-based
    # context manager costs several microseconds on every statement of every request.

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return await self._conn.fetch(to_numbered(sql), *args)
        except _TRANSLATED as error:
            raise _storage_error(error) from error

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        try:
            return await self._conn.fetchrow(to_numbered(sql), *args)
        except _TRANSLATED as error:
            raise _storage_error(error) from error

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._conn.fetchval(to_numbered(sql), *args)
        except _TRANSLATED as error:
            raise _storage_error(error) from error

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            status = await self._conn.execute(to_numbered(sql), *args)
        except _TRANSLATED as error:
            raise _storage_error(error) from error
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            if len(rows) == 1:  # the common case (one audit event, one e-mail): one round trip
                await self._conn.execute(to_numbered(sql), *rows[0])
            else:
                await self._conn.executemany(to_numbered(sql), rows)
        except _TRANSLATED as error:
            raise _storage_error(error) from error

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Many rows at once with COPY (imports, benchmark seeding)."""
        async with _translated_errors():
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))


class _OneStatementConnection(PostgresConnection):
    """A connection outside any transaction block for `transaction(one_statement=True)`: its
    one statement is atomic by itself and commits as it runs; a second one is refused, since
    it could not be undone with the first."""

    def __init__(self, conn: asyncpg.Connection):
        super().__init__(conn)
        self._ran = False

    def _one(self) -> None:
        if self._ran:
            raise RuntimeError("a one-statement transaction ran a second statement")
        self._ran = True

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self._one()
        return await super().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        self._one()
        return await super().fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self._one()
        return await super().fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        self._one()
        return await super().execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._one()  # asyncpg runs the rows of an executemany atomically
        return await super().executemany(sql, rows)

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self._one()
        return await super().copy_rows(table, columns, rows)


def _readers_for(pool_size: int) -> int:
    """Of the connections a process may open, those kept for point reads: a third (at most
    four); the rest serve writes, transactions and longer reads. A point read holds one for one
    round trip, so a few suffice, and reads never queue behind commits waiting on the disk."""
    return max(1, min(4, pool_size // 3)) if pool_size > 1 else 0


# After these the connection may be broken or mid-statement: it is closed, never reused.
_CONNECTION_IN_DOUBT = (
    DatabaseUnavailable,
    TransientConflict,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncio.TimeoutError,
)


class _Lease:
    """`async with` one kept connection for one statement, or a few outside any transaction
    (a scan), without a generator: given back clean, closed when in doubt.

    With `spare` (point reads: the writers' connections), a lease whose own connections are all
    busy takes one of `spare` that is idle or not yet open instead of waiting, and gives it back
    there: reads never wait on a commit, yet under a burst of reads the connections the writers
    are not using serve too. Waiting for a connection costs more than the read (a future, a
    timer, another turn of the loop) and holds the request for another's full round trip."""

    __slots__ = ("_kept", "_wrap", "_spare", "_conn")

    def __init__(
        self,
        kept: KeptConnections,
        wrap: type[PostgresConnection],
        spare: KeptConnections | None = None,
    ):
        self._kept = kept
        self._wrap = wrap
        self._spare = spare

    async def __aenter__(self) -> PostgresConnection:
        if self._spare is not None and self._kept.all_busy and not self._spare.all_busy:
            self._kept = self._spare  # given back where it came from
        self._conn = await _take(self._kept)
        return self._wrap(self._conn)

    async def __aexit__(self, exc_type, exc, traceback) -> None:
        _give_back(self._kept, self._conn, exc)


async def _take(kept: KeptConnections) -> asyncpg.Connection:
    try:
        return await kept.take()
    except _TRANSLATED as error:
        raise _storage_error(error) from error


def _give_back(kept: KeptConnections, conn: asyncpg.Connection, error: BaseException | None):
    """Back for the next use, unless what went wrong may have left it broken or mid-statement
    (a cancellation included): then it is closed."""
    if error is None or (
        isinstance(error, Exception)  # not a cancellation: no statement was cut short
        and not isinstance(error, _CONNECTION_IN_DOUBT)
        and not conn.is_closed()
    ):
        kept.give_back(conn)  # e.g. a 404 or a 409 raised after the statement
    else:
        kept.drop(conn)


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    """`_storage_error` around a block (acquiring connections, COPY)."""
    try:
        yield
    except _TRANSLATED as error:
        raise _storage_error(error) from error


_TRANSIENT = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
_TRANSLATED = (asyncpg.UniqueViolationError, *_UNAVAILABLE, *_TRANSIENT)


def _storage_error(error: Exception) -> Exception:
    """The storage error an asyncpg error stands for (the caller raises it `from` the error)."""
    if isinstance(error, asyncpg.UniqueViolationError):
        return Conflict(error.constraint_name or "unique")
    if isinstance(error, _TRANSIENT):
        # Postgres rolled the transaction back: the use case tries again (common.retry_transient),
        # and past its attempts the client gets 503 + Retry-After.
        return TransientConflict(f"transient {type(error).__name__}: {error}")
    return DatabaseUnavailable(f"{type(error).__name__}: {error}")


_JSONB_VERSION = b"\x01"  # the binary jsonb format: a version byte, then the JSON text


def _encode_jsonb(value: object) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> object:
    return orjson.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb in the binary format, straight to and from bytes with orjson; binary is also what
    COPY (copy_rows) needs."""
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresDatabase:
    """Connections kept open by this process (storage.pg_connections): a few for point reads,
    the rest for writes, transactions and longer reads; never more than `max_size` in all."""

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
        self._listeners: list[PostgresListener] = []
        self._readers: KeptConnections | None = None
        self._writers: KeptConnections | None = None

    async def open(self) -> PostgresDatabase:
        """Open `min_size` connections at once (an unreachable database fails here, at start)."""
        readers = _readers_for(self._max_size)
        writers = KeptConnections(self._connect, self._max_size - readers, self._timeout)
        opened = []
        try:
            for _ in range(max(1, min(self._min_size, self._max_size - readers))):
                opened.append(await _take(writers))
        except BaseException:
            for conn in opened:
                writers.drop(conn)
            raise
        for conn in opened:
            writers.give_back(conn)
        self._writers = writers
        if readers:
            self._readers = KeptConnections(self._connect, readers, self._timeout)
        return self

    async def _begin(self) -> tuple[asyncpg.Connection, Any]:
        """A connection with a transaction started on it. A kept connection that the server
        closed while idle (pg_terminate_backend, a restart, a proxy's idle cut) fails on its
        first statement; nothing has been done on it yet, so one fresh connection is tried."""
        for attempt in (1, 2):
            conn = await _take(self._writers)
            try:
                tx = conn.transaction()
                await tx.start()
                return conn, tx
            except _LOST_WHILE_IDLE as error:
                self._writers.drop(conn)
                if attempt == 2:
                    raise _storage_error(error) from error
            except BaseException as error:
                self._writers.drop(conn)
                if isinstance(error, _TRANSLATED):
                    raise _storage_error(error) from error
                raise
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def transaction(
        self, *, one_statement: bool = False
    ) -> AsyncIterator[PostgresConnection]:
        assert self._writers is not None, "database is not open"
        if one_statement:
            # No BEGIN and COMMIT: two round trips fewer. A lost connection is not tried
            # again here (unlike in _begin): the statement may have committed before it broke.
            async with _Lease(self._writers, _OneStatementConnection) as conn:
                yield conn
            return
        conn, tx = await self._begin()
        ended: BaseException | None = None
        try:
            try:
                yield PostgresConnection(conn)
            except BaseException as error:
                ended = error
                try:
                    await tx.rollback()
                except BaseException as failed:
                    ended = failed  # broken, or cut short: the connection is in doubt
                    if not isinstance(failed, Exception):
                        raise  # a cancellation goes on; the connection is closed below
                raise  # the first error
            try:
                await tx.commit()
            except BaseException as error:
                ended = error
                if isinstance(error, _TRANSLATED):
                    raise _storage_error(error) from error
                raise
        finally:
            _give_back(self._writers, conn, ended)

    def reader(self) -> AbstractAsyncContextManager[PostgresConnection]:
        """Reads that may take long or several statements (scans, counts), outside any
        transaction, on the connections that writes use."""
        assert self._writers is not None, "database is not open"
        return _Lease(self._writers, PostgresConnection)

    def quick_reader(self) -> AbstractAsyncContextManager[PostgresConnection]:
        """Short indexed reads, one statement each, on the connections kept for them, or on one
        of the writers' that is idle or not yet open when those are all busy (see _Lease). With
        a budget of one connection there are none apart, and reads share it."""
        assert self._writers is not None, "database is not open"
        if self._readers is None:
            return _Lease(self._writers, PostgresConnection)
        return _Lease(self._readers, PostgresConnection, self._writers)

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(
            self.url,
            timeout=self._timeout,
            command_timeout=self._timeout,
            server_settings=self._server_settings,
        )
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def standing_reader(self) -> None:
        """Every read acquires a pooled connection."""
        return None

    def change_version(self, channel: str) -> None:
        """No version to poll here: LISTEN/NOTIFY (`listen`) tells of changes instead."""
        return None

    def announcing(self, channel: str) -> AbstractContextManager[None]:
        """Nothing around the transaction: its NOTIFY is delivered at commit."""
        return contextlib.nullcontext()

    async def listen(self, channel: str, on_event, on_live) -> PostgresListener:
        """A LISTEN on `channel` (storage.notifications), closed with the database."""
        listener = await PostgresListener(self.url, channel, on_event, on_live).start()
        self._listeners.append(listener)
        return listener

    async def ping(self) -> None:
        async with self.reader() as conn:
            await conn.fetchval("SELECT 1")

    def pool_stats(self) -> dict[str, int]:
        """Connections in use, idle and at most (the /metrics pool gauges)."""
        totals = [0, 0, 0]
        for kept in (self._readers, self._writers):
            if kept is not None:
                totals = [a + b for a, b in zip(totals, kept.stats(), strict=True)]
        in_use, idle, most = totals
        return {"in_use": in_use, "idle": idle, "max": most} if most else {}

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        self._listeners.clear()
        for kept in (self._readers, self._writers):
            if kept is not None:
                await kept.close()
        self._readers = self._writers = None
