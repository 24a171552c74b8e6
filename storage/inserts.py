"""New rows for several tables written together (a user, their e-mails, the audit event).

Each backend plans them as it runs them cheapest: Postgres as one statement (a WITH of
INSERTs, one round trip, atomic by itself), SQLite as one prepared INSERT per table (in-loop
statements cost microseconds, and SQLite has no data-modifying WITH). The plan is plain SQL
with `?` placeholders run through `Connection.executemany`, so it is counted like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from storage.db import Connection, Dialect

# Postgres takes at most 32767 parameters in one statement: a table with more than one row
# (a user's second e-mail) is sent as one JSON parameter instead, whatever its size, which
# also keeps the number of distinct statements (each prepared once per connection) small.
_MAX_VALUES_ROWS = 1


@frozen
class Insert:
    """Rows for one table, each a tuple in the order of `columns`."""

    table: str
    columns: tuple[str, ...]
    rows: Sequence[tuple]


Plan = list[tuple[str, list[tuple]]]  # (SQL with `?` placeholders, its rows of parameters)


async def insert_rows(conn: Connection, dialect: Dialect, inserts: Sequence[Insert]) -> None:
    """Write every row of `inserts`, in order, as `dialect` plans it."""
    for sql, rows in dialect.insert_plan([i for i in inserts if i.rows]):
        await conn.executemany(sql, rows)


def per_table(inserts: Sequence[Insert]) -> Plan:
    """One prepared INSERT per table, run over its rows (SQLite)."""
    return [(_values_insert(i.table, i.columns, 1), list(i.rows)) for i in inserts]


def one_statement(inserts: Sequence[Insert]) -> Plan:
    """All of them as one statement (Postgres): the last INSERT under a WITH of the others.
    Data-modifying WITH parts all run, and foreign keys are checked at the end of the whole
    statement, so an e-mail row may name the user inserted beside it."""
    if not inserts:
        return []
    shape = tuple(
        (i.table, i.columns, len(i.rows) if len(i.rows) <= _MAX_VALUES_ROWS else 0) for i in inserts
    )
    params: list[Any] = []
    for insert in inserts:
        if len(insert.rows) <= _MAX_VALUES_ROWS:
            for row in insert.rows:
                params.extend(row)
        else:
            params.append(_as_json_rows(insert))
    return [(_combined_sql(shape), [tuple(params)])]


@functools.lru_cache(maxsize=256)
def _values_insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([marks] * rows)}"


def _json_insert(table: str, columns: tuple[str, ...]) -> str:
    """Any number of rows in one jsonb parameter, each column typed by the table itself."""
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names}"
        f" FROM jsonb_populate_recordset(NULL::{table}, ?::jsonb)"
    )


@functools.lru_cache(maxsize=256)
def _combined_sql(shape: tuple[tuple[str, tuple[str, ...], int], ...]) -> str:
    """The statement for a shape: (table, columns, rows as VALUES or 0 for one JSON param)."""
    parts = [
        _values_insert(table, columns, rows) if rows else _json_insert(table, columns)
        for table, columns, rows in shape
    ]
    if len(parts) == 1:
        return parts[0]
    heads = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(parts[:-1]))
    return f"WITH {heads} {parts[-1]}"


def _as_json_rows(insert: Insert) -> list[dict]:
    """Rows as JSON objects: orjson writes datetimes as RFC 3339 (read back as timestamptz)
    and dicts and lists as JSON (read back as jsonb)."""
    return [dict(zip(insert.columns, row, strict=True)) for row in insert.rows]
