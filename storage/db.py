"""The database seam: one small connection interface that both backends implement.

SQL in this package is written once with `?` placeholders; the Postgres backend rewrites them
to `$n`. Differences that cannot be hidden that way (JSON access, id lists, row locks) live in
a `Dialect` object, so the stores never branch on the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol


class DatabaseUnavailable(Exception):
    """The database did not answer (down, timed out, connection lost): the server says 503."""


class TransientConflict(DatabaseUnavailable):
    """The database rolled this transaction back to break a deadlock or a serialization
    conflict with another one; the same work succeeds when tried again."""


class Conflict(Exception):
    """A uniqueness constraint refused the write. `constraint` names what clashed."""

    def __init__(self, constraint: str):
        super().__init__(constraint)
        self.constraint = constraint


class Row(Protocol):
    def __getitem__(self, key: str | int) -> Any: ...


class Connection(Protocol):
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None: ...  # COPY where the backend has it (bulk loads)


class Dialect(Protocol):
    name: str
    for_update: str  # " FOR UPDATE" where row locks exist, "" where the transaction locks all
    key_share: str  # " FOR KEY SHARE" where row locks exist: the rows outlive this transaction
    timestamp_param: str  # a placeholder typed as a timestamp where the type cannot be inferred

    def json_text(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        """SQL text of a scalar inside a JSON document, and the parameter holding the path."""

    def json_elements(self, column: str, keys: Sequence[str]) -> tuple[str, Any]:
        """A FROM-clause yielding one row per element of a JSON array, aliased `j`."""

    def element_text(self, key: str) -> str:
        """SQL text of `key` inside the current element `j` of json_elements()."""

    def json_has_key(self, column: str, key: str) -> tuple[str, Any]: ...

    def json_bool(self, text_sql: str, value: bool) -> str:
        """`text_sql` (from json_text/element_text) holds the JSON boolean `value`."""

    def lower(self, sql: str) -> str: ...

    def id_list(self, alias: str) -> str:
        """A FROM-clause over a list parameter (see id_list_param): rows `alias.value`."""

    def id_list_param(self, ids: Sequence[str]) -> Any: ...

    def in_list(self, column: str) -> str:
        """A predicate: `column` is one of a list parameter (see id_list_param)."""

    def starts_with(self, column: str, prefix: str) -> tuple[str, list]:
        """SQL for `column` (a lower-cased text column) beginning with `prefix`, and its
        parameters; an index seek where the backend can make it one."""

    def json_pairs(self, first: str, second: str, from_sql: str, where: str, order: str) -> str:
        """A scalar subquery: the JSON array of [first, second] pairs of the rows of
        `from_sql` matching `where`, ordered by `order` (`where` may name the outer row)."""

    notify_sql: str | None  # `SELECT pg_notify(channel, payload)` where NOTIFY exists, else None

    def insert_plan(self, inserts: Sequence[Any]) -> list[tuple[str, list[tuple]]]:
        """The statements writing `inserts` (storage.inserts.Insert), each with its rows of
        parameters: one for all of them where the backend can (see storage.inserts)."""


class Database(Protocol):
    dialect: Dialect
    url_for_display: str

    def transaction(
        self, *, one_statement: bool = False
    ) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: all or nothing, serialised against other writers as needed.

        `one_statement`: the caller runs exactly one statement in it. Where a statement is
        atomic on its own (Postgres) that statement is the whole transaction, without the
        round trips of BEGIN and COMMIT; it commits as it runs, and a second statement is
        refused. Elsewhere an ordinary transaction."""

    def reader(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads (a consistent snapshot per statement at least)."""

    def quick_reader(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for short indexed reads (point lookups); on SQLite it skips the thread
        hop, so nothing slow (scans, big counts) may run on it."""

    def standing_reader(self) -> Connection | None:
        """A quick reader that needs no acquiring or releasing (SQLite's in-loop connection),
        so a point read pays for nothing but its statement; None where reads need a pooled
        connection."""

    async def listen(self, channel: str, on_event, on_live) -> Any:
        """Call `on_event(payload)` on each NOTIFY on `channel` from any process and
        `on_live(bool)` when the subscription starts or drops; None where there is no such
        feed (then nothing may be cached across processes)."""

    def change_version(self, channel: str) -> int | None:
        """A number that changes whenever a change announced on `channel` (`announcing`) is
        under way or done, in any process (SQLite); None where `listen` delivers changes."""

    def announcing(self, channel: str) -> AbstractContextManager[None]:
        """Wraps a transaction that changes what `channel` covers (SQLite: see
        storage.sqlite_signals; Postgres: nothing, the transaction's NOTIFY does it)."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
