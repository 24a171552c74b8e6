"""The database seam: one small connection interface that both backends implement.

SQL in this package is written once with `?` placeholders; the Postgres backend rewrites them
to `$n`. Differences that cannot be hidden that way (JSON access, id lists, row locks) live in
a `Dialect` object, so the stores never branch on the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class DatabaseUnavailable(Exception):
    """The database did not answer (down, timed out, connection lost): the server says 503."""


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


class Dialect(Protocol):
    name: str
    for_update: str  # " FOR UPDATE" where row locks exist, "" where the transaction locks all
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


class Database(Protocol):
    dialect: Dialect
    url_for_display: str

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction: all or nothing, serialised against other writers as needed."""

    def reader(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads (a consistent snapshot per statement at least)."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
